/**
 * @file rss.h
 * @brief Resident set size: the process-wide helpers and the provider interface.
 *
 * A tracer asks its RSS provider for the current RSS at every event that reaches the RSS stage.
 * Unless one is installed, the tracer takes the operating system's provider for its
 * #PMT_PARAM_RSS_MODE at start: by default #PMT_RSS_AUTO, which on Linux tries the exact kernel
 * ring first, then the page-fault gate, then a `statm` read at most every 100 us (see
 * #pmt_rss_mode and doc/rss-providers.md). Applications and tests may install their own with
 * pmt_tracer_set_rss_provider().
 */
#ifndef PYMEMTRACE_RSS_H
#define PYMEMTRACE_RSS_H

#include <stdint.h>

#include <pymemtrace/export.h>

PMT_BEGIN_DECLS

/**
 * @brief The current resident set size of the calling process.
 * @param[out] out_bytes Receives RSS in bytes.
 * @return #PMT_OK, #PMT_EINVAL if @p out_bytes is NULL, #PMT_EIO if the OS call failed,
 *         #PMT_ENOTSUP on an operating system without a provider.
 * @par Thread safety: always safe.
 */
PMT_API int pmt_rss_current(uint64_t *out_bytes);

/**
 * @brief The peak resident set size of the calling process since it started, as the kernel
 *        counts it (Linux: `getrusage` `ru_maxrss`).
 * @param[out] out_bytes Receives the peak RSS in bytes.
 * @return As pmt_rss_current().
 * @par Thread safety: always safe.
 */
PMT_API int pmt_rss_peak(uint64_t *out_bytes);

/**
 * @brief The name of the provider behind pmt_rss_current() ("linux-statm", ...).
 * @return A static string; "none" where the platform has no provider.
 */
PMT_API const char *pmt_rss_default_provider_name(void);

/**
 * @brief How a tracer's default provider reads RSS (#PMT_PARAM_RSS_MODE). Values are pinned.
 *
 * The log header records the provider chosen and its accuracy. See doc/rss-providers.md.
 */
typedef enum pmt_rss_mode {
    /** The best the process may use: #PMT_RSS_KERNEL_RING (exact; privileged, tracefs
     *  mounted), else #PMT_RSS_FAULT_GATE, else #PMT_RSS_INTERVAL. */
    PMT_RSS_AUTO = 0,
    /** Read the OS counter at every event: exact, but a syscall each (Linux ~1.5-2 us). */
    PMT_RSS_EXACT = 1,
    /** Read at most once per #PMT_PARAM_RSS_INTERVAL_NS: stale by at most that. */
    PMT_RSS_INTERVAL = 2,
    /** Re-read after this thread's page faults, and at least once per
     *  #PMT_PARAM_RSS_INTERVAL_NS (decreases, other threads, kernel-mode faults). */
    PMT_RSS_FAULT_GATE = 3,
    /** Exact, no syscall per event: the kernel streams each change (Linux: kmem:rss_stat perf
     *  rings, one per CPU, polled by one load each; needs CAP_PERFMON or root and a readable
     *  tracefs). The rings are opened once per process (milliseconds) and shared by its
     *  tracers; they are disabled while no tracer uses them. */
    PMT_RSS_KERNEL_RING = 4,
    /** RSS is not read (always 0): what the event hook alone costs (bench/), or call flow
     *  without memory. */
    PMT_RSS_NONE = 5
} pmt_rss_mode;

/**
 * @brief A source of RSS values. The library copies the struct; only the fields covered by
 *        `struct_size` are read, so older callers keep working when fields are appended.
 *
 * Initialise with #PMT_RSS_PROVIDER_INIT and set at least `read`.
 */
typedef struct pmt_rss_provider {
    /** Set to sizeof(pmt_rss_provider) (done by #PMT_RSS_PROVIDER_INIT). */
    uint32_t struct_size;
    /** Short static name, recorded in binary log headers; may be NULL. */
    const char *name;
    /**
     * Required. Store the current RSS in bytes in @p out_bytes and return 0, or return a
     * negative #pmt_status. Called at every event that passes the gate: must not allocate.
     */
    int (*read)(void *user_data, uint64_t *out_bytes);
    /**
     * Optional gate, consulted at every event before `read` with the event's time (the tracer's
     * monotonic clock, ns): return 0 when the last value may be reused (RSS has not changed, or
     * the provider's accuracy contract allows the staleness), non-zero to call `read`. NULL
     * means "always read".
     */
    int (*may_have_changed)(void *user_data, uint64_t now_ns);
    /** Optional: called once when the tracer no longer uses the provider. */
    void (*release)(void *user_data);
    /** Optional static text stating the accuracy contract, recorded in log headers. */
    const char *accuracy;
} pmt_rss_provider;

/** @brief Initialiser for a #pmt_rss_provider with every optional field empty. */
#define PMT_RSS_PROVIDER_INIT                                                                      \
    {                                                                                              \
        sizeof(pmt_rss_provider), 0, 0, 0, 0, 0                                                    \
    }

PMT_END_DECLS

#endif /* PYMEMTRACE_RSS_H */
