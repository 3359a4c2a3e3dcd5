/* Linux: a sample for the monitor. RSS from /proc/self/statm, its split (RssAnon, RssFile,
 * RssShmem) and peak (VmHWM) from /proc/self/status, faults and CPU time from getrusage, and the
 * cgroup v2 memory.current and memory.max of the process's cgroup (/proc/self/cgroup's "0::"
 * line). The files stay open and are read with pread from offset 0: a few microseconds per
 * sample, on the monitor's thread, never on a traced thread. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/error.h"
#include "platform/os.h"
#include "platform/sample_os.h"

typedef struct sampler {
    int statm, status, cgroup_current, cgroup_max;
} sampler;

static int open_cgroup_file(const char *name)
{
    char line[PATH_MAX], path[PATH_MAX + 64];
    FILE *f = fopen("/proc/self/cgroup", "re");
    int fd = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "0::", 3) != 0)
            continue; /* cgroup v2's unified line */
        line[strcspn(line, "\n")] = '\0';
        snprintf(path, sizeof path, "/sys/fs/cgroup%s/%s", line + 3, name);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        break;
    }
    fclose(f);
    return fd;
}

int pmt__sampler_open(void **out)
{
    sampler *s = calloc(1, sizeof *s);
    if (!s)
        return pmt__fail(PMT_ENOMEM, "out of memory for the monitor's sampler");
    s->statm = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    s->status = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (s->statm < 0) {
        int rc = pmt__fail_os(errno, "cannot open /proc/self/statm");
        pmt__sampler_close(s);
        return rc;
    }
    s->cgroup_current = open_cgroup_file("memory.current");
    s->cgroup_max = open_cgroup_file("memory.max");
    *out = s;
    return PMT_OK;
}

/* The whole of a small file from offset 0, NUL-terminated; its length, or -1. */
static ssize_t read_all(int fd, char *buf, size_t size)
{
    if (fd < 0)
        return -1;
    ssize_t n = pread(fd, buf, size - 1, 0);
    if (n >= 0)
        buf[n] = '\0';
    return n;
}

/* "Key:   1234 kB" of /proc/self/status, in bytes; 0 when absent. */
static uint64_t status_kb(const char *text, const char *key)
{
    const char *p = strstr(text, key);
    return p ? strtoull(p + strlen(key), NULL, 10) * 1024u : 0;
}

static uint64_t timeval_ns(struct timeval tv)
{
    return (uint64_t)tv.tv_sec * 1000000000u + (uint64_t)tv.tv_usec * 1000u;
}

int pmt__sampler_read(void *self, pmt_sample *out)
{
    sampler *s = self;
    char text[4096];
    unsigned long long size = 0, resident = 0;
    if (read_all(s->statm, text, sizeof text) <= 0 ||
        sscanf(text, "%llu %llu", &size, &resident) != 2)
        return pmt__fail_os(errno, "cannot read /proc/self/statm");
    out->rss = (uint64_t)resident * (uint64_t)pmt__page_size();
    if (read_all(s->status, text, sizeof text) > 0) {
        out->peak_rss = status_kb(text, "VmHWM:");
        out->rss_anon = status_kb(text, "RssAnon:");
        out->rss_file = status_kb(text, "RssFile:");
        out->rss_shmem = status_kb(text, "RssShmem:");
    }
    if (out->peak_rss < out->rss)
        out->peak_rss = out->rss;
    struct rusage usage;
    if (getrusage(RUSAGE_SELF, &usage) == 0) {
        out->minor_faults = (uint64_t)usage.ru_minflt;
        out->major_faults = (uint64_t)usage.ru_majflt;
        out->user_cpu_ns = timeval_ns(usage.ru_utime);
        out->system_cpu_ns = timeval_ns(usage.ru_stime);
    }
    out->cgroup_current = 0;
    out->cgroup_max = UINT64_MAX;
    if (read_all(s->cgroup_current, text, sizeof text) > 0)
        out->cgroup_current = strtoull(text, NULL, 10);
    if (read_all(s->cgroup_max, text, sizeof text) > 0 && strncmp(text, "max", 3) != 0)
        out->cgroup_max = strtoull(text, NULL, 10);
    return PMT_OK;
}

void pmt__sampler_close(void *self)
{
    sampler *s = self;
    if (!s)
        return;
    int fds[] = {s->statm, s->status, s->cgroup_current, s->cgroup_max};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(s);
}
