#include "log/binary/codec.h"

#include <pymemtrace/sink.h>

#if defined(PMT_HAVE_ZSTD)
#include <pthread.h>
#include <zstd.h>

/* zstd contexts are kept for the next chunk: creating one per chunk (ZSTD_compress) costs a
 * third of the compression itself on event records. A small process-wide pool, taken and given
 * back under a mutex once per chunk; the contexts live until the process ends. */
enum { POOL_SIZE = 8 };
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static ZSTD_CCtx *cctx_pool[POOL_SIZE];
static ZSTD_DCtx *dctx_pool[POOL_SIZE];
static int cctx_count, dctx_count;

static ZSTD_CCtx *take_cctx(void)
{
    ZSTD_CCtx *c = NULL;
    pthread_mutex_lock(&pool_lock);
    if (cctx_count > 0)
        c = cctx_pool[--cctx_count];
    pthread_mutex_unlock(&pool_lock);
    return c ? c : ZSTD_createCCtx();
}

static void give_cctx(ZSTD_CCtx *c)
{
    pthread_mutex_lock(&pool_lock);
    if (cctx_count < POOL_SIZE) {
        cctx_pool[cctx_count++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&pool_lock);
    ZSTD_freeCCtx(c); /* NULL: no-op */
}

static ZSTD_DCtx *take_dctx(void)
{
    ZSTD_DCtx *d = NULL;
    pthread_mutex_lock(&pool_lock);
    if (dctx_count > 0)
        d = dctx_pool[--dctx_count];
    pthread_mutex_unlock(&pool_lock);
    return d ? d : ZSTD_createDCtx();
}

static void give_dctx(ZSTD_DCtx *d)
{
    pthread_mutex_lock(&pool_lock);
    if (dctx_count < POOL_SIZE) {
        dctx_pool[dctx_count++] = d;
        d = NULL;
    }
    pthread_mutex_unlock(&pool_lock);
    ZSTD_freeDCtx(d);
}
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
        ZSTD_CCtx *c = take_cctx();
        if (!c)
            return 0;
        size_t n = ZSTD_compressCCtx(c, dst, dst_size, src, src_size, level ? level : 1);
        give_cctx(c);
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
        ZSTD_DCtx *d = take_dctx();
        if (!d)
            return -1;
        size_t n = ZSTD_decompressDCtx(d, dst, raw_size, src, size);
        give_dctx(d);
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
