/* Windows: the RSS providers behind rss_os.h (doc/rss-providers.md). RSS is the process's
 * working set (PROCESS_MEMORY_COUNTERS.WorkingSetSize: its pages resident in physical memory,
 * shared ones included), the counterpart of Linux's resident set; the commit charge
 * (PagefileUsage, private bytes) is another measure, not RSS. Reading it is a system call
 * (GetProcessMemoryInfo, ~1 us): EXACT reads at every event; INTERVAL (and AUTO) reads at most
 * once per interval, gated by the QueryPerformanceCounter clock, no system call in between.
 * Windows has no fault counter a thread can read without a system call, so no fault gate, and
 * no kernel ring. */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <psapi.h>
#include <stdlib.h>

#include "common/error.h"
#include "platform/interval_gate.h"
#include "platform/rss_os.h"

enum { DEFAULT_INTERVAL_NS = 100000 }; /* 100 us, as on Linux */

static int working_set(uint64_t *out_bytes, uint64_t *out_peak)
{
    PROCESS_MEMORY_COUNTERS counters;
    if (!GetProcessMemoryInfo(GetCurrentProcess(), &counters, sizeof counters))
        return pmt__fail(PMT_EIO, "GetProcessMemoryInfo failed (error %lu)",
                         (unsigned long)GetLastError());
    if (out_bytes)
        *out_bytes = (uint64_t)counters.WorkingSetSize;
    if (out_peak)
        *out_peak = (uint64_t)counters.PeakWorkingSetSize;
    return PMT_OK;
}

static int read_working_set(void *user_data, uint64_t *out_bytes)
{
    (void)user_data;
    return working_set(out_bytes, NULL);
}

static int interval_gate(void *user_data, uint64_t now_ns)
{
    return pmt__interval_due(user_data, now_ns);
}

static void release(void *user_data)
{
    free(user_data);
}

int pmt__rss_os_provider(pmt_rss_mode mode, uint64_t interval_ns, pmt_rss_provider *out,
                         void **user_data)
{
    pmt_rss_provider provider = PMT_RSS_PROVIDER_INIT;
    provider.read = read_working_set;
    switch (mode) {
    case PMT_RSS_EXACT:
        provider.name = "windows-working-set";
        provider.accuracy = "exact: the working set read at every event";
        *out = provider;
        *user_data = NULL;
        return PMT_OK;
    case PMT_RSS_AUTO:
    case PMT_RSS_INTERVAL: {
        pmt__interval_gate *p = calloc(1, sizeof *p);
        if (!p)
            return pmt__fail(PMT_ENOMEM, "out of memory for the RSS provider");
        p->interval_ns = interval_ns ? interval_ns : DEFAULT_INTERVAL_NS;
        provider.name = "windows-working-set-interval";
        provider.accuracy = "stale by at most the interval";
        provider.may_have_changed = interval_gate;
        provider.release = release;
        *out = provider;
        *user_data = p;
        return PMT_OK;
    }
    case PMT_RSS_FAULT_GATE:
        return pmt__fail(PMT_ENOTSUP, "Windows has no page-fault counter a thread can read "
                                      "without a system call: use PMT_RSS_INTERVAL or EXACT");
    case PMT_RSS_KERNEL_RING:
        return pmt__fail(PMT_ENOTSUP, "the kernel ring (perf on kmem:rss_stat) is Linux's");
    case PMT_RSS_NONE:
        break;
    }
    return pmt__fail(PMT_EINVAL, "unknown RSS mode %d", (int)mode);
}

const char *pmt_rss_default_provider_name(void)
{
    return "windows-working-set";
}

int pmt_rss_current(uint64_t *out_bytes)
{
    if (!out_bytes)
        return pmt__fail(PMT_EINVAL, "pmt_rss_current: out_bytes is NULL");
    return working_set(out_bytes, NULL);
}

int pmt_rss_peak(uint64_t *out_bytes)
{
    if (!out_bytes)
        return pmt__fail(PMT_EINVAL, "pmt_rss_peak: out_bytes is NULL");
    return working_set(NULL, out_bytes);
}
