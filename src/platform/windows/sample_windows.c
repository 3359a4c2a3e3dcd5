/* Windows: a sample for the monitor. The working set and its peak, the page faults (Windows
 * counts them together: all of them are reported as minor), the private bytes as the anonymous
 * part, and the process's user and kernel CPU time. No cgroup. */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <psapi.h>
#include <stdint.h>

#include "common/error.h"
#include "platform/sample_os.h"

int pmt__sampler_open(void **out)
{
    *out = NULL; /* nothing to keep open: the calls take the process's pseudo-handle */
    return PMT_OK;
}

static uint64_t filetime_ns(FILETIME t)
{
    return ((uint64_t)t.dwHighDateTime << 32 | t.dwLowDateTime) * 100u;
}

int pmt__sampler_read(void *sampler, pmt_sample *out)
{
    (void)sampler;
    PROCESS_MEMORY_COUNTERS_EX counters;
    if (!GetProcessMemoryInfo(GetCurrentProcess(), (PROCESS_MEMORY_COUNTERS *)&counters,
                              sizeof counters))
        return pmt__fail(PMT_EIO, "GetProcessMemoryInfo failed (error %lu)",
                         (unsigned long)GetLastError());
    out->rss = (uint64_t)counters.WorkingSetSize;
    out->peak_rss = (uint64_t)counters.PeakWorkingSetSize;
    out->minor_faults = (uint64_t)counters.PageFaultCount;
    out->major_faults = 0;
    out->rss_anon = (uint64_t)counters.PrivateUsage;
    out->rss_file = out->rss_shmem = 0;
    out->cgroup_current = 0;
    out->cgroup_max = UINT64_MAX;
    FILETIME created, exited, kernel, user;
    if (GetProcessTimes(GetCurrentProcess(), &created, &exited, &kernel, &user)) {
        out->user_cpu_ns = filetime_ns(user);
        out->system_cpu_ns = filetime_ns(kernel);
    }
    return PMT_OK;
}

void pmt__sampler_close(void *sampler)
{
    (void)sampler;
}
