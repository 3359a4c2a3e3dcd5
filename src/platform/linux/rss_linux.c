/* Linux: which provider a tracer gets (doc/rss-providers.md), and the process-wide helpers.
 * The providers themselves: linux_ring.c (exact, kernel-streamed), linux_statm_providers.c
 * (exact-slow, interval, fault gate), on top of linux_proc.c. */
#define _GNU_SOURCE
#include "platform/rss_os.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>

#include "common/error.h"
#include "platform/linux/linux_proc.h"
#include "platform/linux/linux_ring.h"
#include "platform/linux/linux_statm_providers.h"

enum {
    DEFAULT_INTERVAL_NS = 100000,      /* 100 us: ~2% of a dense workload at 1.5 us a read */
    DEFAULT_MAX_STALENESS_NS = 1000000 /* 1 ms: catches decreases the fault gate cannot see */
};

int pmt__rss_os_provider(pmt_rss_mode mode, uint64_t interval_ns, pmt_rss_provider *out,
                         void **user_data)
{
    switch (mode) {
    case PMT_RSS_KERNEL_RING:
        return pmt__ring_provider(0, out, user_data);
    case PMT_RSS_FAULT_GATE:
        return pmt__statm_provider(mode, interval_ns ? interval_ns : DEFAULT_MAX_STALENESS_NS, out,
                                   user_data);
    case PMT_RSS_INTERVAL:
        return pmt__statm_provider(mode, interval_ns ? interval_ns : DEFAULT_INTERVAL_NS, out,
                                   user_data);
    case PMT_RSS_EXACT:
        return pmt__statm_provider(mode, 0, out, user_data);
    case PMT_RSS_NONE: /* the tracer's own, never asked here */
    case PMT_RSS_AUTO:
        break;
    }
    /* AUTO: the best tier this process may use; each refusal is expected, not an error. The
     * exact ring first: opened once per process (milliseconds), then shared by every tracer. */
    if (pmt__ring_provider(0, out, user_data) == PMT_OK)
        return PMT_OK;
    if (pmt__statm_provider(PMT_RSS_FAULT_GATE,
                            interval_ns ? interval_ns : DEFAULT_MAX_STALENESS_NS, out,
                            user_data) == PMT_OK)
        return PMT_OK;
    return pmt__statm_provider(PMT_RSS_INTERVAL, interval_ns ? interval_ns : DEFAULT_INTERVAL_NS,
                               out, user_data);
}

const char *pmt_rss_default_provider_name(void)
{
    return "linux-statm";
}

/* The process-wide reader behind pmt_rss_current(), shared by all threads. */
static pmt__statm shared_reader = PMT__STATM_INIT;
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;

int pmt_rss_current(uint64_t *out_bytes)
{
    if (!out_bytes)
        return pmt__fail(PMT_EINVAL, "pmt_rss_current: out_bytes is NULL");
    pthread_mutex_lock(&shared_lock);
    int rc = pmt__statm_read(&shared_reader, out_bytes);
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
