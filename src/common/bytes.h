/* Little-endian fixed-size fields and LEB128 varints of the binary log. Inline: the writer
 * encodes every event with them. */
#ifndef PMT_CORE_BYTES_H
#define PMT_CORE_BYTES_H

#include <stddef.h>
#include <stdint.h>

enum { PMT__VARINT_MAX = 10 };

/* Writes v, returns its length. Room for PMT__VARINT_MAX bytes is needed, whatever v: values
 * below 2^14 (most fields of most events) are written without a branch on their length, which
 * the CPU could not predict, and always store two bytes. */
static inline size_t pmt__put_varint(unsigned char *out, uint64_t v)
{
    if (v < 0x4000) {
        size_t two = v >= 0x80;
        out[0] = (unsigned char)(v | two << 7);
        out[1] = (unsigned char)(v >> 7);
        return 1 + two;
    }
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (unsigned char)v;
    return n;
}

static inline uint64_t pmt__zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t pmt__unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static inline void pmt__put_u16(unsigned char *out, uint16_t v)
{
    out[0] = (unsigned char)v;
    out[1] = (unsigned char)(v >> 8);
}

static inline void pmt__put_u32(unsigned char *out, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        out[i] = (unsigned char)(v >> (8 * i));
}

static inline void pmt__put_u64(unsigned char *out, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        out[i] = (unsigned char)(v >> (8 * i));
}

static inline uint16_t pmt__get_u16(const unsigned char *in)
{
    return (uint16_t)(in[0] | in[1] << 8);
}

static inline uint32_t pmt__get_u32(const unsigned char *in)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | in[i];
    return v;
}

static inline uint64_t pmt__get_u64(const unsigned char *in)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | in[i];
    return v;
}

/* A bounded reader over a byte range: every get fails cleanly past the end. */
typedef struct pmt__cursor {
    const unsigned char *p, *end;
    int failed;
} pmt__cursor;

static inline uint64_t pmt__get_varint(pmt__cursor *c)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (c->p >= c->end) {
            c->failed = 1;
            return 0;
        }
        unsigned char b = *c->p++;
        if (shift == 63 && b > 1) { /* more than 64 bits */
            c->failed = 1;
            return 0;
        }
        v |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80))
            return v;
    }
    c->failed = 1;
    return 0;
}

static inline int pmt__get_byte(pmt__cursor *c)
{
    if (c->p >= c->end) {
        c->failed = 1;
        return 0;
    }
    return *c->p++;
}

#endif
