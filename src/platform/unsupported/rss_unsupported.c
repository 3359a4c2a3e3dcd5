/* Platforms without an RSS provider yet (macOS, FreeBSD and Windows get their own files). */
#include "platform/rss_os.h"

#include "common/error.h"

int pmt__rss_os_provider(pmt_rss_mode mode, uint64_t interval_ns, pmt_rss_provider *out,
                         void **user_data)
{
    (void)mode;
    (void)interval_ns;
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
