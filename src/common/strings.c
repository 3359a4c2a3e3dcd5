#define _POSIX_C_SOURCE 200809L /* strnlen */
#include "common/strings.h"

#include <stdlib.h>
#include <string.h>

struct pmt__string_chunk {
    pmt__string_chunk *next;
    size_t used, size;
    char data[];
};

enum { CHUNK_SIZE = 16384 };

void pmt__strings_init(pmt__strings *s)
{
    memset(s, 0, sizeof *s);
}

void pmt__strings_free(pmt__strings *s)
{
    for (pmt__string_chunk *c = s->chunks, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(s->slots);
    free(s->hashes);
    pmt__strings_init(s);
}

static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211u;
    return h;
}

static int grow(pmt__strings *s)
{
    size_t cap = s->capacity ? s->capacity * 2 : 256;
    const char **slots = calloc(cap, sizeof *slots);
    uint64_t *hashes = calloc(cap, sizeof *hashes);
    if (!slots || !hashes) {
        free(slots);
        free(hashes);
        return -1;
    }
    for (size_t i = 0; i < s->capacity; i++) {
        if (!s->slots[i])
            continue;
        size_t j = (size_t)s->hashes[i] & (cap - 1);
        while (slots[j])
            j = (j + 1) & (cap - 1);
        slots[j] = s->slots[i];
        hashes[j] = s->hashes[i];
    }
    free(s->slots);
    free(s->hashes);
    s->slots = slots;
    s->hashes = hashes;
    s->capacity = cap;
    return 0;
}

static char *store(pmt__strings *s, const char *text, size_t len)
{
    pmt__string_chunk *c = s->chunks;
    if (!c || c->size - c->used < len + 1) {
        size_t size = len + 1 > CHUNK_SIZE ? len + 1 : CHUNK_SIZE;
        c = malloc(sizeof *c + size);
        if (!c)
            return NULL;
        c->used = 0;
        c->size = size;
        c->next = s->chunks;
        s->chunks = c;
    }
    char *copy = c->data + c->used;
    memcpy(copy, text, len);
    copy[len] = '\0';
    c->used += len + 1;
    return copy;
}

const char *pmt__strings_intern(pmt__strings *s, const char *text, size_t len)
{
    len = strnlen(text, len); /* C strings end at the first NUL, so names do too */
    if ((s->count + 1) * 2 > s->capacity && grow(s) != 0)
        return NULL;
    uint64_t h = hash_bytes(text, len);
    size_t i = (size_t)h & (s->capacity - 1);
    for (; s->slots[i]; i = (i + 1) & (s->capacity - 1)) {
        if (s->hashes[i] == h && strncmp(s->slots[i], text, len) == 0 && s->slots[i][len] == '\0')
            return s->slots[i];
    }
    char *copy = store(s, text, len);
    if (!copy)
        return NULL;
    s->slots[i] = copy;
    s->hashes[i] = h;
    s->count++;
    return copy;
}
