/* The Linux providers built on /proc/self/statm, from exact-and-slow to gated:
 *  - exact: a statm read at every event (a syscall each: ~1.5-2 us);
 *  - interval: statm at most once per interval (stale by at most the interval);
 *  - fault gate: statm only when this thread took a page fault since the last read (a perf
 *    page-fault sample ring, unprivileged at perf_event_paranoid <= 2, polled without a
 *    syscall), and at least once per max staleness to catch what faults do not show: decreases
 *    (munmap, madvise), other threads, and faults taken in kernel mode. */
#define _GNU_SOURCE
#include "platform/linux/linux_statm_providers.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/error.h"
#include "platform/os.h"
#include "platform/linux/linux_proc.h"

typedef struct statm_provider {
    pmt__statm statm;
    uint64_t interval_ns;  /* interval; fault gate: max staleness */
    uint64_t last_read_ns; /* when the gate last opened */
    /* fault gate only */
    int fd;
    struct perf_event_mmap_page *meta;
    size_t map_size;
    uint64_t last_head;
    uint64_t generation;
} statm_provider;

static int statm_read(void *user_data, uint64_t *out_bytes)
{
    statm_provider *p = user_data;
    return pmt__statm_read(&p->statm, out_bytes);
}

static int interval_gate(void *user_data, uint64_t now_ns)
{
    statm_provider *p = user_data;
    if (now_ns - p->last_read_ns < p->interval_ns)
        return 0;
    p->last_read_ns = now_ns;
    return 1;
}

static void close_fault_ring(statm_provider *p)
{
    if (p->meta)
        munmap(p->meta, p->map_size);
    if (p->fd >= 0)
        close(p->fd);
    p->meta = NULL;
    p->fd = -1;
}

/* A sample per page fault of the calling thread; only the head is ever read. Faults taken in
 * kernel mode (a read(2) into a fresh buffer) count too where perf_event_paranoid <= 1 or the
 * process is privileged; at paranoid 2 only user-mode faults do, and the staleness bound
 * covers the rest. */
static int open_fault_ring(statm_provider *p)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.type = PERF_TYPE_SOFTWARE;
    a.config = PERF_COUNT_SW_PAGE_FAULTS;
    a.sample_period = 1;
    a.wakeup_events = 1u << 30;
    a.exclude_hv = 1;
    p->generation = pmt__fork_generation();
    p->fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
    if (p->fd < 0 && (errno == EACCES || errno == EPERM)) {
        a.exclude_kernel = 1;
        p->fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
    }
    if (p->fd < 0)
        return pmt__fail(PMT_ENOTSUP,
                         "perf_event_open(page faults) refused (%s): needs "
                         "perf_event_paranoid <= 2",
                         strerror(errno));
    p->map_size = (size_t)pmt__page_size() * 2;
    void *m = mmap(NULL, p->map_size, PROT_READ | PROT_WRITE, MAP_SHARED, p->fd, 0);
    if (m == MAP_FAILED) {
        int err = errno;
        close(p->fd);
        p->fd = -1;
        return pmt__fail_os(err, "cannot map the page-fault ring");
    }
    p->meta = m;
    p->last_head = __atomic_load_n(&p->meta->data_head, __ATOMIC_ACQUIRE);
    return PMT_OK;
}

static int fault_gate(void *user_data, uint64_t now_ns)
{
    statm_provider *p = user_data;
    if (p->generation != pmt__fork_generation()) {
        /* the ring counts the parent's thread: the child gets its own, or reads every time */
        close_fault_ring(p);
        if (open_fault_ring(p) != PMT_OK)
            return 1;
    }
    uint64_t head = __atomic_load_n(&p->meta->data_head, __ATOMIC_ACQUIRE);
    if (head == p->last_head && now_ns - p->last_read_ns < p->interval_ns)
        return 0;
    p->last_head = head;
    __atomic_store_n(&p->meta->data_tail, head, __ATOMIC_RELEASE); /* room for more samples */
    p->last_read_ns = now_ns;
    return 1;
}

static void statm_release(void *user_data)
{
    statm_provider *p = user_data;
    pmt__statm_close(&p->statm);
    close_fault_ring(p);
    free(p);
}

int pmt__statm_provider(pmt_rss_mode mode, uint64_t interval_ns, pmt_rss_provider *out,
                        void **user_data)
{
    statm_provider *p = calloc(1, sizeof *p);
    if (!p)
        return pmt__fail(PMT_ENOMEM, "out of memory for the RSS provider");
    p->fd = -1;
    p->interval_ns = interval_ns;
    int rc = pmt__statm_open(&p->statm);
    if (rc == PMT_OK && mode == PMT_RSS_FAULT_GATE)
        rc = open_fault_ring(p);
    if (rc != PMT_OK) {
        statm_release(p);
        return rc;
    }
    pmt_rss_provider provider = PMT_RSS_PROVIDER_INIT;
    provider.read = statm_read;
    provider.release = statm_release;
    switch (mode) {
    case PMT_RSS_INTERVAL:
        provider.name = "linux-statm-interval";
        provider.accuracy = "stale by at most the interval";
        provider.may_have_changed = interval_gate;
        break;
    case PMT_RSS_FAULT_GATE:
        provider.name = "linux-fault-gate";
        provider.accuracy = "exact after this thread's faults; other changes within the "
                            "max staleness";
        provider.may_have_changed = fault_gate;
        break;
    default:
        provider.name = "linux-statm";
        provider.accuracy = "exact at every event (a syscall each)";
        break;
    }
    *out = provider;
    *user_data = p;
    return PMT_OK;
}
