/* Platforms without an RSS provider yet (macOS, FreeBSD and Windows get their own files). */
#include "rss_internal.h"

#include "../core/error.h"

int pmt__rss_default_provider(pmt_rss_provider *out, void **user_data)
{
    (void)out;
    (void)user_data;
    return pmt__fail(PMT_ENOTSUP, "no RSS provider for this operating system yet");
}

const char *pmt_rss_default_provider_name(void)
{
    return "none";
}

int pmt_rss_current(uint64_t *out_bytes)
{
    (void)out_bytes;
    return pmt__fail(PMT_ENOTSUP, "no RSS provider for this operating system yet");
}

int pmt_rss_peak(uint64_t *out_bytes)
{
    (void)out_bytes;
    return pmt__fail(PMT_ENOTSUP, "no RSS provider for this operating system yet");
}
