#define _GNU_SOURCE
/* File sinks' shared base: safe creation, whole writes, the fork protocol. */
#include "log/file_sink.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "platform/os.h"

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

static int create(const char *path, const char *extension, char **out_path, int *out_fd)
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
        /* Read and write: the binary writer maps the tail of its log (log/binary/live.h). */
        int fd = open(name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0) {
            free(base);
            *out_path = name;
            *out_fd = fd;
            return PMT_OK;
        }
        int err = errno;
        struct stat st;
        if (err == EEXIST && ordinal == 0 && stat(name, &st) == 0 && S_ISDIR(st.st_mode))
            err = EISDIR; /* a directory is not a name to number: the caller meant a file */
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

int pmt__log_file_create(pmt__log_file *file, const char *path, const char *extension)
{
    file->fd = -1;
    file->owns_fd = 1;
    file->path = NULL;
    return create(path, extension, &file->path, &file->fd);
}

void pmt__log_file_adopt(pmt__log_file *file, int fd)
{
    file->fd = fd;
    file->owns_fd = 0;
    file->path = NULL;
}

int pmt__log_file_writev(pmt__log_file *file, const struct iovec *iov, int count)
{
    size_t total = 0;
    for (int i = 0; i < count; i++)
        total += iov[i].iov_len;
    struct iovec local[2];
    if (count < 0 || count > 2) {
        errno = EINVAL;
        return -1;
    }
    memcpy(local, iov, (size_t)count * sizeof *iov);
    struct iovec *v = local;
    size_t done = 0;
    file->last_done = 0;
    while (done < total) {
        ssize_t n = writev(file->fd, v, count);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        done += (size_t)n;
        file->last_done = done;
        while (count > 0 && (size_t)n >= v->iov_len) {
            n -= (ssize_t)v->iov_len;
            v++;
            count--;
        }
        if (count > 0) {
            v->iov_base = (char *)v->iov_base + n;
            v->iov_len -= (size_t)n;
        }
    }
    return 0;
}

int pmt__log_file_write(pmt__log_file *file, const void *data, size_t size)
{
    struct iovec iov = {(void *)data, size};
    return pmt__log_file_writev(file, &iov, 1);
}

void pmt__log_file_forget(pmt__log_file *file)
{
    if (file->owns_fd && file->fd >= 0)
        close(file->fd);
    if (file->owns_fd)
        file->fd = -1;
}

int pmt__log_file_reopen_child(pmt__log_file *file, int64_t pid, const char *extension)
{
    if (!file->owns_fd || !file->path)
        return pmt__fail(PMT_ENOTSUP, "a caller's descriptor has no name for a child's log");
    char *name = pmt__log_file_child_name(file->path, (long)pid);
    if (!name)
        return pmt__fail(PMT_ENOMEM, "out of memory for a child's log name");
    char *used = NULL;
    int fd = -1;
    int rc = create(name, extension, &used, &fd);
    free(name);
    if (rc != PMT_OK)
        return rc;
    if (file->fd >= 0)
        close(file->fd);
    free(file->path);
    file->fd = fd;
    file->path = used;
    return PMT_OK;
}

void pmt__log_file_close(pmt__log_file *file)
{
    if (file->owns_fd && file->fd >= 0)
        close(file->fd);
    file->fd = -1;
    free(file->path);
    file->path = NULL;
}
