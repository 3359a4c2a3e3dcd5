/**
 * @file probes.h
 * @brief Static probes (USDT) in libpymemtrace for bpftrace, SystemTap and DTrace
 *        (doc/probes.md lists them with their arguments).
 *
 * A running tracer fires provider `pymemtrace`'s probes `event`, `rss_change`, `alloc`, `free`,
 * `realloc`, `gc_start`, `gc_done`, `mark`, `tracer_start` and `tracer_stop` whether or not a sink
 * writes the event, so a tracer with no sink and an attached consumer is a supported set-up. Each
 * probe has a semaphore the attaching tool raises: a probe nobody listens to costs a load and a
 * branch.
 */
#ifndef PYMEMTRACE_PROBES_H
#define PYMEMTRACE_PROBES_H

#include <pymemtrace/export.h>

PMT_BEGIN_DECLS

/**
 * @brief Whether this build of the library has its USDT probes (built where `sys/sdt.h` was
 *        found and `PMT_USDT` was on).
 * @return 1 when it has them, 0 otherwise.
 * @par Thread safety: always safe.
 */
PMT_API int pmt_probes_available(void);

/**
 * @brief How many consumers are attached to a probe now: the value of its semaphore, which
 *        bpftrace, SystemTap or the kernel raise while a probe is attached.
 * @param name A probe name of doc/probes.md ("event", "alloc", ...).
 * @param[out] listeners The count, 0 when nobody listens.
 * @return #PMT_OK; #PMT_EINVAL for a NULL argument or a name that is not a probe;
 *         #PMT_ENOTSUP when the library has no probes (pmt_probes_available() is 0).
 * @par Thread safety: always safe (a racy read of a counter another process writes).
 */
PMT_API int pmt_probe_listeners(const char *name, unsigned *listeners);

PMT_END_DECLS

#endif /* PYMEMTRACE_PROBES_H */
