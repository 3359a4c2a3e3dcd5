/* libpymemtrace_native.so: the native-allocation interposer (include/pymemtrace/native.h).
 *
 * Early startup: the next definitions are found with dlsym(RTLD_NEXT), and dlsym itself may
 * allocate (calloc) before they are known, so until then allocations come from a static arena
 * (never freed: free() recognises its addresses). Recursion: a thread-local flag is set while the
 * hook runs, so that the hook's own allocations go straight through; it is initial-exec TLS,
 * which needs no allocation to reach. Fork: nothing to do; the child inherits the hook, and a
 * tracer's copy in the child decides what to record (pmt__tracer_allocation). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include <pymemtrace/event.h>
#include <pymemtrace/native.h>

#define EXPORT __attribute__((visibility("default")))

typedef void *(*malloc_fn)(size_t);
typedef void *(*calloc_fn)(size_t, size_t);
typedef void *(*realloc_fn)(void *, size_t);
typedef void (*free_fn)(void *);
typedef int (*posix_memalign_fn)(void **, size_t, size_t);
typedef void *(*memalign_fn)(size_t, size_t);
typedef void *(*mmap_fn)(void *, size_t, int, int, int, off_t);
typedef int (*munmap_fn)(void *, size_t);

static struct {
    malloc_fn malloc;
    calloc_fn calloc;
    realloc_fn realloc;
    free_fn free;
    posix_memalign_fn posix_memalign;
    memalign_fn aligned_alloc, memalign;
    malloc_fn valloc, pvalloc;
    mmap_fn mmap;
    munmap_fn munmap;
} next;

static pmt_native_hook hook; /* atomic */
static int resolving;        /* dlsym is running: allocations come from the arena */
static _Thread_local int in_hook __attribute__((tls_model("initial-exec")));

static _Alignas(16) unsigned char arena[64 * 1024];
static size_t arena_used; /* atomic */

static void *arena_alloc(size_t size)
{
    size = (size + 15) & ~(size_t)15;
    size_t at = __atomic_fetch_add(&arena_used, size, __ATOMIC_RELAXED);
    return at + size <= sizeof arena ? arena + at : NULL;
}

static int from_arena(const void *p)
{
    return (const unsigned char *)p >= arena && (const unsigned char *)p < arena + sizeof arena;
}

static void *find(const char *name)
{
    return dlsym(RTLD_NEXT, name);
}

static void resolve(void)
{
    if (next.free)
        return;
    resolving = 1;
    next.malloc = (malloc_fn)(uintptr_t)find("malloc");
    next.calloc = (calloc_fn)(uintptr_t)find("calloc");
    next.realloc = (realloc_fn)(uintptr_t)find("realloc");
    next.posix_memalign = (posix_memalign_fn)(uintptr_t)find("posix_memalign");
    next.aligned_alloc = (memalign_fn)(uintptr_t)find("aligned_alloc");
    next.memalign = (memalign_fn)(uintptr_t)find("memalign");
    next.valloc = (malloc_fn)(uintptr_t)find("valloc");
    next.pvalloc = (malloc_fn)(uintptr_t)find("pvalloc");
    next.mmap = (mmap_fn)(uintptr_t)find("mmap");
    next.munmap = (munmap_fn)(uintptr_t)find("munmap");
    __atomic_store_n(&next.free, (free_fn)(uintptr_t)find("free"), __ATOMIC_RELEASE);
    resolving = 0;
}

/* Reports a call to the hook, if any, unless this thread is inside it. */
static inline void report(int kind, int allocator, void *address, size_t size, void *old)
{
    pmt_native_hook h = __atomic_load_n(&hook, __ATOMIC_ACQUIRE);
    if (!h || in_hook)
        return;
    int saved = errno; /* the caller sees the allocator's errno, not the hook's */
    in_hook = 1;
    h(kind, allocator, address, size, old);
    in_hook = 0;
    errno = saved;
}

EXPORT pmt_native_hook pmt_native_set_hook(pmt_native_hook h)
{
    resolve();
    return __atomic_exchange_n(&hook, h, __ATOMIC_ACQ_REL);
}

EXPORT void *malloc(size_t size)
{
    if (__builtin_expect(!next.malloc, 0)) {
        if (resolving)
            return arena_alloc(size);
        resolve();
    }
    void *p = next.malloc(size);
    if (p)
        report(PMT_EV_ALLOC, PMT_ALLOCATOR_NATIVE, p, size, NULL);
    return p;
}

EXPORT void *calloc(size_t nelem, size_t elsize)
{
    if (__builtin_expect(!next.calloc, 0)) {
        if (resolving) {
            size_t n;
            return __builtin_mul_overflow(nelem, elsize, &n) ? NULL : arena_alloc(n); /* zeroed */
        }
        resolve();
    }
    void *p = next.calloc(nelem, elsize);
    if (p)
        report(PMT_EV_ALLOC, PMT_ALLOCATOR_NATIVE, p, nelem * elsize, NULL);
    return p;
}

EXPORT void free(void *p)
{
    if (!p || from_arena(p))
        return;
    if (__builtin_expect(!next.free, 0))
        resolve();
    report(PMT_EV_FREE, PMT_ALLOCATOR_NATIVE, p, 0, NULL); /* first: then the address is reusable */
    next.free(p);
}

EXPORT void *realloc(void *old, size_t size)
{
    if (__builtin_expect(!next.realloc, 0) || from_arena(old)) {
        if (from_arena(old)) { /* an arena block moves to the heap */
            size_t room = (size_t)(arena + sizeof arena - (unsigned char *)old);
            void *p = malloc(size);
            if (p)
                memcpy(p, old, size < room ? size : room);
            return p;
        }
        if (resolving)
            return arena_alloc(size);
        resolve();
    }
    void *p = next.realloc(old, size);
    if (p)
        report(old ? PMT_EV_REALLOC : PMT_EV_ALLOC, PMT_ALLOCATOR_NATIVE, p, size, old);
    else if (old && size == 0)
        report(PMT_EV_FREE, PMT_ALLOCATOR_NATIVE, old, 0, NULL); /* glibc frees it */
    return p;
}

EXPORT void *reallocarray(void *old, size_t nelem, size_t elsize)
{
    size_t n;
    if (__builtin_mul_overflow(nelem, elsize, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(old, n);
}

EXPORT int posix_memalign(void **out, size_t alignment, size_t size)
{
    resolve();
    int rc = next.posix_memalign(out, alignment, size);
    if (rc == 0)
        report(PMT_EV_ALLOC, PMT_ALLOCATOR_NATIVE, *out, size, NULL);
    return rc;
}

static void *aligned(memalign_fn fn, size_t alignment, size_t size)
{
    resolve();
    void *p = fn(alignment, size);
    if (p)
        report(PMT_EV_ALLOC, PMT_ALLOCATOR_NATIVE, p, size, NULL);
    return p;
}

EXPORT void *aligned_alloc(size_t alignment, size_t size)
{
    resolve();
    return aligned(next.aligned_alloc, alignment, size);
}

EXPORT void *memalign(size_t alignment, size_t size)
{
    resolve();
    return aligned(next.memalign, alignment, size);
}

EXPORT void *valloc(size_t size)
{
    resolve();
    void *p = next.valloc(size);
    if (p)
        report(PMT_EV_ALLOC, PMT_ALLOCATOR_NATIVE, p, size, NULL);
    return p;
}

EXPORT void *pvalloc(size_t size)
{
    resolve();
    void *p = next.pvalloc(size);
    if (p)
        report(PMT_EV_ALLOC, PMT_ALLOCATOR_NATIVE, p, size, NULL);
    return p;
}

/* Anonymous mappings only: a file's pages are its own business. */
EXPORT void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
{
    resolve();
    void *p = next.mmap(addr, length, prot, flags, fd, offset);
    if (p != MAP_FAILED && (flags & MAP_ANONYMOUS))
        report(PMT_EV_ALLOC, PMT_ALLOCATOR_MMAP, p, length, NULL);
    return p;
}

EXPORT void *mmap64(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
{
    return mmap(addr, length, prot, flags, fd, offset);
}

EXPORT int munmap(void *addr, size_t length)
{
    resolve();
    report(PMT_EV_FREE, PMT_ALLOCATOR_MMAP, addr, length, NULL);
    return next.munmap(addr, length);
}
