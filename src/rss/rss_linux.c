/* Linux RSS: the second field of /proc/self/statm (resident pages), read with pread(2) on a
 * descriptor kept open. A kept descriptor describes the process that opened it, so a forked child
 * reopens it (measured: a child reading its parent's descriptor sees the parent's RSS). */
#define _GNU_SOURCE
#include "rss_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../core/error.h"
#include "../os/os.h"

typedef struct statm_reader {
    int fd;
    uint64_t generation;
} statm_reader;

static int statm_open(statm_reader *r)
{
    r->generation = pmt__fork_generation();
    r->fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (r->fd < 0)
        return pmt__fail_os(errno, "cannot open /proc/self/statm");
    return PMT_OK;
}

static int statm_read(statm_reader *r, uint64_t *out_bytes)
{
    if (r->generation != pmt__fork_generation() || r->fd < 0) {
        if (r->fd >= 0)
            close(r->fd);
        int rc = statm_open(r);
        if (rc != PMT_OK)
            return rc;
    }
    char buf[128];
    ssize_t n = pread(r->fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return pmt__fail_os(n < 0 ? errno : EIO, "cannot read /proc/self/statm");
    buf[n] = '\0';
    const char *p = buf;
    while (*p && *p != ' ') /* skip "size" */
        p++;
    while (*p == ' ')
        p++;
    uint64_t pages = 0;
    for (; *p >= '0' && *p <= '9'; p++)
        pages = pages * 10 + (uint64_t)(*p - '0');
    *out_bytes = pages * (uint64_t)pmt__page_size();
    return PMT_OK;
}

/* The provider handed to tracers: one reader each, so tracers never share state. */
static int provider_read(void *user_data, uint64_t *out_bytes)
{
    return statm_read(user_data, out_bytes);
}

static void provider_release(void *user_data)
{
    statm_reader *r = user_data;
    if (r->fd >= 0)
        close(r->fd);
    free(r);
}

int pmt__rss_default_provider(pmt_rss_provider *out, void **user_data)
{
    statm_reader *r = malloc(sizeof *r);
    if (!r)
        return pmt__fail(PMT_ENOMEM, "out of memory for the RSS reader");
    int rc = statm_open(r);
    if (rc != PMT_OK) {
        free(r);
        return rc;
    }
    pmt_rss_provider p = PMT_RSS_PROVIDER_INIT;
    p.name = pmt_rss_default_provider_name();
    p.read = provider_read;
    p.release = provider_release;
    *out = p;
    *user_data = r;
    return PMT_OK;
}

const char *pmt_rss_default_provider_name(void)
{
    return "linux-statm";
}

/* The process-wide reader behind pmt_rss_current(), shared by all threads. */
static statm_reader shared_reader = {-1, 0};
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;

int pmt_rss_current(uint64_t *out_bytes)
{
    if (!out_bytes)
        return pmt__fail(PMT_EINVAL, "pmt_rss_current: out_bytes is NULL");
    pthread_mutex_lock(&shared_lock);
    int rc = statm_read(&shared_reader, out_bytes);
    pthread_mutex_unlock(&shared_lock);
    return rc;
}

int pmt_rss_peak(uint64_t *out_bytes)
{
    if (!out_bytes)
        return pmt__fail(PMT_EINVAL, "pmt_rss_peak: out_bytes is NULL");
    struct rusage usage;
    if (getrusage(RUSAGE_SELF, &usage) != 0)
        return pmt__fail_os(errno, "getrusage failed");
    uint64_t peak = (uint64_t)usage.ru_maxrss * 1024u; /* Linux reports KiB */
    uint64_t now = 0;
    /* ru_maxrss comes from approximate per-CPU counters: never report less than statm. */
    if (pmt_rss_current(&now) == PMT_OK && now > peak)
        peak = now;
    *out_bytes = peak;
    return PMT_OK;
}
