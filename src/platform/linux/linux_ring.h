/* The exact, syscall-free Linux provider: per-CPU perf rings on kmem:rss_stat. */
#ifndef PMT_RSS_LINUX_RING_H
#define PMT_RSS_LINUX_RING_H

#include <pymemtrace/rss.h>

enum { PMT__RING_DEFAULT_PAGES = 64 }; /* data pages per CPU: 256 KiB with 4 KiB pages */

/* PMT_ENOTSUP (with the reason) where privileges or tracefs are missing. data_pages must be a
 * power of two; 0 means the default size, in rings the process's tracers share (opened once,
 * disabled while no tracer uses them). */
int pmt__ring_provider(unsigned data_pages, pmt_rss_provider *out, void **user_data);

/* How often lost records forced a re-seed from /proc (tests and benchmarks). */
uint64_t pmt__ring_resyncs(void *user_data);

#endif
