/* Systems without an ELF loader: no import slots to rewrite (platform/got.h). */
#include "common/error.h"
#include "platform/got.h"

int pmt__got_patch(const pmt__got_hook *hooks, size_t count, const void *self)
{
    (void)hooks;
    (void)count;
    (void)self;
    return pmt__fail(PMT_ENOTSUP, "patching loaded objects' imports is not supported here");
}

void pmt__got_restore(void) {}
