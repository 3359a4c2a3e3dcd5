/* The seam between the tracer and the per-OS RSS files: exactly one rss_<os>.c is compiled. */
#ifndef PMT_RSS_INTERNAL_H
#define PMT_RSS_INTERNAL_H

#include <pymemtrace/rss.h>

/* Fills *out with this OS's default provider and *user_data with its state (released through
 * out->release). Returns PMT_OK, PMT_ENOMEM, PMT_EIO or PMT_ENOTSUP. */
int pmt__rss_default_provider(pmt_rss_provider *out, void **user_data);

#endif
