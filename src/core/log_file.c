#define _GNU_SOURCE
#include "log_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../os/os.h"
#include "error.h"

enum { MAX_ORDINAL = 100000 };

static char *default_name(const char *extension)
{
    pmt__utc_time now;
    pmt__utc_now(&now);
    char name[64];
    snprintf(name, sizeof name, "%02d%02d%02d_%02d%02d%02d_%ld%s", now.year % 100, now.month,
             now.day, now.hour, now.minute, now.second, pmt__process_id(), extension);
    return strdup(name);
}

/* Index where "_N" goes: before the extension of the last path component, if it has one. */
static size_t ordinal_position(const char *path)
{
    size_t len = strlen(path);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    return dot && dot != base ? (size_t)(dot - path) : len;
}

static char *with_infix(const char *path, const char *infix)
{
    size_t at = ordinal_position(path);
    size_t len = strlen(path), n = strlen(infix);
    char *name = malloc(len + n + 1);
    if (!name)
        return NULL;
    memcpy(name, path, at);
    memcpy(name + at, infix, n);
    memcpy(name + at + n, path + at, len - at + 1);
    return name;
}

static char *with_ordinal(const char *path, int ordinal)
{
    char suffix[16];
    snprintf(suffix, sizeof suffix, "_%d", ordinal);
    return with_infix(path, suffix);
}

char *pmt__log_file_child_name(const char *path, long pid)
{
    char infix[32];
    snprintf(infix, sizeof infix, ".pid%ld", pid);
    return with_infix(path, infix);
}

int pmt__log_file_create(const char *path, const char *extension, char **out_path, int *out_fd)
{
    char *base = path ? strdup(path) : default_name(extension);
    if (!base)
        return pmt__fail(PMT_ENOMEM, "out of memory for a log file name");
    if (base[0] == '\0') {
        free(base);
        return pmt__fail(PMT_EINVAL, "the log file path is empty");
    }
    for (int ordinal = 0; ordinal < MAX_ORDINAL; ordinal++) {
        char *name = ordinal == 0 ? strdup(base) : with_ordinal(base, ordinal);
        if (!name) {
            free(base);
            return pmt__fail(PMT_ENOMEM, "out of memory for a log file name");
        }
        int fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0) {
            free(base);
            *out_path = name;
            *out_fd = fd;
            return PMT_OK;
        }
        int err = errno;
        if (err != EEXIST) {
            int rc = pmt__fail_os(err, "cannot create log file '%s'", name);
            free(name);
            free(base);
            return rc;
        }
        free(name);
    }
    int rc = pmt__fail_os(EEXIST, "no free log file name near '%s'", base);
    free(base);
    return rc;
}
