#define _GNU_SOURCE
#include "platform/linux/linux_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "platform/os.h"

int pmt__statm_open(pmt__statm *r)
{
    r->generation = pmt__fork_generation();
    r->fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (r->fd < 0)
        return pmt__fail_os(errno, "cannot open /proc/self/statm");
    return PMT_OK;
}

void pmt__statm_close(pmt__statm *r)
{
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
}

static uint64_t parse_number(const char **p)
{
    uint64_t v = 0;
    for (; **p >= '0' && **p <= '9'; (*p)++)
        v = v * 10 + (uint64_t)(**p - '0');
    return v;
}

int pmt__statm_read(pmt__statm *r, uint64_t *out_bytes)
{
    /* A kept descriptor describes the process that opened it: a forked child reopens it. */
    if (r->fd < 0 || r->generation != pmt__fork_generation()) {
        pmt__statm_close(r);
        int rc = pmt__statm_open(r);
        if (rc != PMT_OK)
            return rc;
    }
    char buf[128];
    ssize_t n = pread(r->fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return pmt__fail_os(n < 0 ? errno : EIO, "cannot read /proc/self/statm");
    buf[n] = '\0';
    const char *p = buf;
    parse_number(&p); /* size */
    while (*p == ' ')
        p++;
    *out_bytes = parse_number(&p) * (uint64_t)pmt__page_size();
    return PMT_OK;
}

int pmt__status_members(uint64_t members[4])
{
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return pmt__fail_os(errno, "cannot open /proc/self/status");
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    int err = errno;
    close(fd);
    if (n <= 0)
        return pmt__fail_os(n < 0 ? err : EIO, "cannot read /proc/self/status");
    buf[n] = '\0';
    static const struct {
        const char *key;
        int member;
    } keys[] = {{"RssFile:", PMT__MM_FILEPAGES},
                {"RssAnon:", PMT__MM_ANONPAGES},
                {"RssShmem:", PMT__MM_SHMEMPAGES}};
    memset(members, 0, 4 * sizeof *members);
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        const char *p = strstr(buf, keys[i].key);
        if (!p)
            return pmt__fail(PMT_EIO, "/proc/self/status has no %s", keys[i].key);
        p += strlen(keys[i].key);
        while (*p == ' ' || *p == '\t')
            p++;
        members[keys[i].member] = parse_number(&p) * 1024u; /* kB */
    }
    return PMT_OK;
}
