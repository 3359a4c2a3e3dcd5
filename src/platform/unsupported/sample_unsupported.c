/* Systems without a sampler for the monitor yet (macOS, FreeBSD). */
#include <stddef.h>

#include "common/error.h"
#include "platform/sample_os.h"

int pmt__sampler_open(void **out)
{
    *out = NULL;
    return pmt__fail(PMT_ENOTSUP, "the RSS monitor has no sampler for this operating system yet");
}

int pmt__sampler_read(void *sampler, pmt_sample *out)
{
    (void)sampler, (void)out;
    return pmt__fail(PMT_ENOTSUP, "the RSS monitor has no sampler for this operating system yet");
}

void pmt__sampler_close(void *sampler)
{
    (void)sampler;
}
