/* Chunk compression: zstd and lz4 from the system's libraries, when the build found them. */
#ifndef PMT_CORE_CODEC_H
#define PMT_CORE_CODEC_H

#include <stddef.h>

/* Largest compressed size of n raw bytes, or 0 when the codec is not built in. */
size_t pmt__codec_bound(int codec, size_t n);

/* Compresses; returns the compressed size, or 0 on failure (the caller stores raw). */
size_t pmt__codec_compress(int codec, int level, void *dst, size_t dst_size, const void *src,
                           size_t src_size);

/* Decompresses exactly raw_size bytes; returns 0 on success, -1 on malformed input. */
int pmt__codec_decompress(int codec, void *dst, size_t raw_size, const void *src, size_t size);

#endif
