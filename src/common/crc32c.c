#include "common/crc32c.h"

#include <stdatomic.h>
#include <string.h>

/* CRC-32C (Castagnoli, reflected polynomial 0x82F63B78). Every chunk is checksummed once when
 * written and once when read, a few bytes per event: the SSE4.2 crc32 instruction where the CPU
 * has it, else slicing-by-8 tables (8 KiB, built once). */

static uint32_t table[8][256];
static uint32_t (*update)(uint32_t crc, const unsigned char *p, size_t size);
/* 0: not built, 1: a thread builds the tables, 2: ready. C11 atomics rather than pthread_once,
 * so that common/ needs no thread library on any system. */
static atomic_int state;

static uint32_t update_tables(uint32_t crc, const unsigned char *p, size_t size)
{
    while (size && ((uintptr_t)p & 7)) {
        crc = table[0][(crc ^ *p++) & 0xFF] ^ (crc >> 8);
        size--;
    }
    while (size >= 8) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + 4, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        lo = __builtin_bswap32(lo);
        hi = __builtin_bswap32(hi);
#endif
        lo ^= crc;
        crc = table[7][lo & 0xFF] ^ table[6][(lo >> 8) & 0xFF] ^ table[5][(lo >> 16) & 0xFF] ^
              table[4][lo >> 24] ^ table[3][hi & 0xFF] ^ table[2][(hi >> 8) & 0xFF] ^
              table[1][(hi >> 16) & 0xFF] ^ table[0][hi >> 24];
        p += 8;
        size -= 8;
    }
    while (size--)
        crc = table[0][(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define PMT_CRC32C_SSE42 1
__attribute__((target("sse4.2"))) static uint32_t update_sse42(uint32_t crc, const unsigned char *p,
                                                               size_t size)
{
    uint64_t c = crc;
    while (size && ((uintptr_t)p & 7)) {
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
        size--;
    }
    while (size >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
        p += 8;
        size -= 8;
    }
    while (size--)
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
    return (uint32_t)c;
}
#endif

static void init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        table[0][i] = c;
    }
    for (int t = 1; t < 8; t++)
        for (int i = 0; i < 256; i++)
            table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xFF];
    update = update_tables;
#if defined(PMT_CRC32C_SSE42)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse4.2"))
        update = update_sse42;
#endif
}

/* Builds the tables once; a thread that finds another building them waits for it (once per
 * process, microseconds). */
static void ready(void)
{
    if (atomic_load_explicit(&state, memory_order_acquire) == 2)
        return;
    int expected = 0;
    if (atomic_compare_exchange_strong(&state, &expected, 1)) {
        init();
        atomic_store_explicit(&state, 2, memory_order_release);
        return;
    }
    while (atomic_load_explicit(&state, memory_order_acquire) != 2)
        ;
}

uint32_t pmt__crc32c(uint32_t crc, const void *data, size_t size)
{
    ready();
    return ~update(~crc, data, size);
}

/* The portable path, whatever the CPU: the tests compare the two (declared there). */
uint32_t pmt__crc32c_portable(uint32_t crc, const void *data, size_t size);
uint32_t pmt__crc32c_portable(uint32_t crc, const void *data, size_t size)
{
    ready();
    return ~update_tables(~crc, data, size);
}
