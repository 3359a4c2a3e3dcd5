/* Reading a caller's versioned struct: every public struct a caller fills starts with a uint32_t
 * struct_size, so that a caller built against older headers (a shorter struct) keeps working and
 * the library never reads past what the caller has. */
#ifndef PMT_COMMON_STRUCT_COPY_H
#define PMT_COMMON_STRUCT_COPY_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/error.h"

/* Copies the bytes of src that its struct_size covers over dst (which holds the defaults for the
 * rest), then sets dst's struct_size to dst_size. A struct_size below min_size (the first
 * version's) or above dst_size is PMT_EVERSION, naming what. */
static inline int pmt__struct_copy(void *dst, size_t dst_size, const void *src, size_t min_size,
                                   const char *what)
{
    uint32_t size;
    memcpy(&size, src, sizeof size);
    if (size < min_size || size > dst_size)
        return pmt__fail(PMT_EVERSION, "%s: unknown struct_size %u", what, (unsigned)size);
    memcpy(dst, src, size);
    uint32_t own = (uint32_t)dst_size;
    memcpy(dst, &own, sizeof own);
    return PMT_OK;
}

#define PMT__STRUCT_COPY(dst, src, min_size, what)                                                 \
    pmt__struct_copy((dst), sizeof *(dst), (src), (min_size), (what))

#endif
