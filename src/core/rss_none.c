/* PMT_RSS_NONE: RSS is never read. The gate always says "unchanged", so the pipeline costs what
 * it costs without a provider: the benchmark's "hook only" row. */
#include "core/rss_none.h"

#include <stddef.h>

static int read_nothing(void *user_data, uint64_t *out_bytes)
{
    (void)user_data;
    *out_bytes = 0;
    return 0;
}

static int never_changed(void *user_data, uint64_t now_ns)
{
    (void)user_data;
    (void)now_ns;
    return 0;
}

int pmt__rss_none_provider(pmt_rss_provider *out, void **user_data)
{
    pmt_rss_provider provider = PMT_RSS_PROVIDER_INIT;
    provider.name = "none";
    provider.accuracy = "not read: always 0";
    provider.read = read_nothing;
    provider.may_have_changed = never_changed;
    *out = provider;
    *user_data = NULL;
    return 0;
}
