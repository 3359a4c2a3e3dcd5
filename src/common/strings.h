/* Interned UTF-8 strings that live as long as their table: events point into it, so sinks can
 * keep the pointers until the tracer is destroyed. Used on cache misses only, never per event. */
#ifndef PMT_CORE_STRINGS_H
#define PMT_CORE_STRINGS_H

#include <stddef.h>
#include <stdint.h>

typedef struct pmt__string_chunk pmt__string_chunk;

typedef struct pmt__strings {
    pmt__string_chunk *chunks; /* newest first */
    const char **slots;        /* open addressing, NULL = empty */
    uint64_t *hashes;
    size_t capacity, count;
} pmt__strings;

void pmt__strings_init(pmt__strings *s);
void pmt__strings_free(pmt__strings *s);

/* Returns the interned, NUL-terminated copy of text[0..len), or NULL when out of memory. */
const char *pmt__strings_intern(pmt__strings *s, const char *text, size_t len);

#endif
