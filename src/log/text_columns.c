/* The name columns of the text log, formatted once per name (text_columns.h). */
#include "log/text_columns.h"

#include <stdlib.h>

const char pmt__spaces[PMT__COLUMN_SLACK] = "                                ";
const uint64_t pmt__powers_of_10[20] = {1u,
                                        10u,
                                        100u,
                                        1000u,
                                        10000u,
                                        100000u,
                                        1000000u,
                                        10000000u,
                                        100000000u,
                                        1000000000u,
                                        10000000000u,
                                        100000000000u,
                                        1000000000000u,
                                        10000000000000u,
                                        100000000000000u,
                                        1000000000000000u,
                                        10000000000000000u,
                                        100000000000000000u,
                                        1000000000000000000u,
                                        10000000000000000000u};
const char pmt__digit_pairs[200] = {
#define PAIRS(t) t, '0', t, '1', t, '2', t, '3', t, '4', t, '5', t, '6', t, '7', t, '8', t, '9'
    PAIRS('0'), PAIRS('1'), PAIRS('2'), PAIRS('3'), PAIRS('4'),
    PAIRS('5'), PAIRS('6'), PAIRS('7'), PAIRS('8'), PAIRS('9'),
#undef PAIRS
};

size_t pmt__format_name(char *out, const char *name, size_t n, unsigned width)
{
    static const char hex[] = "0123456789abcdef";
    char *p = out;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c >= 0x20 && c != 0x7f) {
            *p++ = (char)c;
            continue;
        }
        *p++ = '\\';
        *p++ = 'x';
        *p++ = hex[c >> 4];
        *p++ = hex[c & 15];
    }
    size_t written = (size_t)(p - out);
    if (written < width) {
        memset(p, ' ', width - written);
        p += width - written;
    }
    *p++ = ' ';
    return (size_t)(p - out);
}

const char *pmt__name_column_miss(pmt__name_cache *cache, const char *name, unsigned width,
                                  size_t *length)
{
    if (!cache->slots && !(cache->slots = calloc(PMT__NAME_SLOTS, sizeof *cache->slots)))
        return NULL;
    pmt__name_slot *slot = &cache->slots[pmt__name_slot_index(name)];
    if (slot->name != name) {
        size_t n = strlen(name), room = 4 * n + width + 1 + PMT__NAME_TAIL;
        if (cache->used + room > PMT__NAME_TEXT_MAX && cache->used) {
            memset(cache->slots, 0, PMT__NAME_SLOTS * sizeof *cache->slots);
            cache->used = 0;
            cache->moves++;
        }
        if (cache->used + room > cache->size) {
            size_t size = cache->size ? cache->size : 16384;
            while (size < cache->used + room)
                size *= 2;
            char *grown = realloc(cache->text, size);
            if (!grown)
                return NULL;
            /* Defined bytes after the last name: callers copy a constant size past its end. */
            memset(grown + cache->size, ' ', size - cache->size);
            cache->text = grown;
            cache->size = size;
            cache->moves++;
        }
        slot->name = name;
        slot->offset = (uint32_t)cache->used;
        slot->length = (uint32_t)pmt__format_name(cache->text + cache->used, name, n, width);
        cache->used += slot->length; /* the next name's text (or unused room) is the tail */
    }
    *length = slot->length;
    return cache->text + slot->offset;
}

void pmt__name_cache_free(pmt__name_cache *cache)
{
    free(cache->slots);
    free(cache->text);
    memset(cache, 0, sizeof *cache);
}
