/* The third seam: static probes (USDT) that bpftrace, SystemTap and DTrace attach to, one
 * implementation per probe system. Each probe has a semaphore the attaching tool raises, so a
 * probe nobody listens to costs the hot path one load and a not-taken branch, and no call: the
 * fire functions below are called only when PMT__PROBE_WANTED says a consumer is attached.
 * doc/probes.md documents every probe's arguments; keep both in step. */
#ifndef PMT_PLATFORM_PROBES_H
#define PMT_PLATFORM_PROBES_H

#include <stdint.h>

#include "common/compiler.h"

#if defined(PMT_HAVE_USDT)
/* The names sys/sdt.h derives from provider "pymemtrace" and each probe's name. */
extern volatile unsigned short pymemtrace_event_semaphore, pymemtrace_rss_change_semaphore,
    pymemtrace_alloc_semaphore, pymemtrace_free_semaphore, pymemtrace_realloc_semaphore,
    pymemtrace_gc_start_semaphore, pymemtrace_gc_done_semaphore, pymemtrace_mark_semaphore,
    pymemtrace_tracer_start_semaphore, pymemtrace_tracer_stop_semaphore,
    pymemtrace_object_new_semaphore, pymemtrace_object_free_semaphore;
#define PMT__PROBE_WANTED(name) PMT__UNLIKELY(pymemtrace_##name##_semaphore != 0)
#define PMT__PROBES_BUILT       1
#else
#define PMT__PROBE_WANTED(name) 0
#define PMT__PROBES_BUILT       0
#endif

/* The semaphore of the probe called name, or NULL when there is no such probe (or no probes). */
const volatile unsigned short *pmt__probe_semaphore(const char *name);

/* Each fires its probe with its arguments in doc/probes.md's order: six at most, as many as
 * bpftrace 0.17 reads on x86_64 (the firing thread is the consumer's own tid). Strings are valid
 * only while the probe runs (a consumer copies them: bpftrace's str()). */
void pmt__probe_event(uint32_t kind, const char *file, int32_t line, const char *function,
                      uint64_t rss, int64_t d_rss);
void pmt__probe_rss_change(uint32_t kind, const char *file, int32_t line, const char *function,
                           uint64_t rss, int64_t d_rss);
void pmt__probe_alloc(uint32_t allocator, uint64_t address, uint64_t size, const char *file,
                      int32_t line, const char *function);
void pmt__probe_free(uint32_t allocator, uint64_t address, uint64_t size, const char *file,
                     int32_t line, const char *function);
void pmt__probe_realloc(uint32_t allocator, uint64_t address, uint64_t size, uint64_t old_address,
                        uint64_t old_size);
void pmt__probe_gc_start(int32_t generation, uint64_t rss);
void pmt__probe_gc_done(int32_t generation, uint64_t collected, uint64_t uncollectable,
                        uint64_t duration_ns, uint64_t rss);
void pmt__probe_mark(const char *text, uint64_t rss, const char *file, int32_t line,
                     const char *function);
void pmt__probe_tracer_start(uint64_t tracer, int64_t pid, uint64_t rss, uint64_t event_mask,
                             uint64_t allocators);
void pmt__probe_tracer_stop(uint64_t tracer, uint64_t events_seen, uint64_t events_written,
                            uint64_t rss);
void pmt__probe_object_new(uint64_t address, const char *type_name, int64_t live, const char *file,
                           int32_t line, const char *function);
void pmt__probe_object_free(uint64_t address, const char *type_name, int64_t live, const char *file,
                            int32_t line, const char *function);

#endif
