/* FreeBSD: the RSS providers behind rss_os.h (doc/rss-providers.md). RSS is the process's
 * resident set, kinfo_proc.ki_rssize pages from sysctl(KERN_PROC_PID) (what `ps -o rss` and
 * `procstat -r` show); the peak is getrusage()'s ru_maxrss (KiB). Reading it is a system call
 * (~1-2 us): EXACT reads at every event; INTERVAL (and AUTO) at most once per interval, gated by
 * the monotonic clock; no fault gate, no kernel ring. NOT BUILT HERE: Debian has no FreeBSD
 * headers; tests/platforms checks its syntax and types against stand-in declarations. */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/sysctl.h>
#include <sys/user.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/error.h"
#include "platform/interval_gate.h"
#include "platform/rss_os.h"

enum { DEFAULT_INTERVAL_NS = 100000 };

static int resident(uint64_t *out_bytes)
{
    int mib[4] = {CTL_KERN, KERN_PROC, KERN_PROC_PID, (int)getpid()};
    struct kinfo_proc info;
    size_t size = sizeof info;
    if (sysctl(mib, 4, &info, &size, NULL, 0) != 0)
        return pmt__fail_os(errno, "sysctl(KERN_PROC_PID)");
    *out_bytes = (uint64_t)info.ki_rssize * (uint64_t)sysconf(_SC_PAGESIZE);
    return PMT_OK;
}

static int read_resident(void *user_data, uint64_t *out_bytes)
{
    (void)user_data;
    return resident(out_bytes);
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
        provider.name = "freebsd-kinfo-proc";
        provider.accuracy = "exact: the resident set read at every event";
        *out = provider;
        *user_data = NULL;
        return PMT_OK;
    }
    if (mode == PMT_RSS_AUTO || mode == PMT_RSS_INTERVAL) {
        pmt__interval_gate *p = calloc(1, sizeof *p);
        if (!p)
            return pmt__fail(PMT_ENOMEM, "out of memory for the RSS provider");
        p->interval_ns = interval_ns ? interval_ns : DEFAULT_INTERVAL_NS;
        provider.name = "freebsd-kinfo-proc-interval";
        provider.accuracy = "stale by at most the interval";
        provider.may_have_changed = interval_gate;
        provider.release = release;
        *out = provider;
        *user_data = p;
        return PMT_OK;
    }
    return pmt__fail(PMT_ENOTSUP, "FreeBSD has no RSS mode %d: use PMT_RSS_INTERVAL or EXACT",
                     (int)mode);
}

const char *pmt_rss_default_provider_name(void)
{
    return "freebsd-kinfo-proc";
}

int pmt_rss_current(uint64_t *out_bytes)
{
    if (!out_bytes)
        return pmt__fail(PMT_EINVAL, "pmt_rss_current: out_bytes is NULL");
    return resident(out_bytes);
}

int pmt_rss_peak(uint64_t *out_bytes)
{
    if (!out_bytes)
        return pmt__fail(PMT_EINVAL, "pmt_rss_peak: out_bytes is NULL");
    struct rusage usage;
    if (getrusage(RUSAGE_SELF, &usage) != 0)
        return pmt__fail_os(errno, "getrusage");
    *out_bytes = (uint64_t)usage.ru_maxrss * 1024u; /* KiB on FreeBSD */
    return PMT_OK;
}
