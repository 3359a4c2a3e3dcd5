/* CRC-32C (Castagnoli): the checksum of binary log headers and chunks. */
#ifndef PMT_CORE_CRC32C_H
#define PMT_CORE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues a checksum: start with crc = 0. */
uint32_t pmt__crc32c(uint32_t crc, const void *data, size_t size);

#endif
