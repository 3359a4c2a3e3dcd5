/* The fourth seam: one sample of the process's memory for the monitor (core/monitor.c), one
 * implementation per system. */
#ifndef PMT_PLATFORM_SAMPLE_OS_H
#define PMT_PLATFORM_SAMPLE_OS_H

#include <pymemtrace/monitor.h>

/* Opens what sampling keeps open (descriptors, the cgroup's files) into *out: PMT_OK, or a
 * failure (PMT_ENOTSUP where this system has no sampler). */
int pmt__sampler_open(void **out);

/* Fills everything of out but seq, time_ns, realtime_ns and label. PMT_OK, or a failure (the
 * monitor keeps the last good values). Called on the monitor's thread only. */
int pmt__sampler_read(void *sampler, pmt_sample *out);

void pmt__sampler_close(void *sampler);

#endif
