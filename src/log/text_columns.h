/* The text log's columns written straight into a buffer: numbers without printf, and names
 * (escaped, padded) formatted once per distinct name and then copied. */
#ifndef PMT_LOG_TEXT_COLUMNS_H
#define PMT_LOG_TEXT_COLUMNS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Numbers are written with constant-size stores where they can be: the padding first, 32 spaces
 * whatever the width (one or two vector stores), then the digits over it. A caller leaves
 * PMT__COLUMN_SLACK bytes of room after the widest column. */
enum { PMT__COLUMN_SLACK = 32 };
extern const char pmt__spaces[PMT__COLUMN_SLACK];

/* The number of decimal digits of v (1 for 0): from its bit length, one compare to correct. */
static inline unsigned pmt__digits10(uint64_t v)
{
    extern const uint64_t pmt__powers_of_10[20];
    unsigned guess =
        (unsigned)(64 - __builtin_clzll(v | 1)) * 1233 >> 12; /* log10(2) ~ 1233/4096 */
    return guess + 1 - ((v | 1) < pmt__powers_of_10[guess]);  /* v | 1: 0 has one digit */
}

/* Writes the digits of v ending just before end, two at a time; 32-bit arithmetic (cheaper
 * divisions by constants) once v fits. */
static inline void pmt__put_digits(char *end, uint64_t v)
{
    extern const char pmt__digit_pairs[200];
    while (v > UINT32_MAX) {
        uint64_t q = v / 100;
        end -= 2;
        memcpy(end, pmt__digit_pairs + (v - q * 100) * 2, 2);
        v = q;
    }
    uint32_t w = (uint32_t)v;
    while (w >= 100) {
        uint32_t q = w / 100;
        end -= 2;
        memcpy(end, pmt__digit_pairs + (w - q * 100) * 2, 2);
        w = q;
    }
    if (w >= 10)
        memcpy(end - 2, pmt__digit_pairs + w * 2, 2);
    else
        end[-1] = (char)('0' + w);
}

/* v left-aligned in width (<= 32) columns, padded with spaces or whole when longer; returns the
 * end. */
static inline char *pmt__put_u64_left(char *p, uint64_t v, unsigned width)
{
    memcpy(p, pmt__spaces, PMT__COLUMN_SLACK);
    unsigned n = pmt__digits10(v);
    pmt__put_digits(p + n, v);
    return p + (n > width ? n : width);
}

/* v right-aligned in width (<= 32) columns, a '-' before a negative one; returns the end. */
static inline char *pmt__put_i64_right(char *p, int64_t v, unsigned width)
{
    uint64_t magnitude = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    unsigned n = pmt__digits10(magnitude) + (v < 0);
    memcpy(p, pmt__spaces, PMT__COLUMN_SLACK);
    if (n < width)
        p += width - n;
    if (v < 0)
        *p = '-';
    pmt__put_digits(p + n, magnitude);
    return p + n;
}

/* Seconds with six decimals of ns, rounded to the microsecond, left-aligned in width (<= 32). */
static inline char *pmt__put_clock_left(char *p, uint64_t ns, unsigned width)
{
    extern const char pmt__digit_pairs[200];
    uint64_t us = (ns + 500) / 1000, seconds = us / 1000000;
    uint32_t frac = (uint32_t)(us % 1000000);
    memcpy(p, pmt__spaces, PMT__COLUMN_SLACK);
    unsigned n = pmt__digits10(seconds);
    pmt__put_digits(p + n, seconds);
    p[n] = '.';
    memcpy(p + n + 1, pmt__digit_pairs + frac / 10000 * 2, 2);
    memcpy(p + n + 3, pmt__digit_pairs + frac / 100 % 100 * 2, 2);
    memcpy(p + n + 5, pmt__digit_pairs + frac % 100 * 2, 2);
    n += 7;
    return p + (n > width ? n : width);
}

/* Names as the text log writes them: control characters as \xNN (a row stays one line), padded
 * with spaces to their column's width, then the column separator. Kept per name pointer in a
 * direct-mapped table, for names that live as long as the tracer; a miss formats the name again
 * (allocating only to grow the table's text, which starts over past PMT__NAME_TEXT_MAX so that
 * names that keep evicting each other cannot grow it without bound). */
typedef struct pmt__name_slot {
    const char *name;
    uint32_t offset, length; /* in text */
} pmt__name_slot;

typedef struct pmt__name_cache {
    pmt__name_slot *slots; /* PMT__NAME_SLOTS of them */
    char *text;
    size_t used, size;
    uint64_t moves; /* counts changes that invalidate earlier results: text moved or reset */
} pmt__name_cache;

enum { PMT__NAME_SLOTS = 1024, PMT__NAME_TEXT_MAX = 1 << 20, PMT__NAME_TAIL = 128 };

/* The slot of a name: Fibonacci hashing of its address, the top 10 bits (PMT__NAME_SLOTS). */
static inline size_t pmt__name_slot_index(const char *name)
{
    return (size_t)(((uint64_t)(uintptr_t)name * 0x9E3779B97F4A7C15u) >> 54);
}

/* The slow half of pmt__name_column: formats name into its slot. */
const char *pmt__name_column_miss(pmt__name_cache *cache, const char *name, unsigned width,
                                  size_t *length);

/* The column text of name (escaped, padded to width, then one space), or NULL when out of
 * memory. *length gets its length; PMT__NAME_TAIL readable bytes follow it (so that a caller
 * may copy a constant size). Valid until cache->moves changes (at a miss at most). */
static inline const char *pmt__name_column(pmt__name_cache *cache, const char *name, unsigned width,
                                           size_t *length)
{
    if (cache->slots) {
        const pmt__name_slot *slot = &cache->slots[pmt__name_slot_index(name)];
        if (slot->name == name) {
            *length = slot->length;
            return cache->text + slot->offset;
        }
    }
    return pmt__name_column_miss(cache, name, width, length);
}

/* Writes the column text of n bytes of name into out (which has room for 4 * n + width + 1
 * bytes); returns its length. */
size_t pmt__format_name(char *out, const char *name, size_t n, unsigned width);

void pmt__name_cache_free(pmt__name_cache *cache);

#endif
