/* The statm-based Linux providers: exact, interval and fault gate. */
#ifndef PMT_RSS_LINUX_STATM_PROVIDERS_H
#define PMT_RSS_LINUX_STATM_PROVIDERS_H

#include <pymemtrace/rss.h>

/* mode: PMT_RSS_EXACT, PMT_RSS_INTERVAL or PMT_RSS_FAULT_GATE; interval_ns is the interval or
 * the fault gate's max staleness. */
int pmt__statm_provider(pmt_rss_mode mode, uint64_t interval_ns, pmt_rss_provider *out,
                        void **user_data);

#endif
