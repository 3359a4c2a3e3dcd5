#include "crc32c.h"

/* Slicing-by-one table, built once; 1 KiB. Chunks are checksummed once per 64 KiB, so a simple
 * table is fast enough and needs no CPU-specific code. */
static uint32_t table[256];
static int table_ready;

static void build_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        table[i] = c;
    }
    table_ready = 1;
}

uint32_t pmt__crc32c(uint32_t crc, const void *data, size_t size)
{
    if (!table_ready)
        build_table(); /* idempotent: concurrent first calls write the same values */
    const unsigned char *p = data;
    crc = ~crc;
    while (size--)
        crc = table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return ~crc;
}
