/* The seam between the tracer and the per-OS RSS files: exactly one rss_<os>.c is compiled (CMake
 * picks it), which also implements pmt_rss_current() and pmt_rss_peak(). */
#ifndef PMT_PLATFORM_RSS_OS_H
#define PMT_PLATFORM_RSS_OS_H

#include <pymemtrace/rss.h>

/* Fills *out with this OS's provider for mode and *user_data with its state (released through
 * out->release). interval_ns 0 means the mode's default. Returns PMT_OK, PMT_ENOMEM, PMT_EIO or
 * PMT_ENOTSUP (the mode is not available here; the message says why). */
int pmt__rss_os_provider(pmt_rss_mode mode, uint64_t interval_ns, pmt_rss_provider *out,
                         void **user_data);

#endif
