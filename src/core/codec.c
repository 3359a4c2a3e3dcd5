#include "codec.h"

#include <pymemtrace/sink.h>

#if defined(PMT_HAVE_ZSTD)
#include <zstd.h>
#endif
#if defined(PMT_HAVE_LZ4)
#include <lz4.h>
#endif

int pmt_compression_supported(int codec)
{
    switch (codec) {
    case PMT_COMPRESS_NONE:
        return 1;
#if defined(PMT_HAVE_ZSTD)
    case PMT_COMPRESS_ZSTD:
        return 1;
#endif
#if defined(PMT_HAVE_LZ4)
    case PMT_COMPRESS_LZ4:
        return 1;
#endif
    default:
        return 0;
    }
}

size_t pmt__codec_bound(int codec, size_t n)
{
    switch (codec) {
#if defined(PMT_HAVE_ZSTD)
    case PMT_COMPRESS_ZSTD:
        return ZSTD_compressBound(n);
#endif
#if defined(PMT_HAVE_LZ4)
    case PMT_COMPRESS_LZ4:
        return n > (size_t)LZ4_MAX_INPUT_SIZE ? 0 : (size_t)LZ4_compressBound((int)n);
#endif
    default:
        (void)n;
        return 0;
    }
}

size_t pmt__codec_compress(int codec, int level, void *dst, size_t dst_size, const void *src,
                           size_t src_size)
{
    switch (codec) {
#if defined(PMT_HAVE_ZSTD)
    case PMT_COMPRESS_ZSTD: {
        size_t n = ZSTD_compress(dst, dst_size, src, src_size, level ? level : 1);
        return ZSTD_isError(n) ? 0 : n;
    }
#endif
#if defined(PMT_HAVE_LZ4)
    case PMT_COMPRESS_LZ4: {
        int n = LZ4_compress_fast(src, dst, (int)src_size, (int)dst_size, level > 0 ? level : 1);
        return n > 0 ? (size_t)n : 0;
    }
#endif
    default:
        (void)level, (void)dst, (void)dst_size, (void)src, (void)src_size;
        return 0;
    }
}

int pmt__codec_decompress(int codec, void *dst, size_t raw_size, const void *src, size_t size)
{
    switch (codec) {
#if defined(PMT_HAVE_ZSTD)
    case PMT_COMPRESS_ZSTD: {
        size_t n = ZSTD_decompress(dst, raw_size, src, size);
        return !ZSTD_isError(n) && n == raw_size ? 0 : -1;
    }
#endif
#if defined(PMT_HAVE_LZ4)
    case PMT_COMPRESS_LZ4: {
        if (raw_size > (size_t)LZ4_MAX_INPUT_SIZE || size > (size_t)LZ4_MAX_INPUT_SIZE)
            return -1;
        int n = LZ4_decompress_safe(src, dst, (int)size, (int)raw_size);
        return n >= 0 && (size_t)n == raw_size ? 0 : -1;
    }
#endif
    default:
        (void)dst, (void)raw_size, (void)src, (void)size;
        return -1;
    }
}
