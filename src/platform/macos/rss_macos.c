/* macOS: the RSS providers behind rss_os.h (doc/rss-providers.md). RSS is the task's resident
 * size (task_info(MACH_TASK_BASIC_INFO).resident_size), the same number `ps` and Activity
 * Monitor's "Real Memory" start from; the peak is resident_size_max. Reading it is a Mach trap
 * (~1 us): EXACT reads at every event; INTERVAL (and AUTO) at most once per interval, gated by
 * the monotonic clock. The fault counters (TASK_EVENTS_INFO) cost the same trap, so there is no
 * cheaper gate, and no kernel ring. NOT BUILT HERE: Debian has no Mach headers; tests/platforms
 * checks its syntax and types against stand-in declarations of the calls it makes. */
#include <mach/mach.h>
#include <stdlib.h>

#include "common/error.h"
#include "platform/interval_gate.h"
#include "platform/rss_os.h"

enum { DEFAULT_INTERVAL_NS = 100000 };

static int basic_info(uint64_t *resident, uint64_t *peak)
{
    mach_task_basic_info_data_t info;
    mach_msg_type_number_t count = MACH_TASK_BASIC_INFO_COUNT;
    kern_return_t kr =
        task_info(mach_task_self(), MACH_TASK_BASIC_INFO, (task_info_t)&info, &count);
    if (kr != KERN_SUCCESS)
        return pmt__fail(PMT_EIO, "task_info(MACH_TASK_BASIC_INFO) failed (%d)", (int)kr);
    if (resident)
        *resident = (uint64_t)info.resident_size;
    if (peak)
        *peak = (uint64_t)info.resident_size_max;
    return PMT_OK;
}

static int read_resident(void *user_data, uint64_t *out_bytes)
{
    (void)user_data;
    return basic_info(out_bytes, NULL);
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
    provider.read = read_resident;
    if (mode == PMT_RSS_EXACT) {
        provider.name = "macos-task-info";
        provider.accuracy = "exact: the resident size read at every event";
        *out = provider;
        *user_data = NULL;
        return PMT_OK;
    }
    if (mode == PMT_RSS_AUTO || mode == PMT_RSS_INTERVAL) {
        pmt__interval_gate *p = calloc(1, sizeof *p);
        if (!p)
            return pmt__fail(PMT_ENOMEM, "out of memory for the RSS provider");
        p->interval_ns = interval_ns ? interval_ns : DEFAULT_INTERVAL_NS;
        provider.name = "macos-task-info-interval";
        provider.accuracy = "stale by at most the interval";
        provider.may_have_changed = interval_gate;
        provider.release = release;
        *out = provider;
        *user_data = p;
        return PMT_OK;
    }
    return pmt__fail(PMT_ENOTSUP, "macOS has no RSS mode %d: use PMT_RSS_INTERVAL or EXACT",
                     (int)mode);
}

const char *pmt_rss_default_provider_name(void)
{
    return "macos-task-info";
}

int pmt_rss_current(uint64_t *out_bytes)
{
    if (!out_bytes)
        return pmt__fail(PMT_EINVAL, "pmt_rss_current: out_bytes is NULL");
    return basic_info(out_bytes, NULL);
}

int pmt_rss_peak(uint64_t *out_bytes)
{
    if (!out_bytes)
        return pmt__fail(PMT_EINVAL, "pmt_rss_peak: out_bytes is NULL");
    return basic_info(NULL, out_bytes);
}
