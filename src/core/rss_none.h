/* The provider of PMT_RSS_NONE (rss_none.c): the same on every OS, so it lives in the core. */
#ifndef PMT_CORE_RSS_NONE_H
#define PMT_CORE_RSS_NONE_H

#include <pymemtrace/rss.h>

/* Never reads, always 0: the bench's "hook only" row. */
int pmt__rss_none_provider(pmt_rss_provider *out, void **user_data);

#endif
