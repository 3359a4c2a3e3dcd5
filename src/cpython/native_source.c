/* Native allocations (libc's malloc family, anonymous mmap) as an event source, two ways:
 * - the interposer (include/pymemtrace/native.h), a library of its own loaded with LD_PRELOAD
 *   before the program starts, found at start with dlsym: it sees every call;
 * - without it, in a process that is already running, the loaded objects' import slots are
 *   rewritten to the replacements below (platform/got.h): calls from extension modules and
 *   libraries loaded so far, and from those loaded later through dlopen (patched then too), but
 *   not calls inside libc itself (its internal allocations) nor through pointers taken before.
 * Calls that CPython's own allocator domains make are theirs, not the program's native
 * allocations (pmt__in_python_allocator), and those from threads that do not hold the traced
 * interpreter's GIL are counted, not recorded. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include <pymemtrace/native.h>

#include "common/error.h"
#include "cpython/cpython.h"
#include "platform/got.h"

typedef pmt_native_hook (*set_hook_fn)(pmt_native_hook hook);

static set_hook_fn set_hook;
static int patched; /* the import slots are ours */
static _Thread_local int in_hook __attribute__((tls_model("initial-exec")));

static void native_hook(int kind, int allocator, void *address, size_t size, void *old_address)
{
    if (pmt__in_python_allocator)
        return;
    pmt__allocations_report((pmt_allocator)allocator, (pmt_event_kind)kind, address, size,
                            old_address);
}

/* --- the replacements of the import slots ----------------------------------------------- */

static struct {
    void *(*malloc)(size_t);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    void (*free)(void *);
    int (*posix_memalign)(void **, size_t, size_t);
    void *(*aligned_alloc)(size_t, size_t);
    void *(*mmap)(void *, size_t, int, int, int, off_t);
    int (*munmap)(void *, size_t);
    void *(*dlopen)(const char *, int);
} real;

static inline void note(int kind, int allocator, void *address, size_t size, void *old)
{
    if (in_hook || !patched)
        return;
    in_hook = 1;
    native_hook(kind, allocator, address, size, old);
    in_hook = 0;
}

static void *got_malloc(size_t size)
{
    void *p = real.malloc(size);
    if (p)
        note(PMT_EV_ALLOC, PMT_ALLOCATOR_NATIVE, p, size, NULL);
    return p;
}

static void *got_calloc(size_t nelem, size_t elsize)
{
    void *p = real.calloc(nelem, elsize);
    if (p)
        note(PMT_EV_ALLOC, PMT_ALLOCATOR_NATIVE, p, nelem * elsize, NULL);
    return p;
}

static void *got_realloc(void *old, size_t size)
{
    void *p = real.realloc(old, size);
    if (p)
        note(old ? PMT_EV_REALLOC : PMT_EV_ALLOC, PMT_ALLOCATOR_NATIVE, p, size, old);
    else if (old && size == 0)
        note(PMT_EV_FREE, PMT_ALLOCATOR_NATIVE, old, 0, NULL);
    return p;
}

static void got_free(void *p)
{
    if (p)
        note(PMT_EV_FREE, PMT_ALLOCATOR_NATIVE, p, 0, NULL);
    real.free(p);
}

static int got_posix_memalign(void **out, size_t alignment, size_t size)
{
    int rc = real.posix_memalign(out, alignment, size);
    if (rc == 0)
        note(PMT_EV_ALLOC, PMT_ALLOCATOR_NATIVE, *out, size, NULL);
    return rc;
}

static void *got_aligned_alloc(size_t alignment, size_t size)
{
    void *p = real.aligned_alloc(alignment, size);
    if (p)
        note(PMT_EV_ALLOC, PMT_ALLOCATOR_NATIVE, p, size, NULL);
    return p;
}

static void *got_mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
{
    void *p = real.mmap(addr, length, prot, flags, fd, offset);
    if (p != MAP_FAILED && (flags & MAP_ANONYMOUS))
        note(PMT_EV_ALLOC, PMT_ALLOCATOR_MMAP, p, length, NULL);
    return p;
}

static int got_munmap(void *addr, size_t length)
{
    note(PMT_EV_FREE, PMT_ALLOCATOR_MMAP, addr, length, NULL);
    return real.munmap(addr, length);
}

static int patch_all(void);

/* A library loaded while traced has its slots rewritten too. */
static void *got_dlopen(const char *path, int flags)
{
    void *handle = real.dlopen(path, flags);
    if (handle && patched)
        patch_all();
    return handle;
}

static int patch_all(void)
{
    const pmt__got_hook hooks[] = {
        {"malloc", (void *)(uintptr_t)got_malloc, NULL},
        {"calloc", (void *)(uintptr_t)got_calloc, NULL},
        {"realloc", (void *)(uintptr_t)got_realloc, NULL},
        {"free", (void *)(uintptr_t)got_free, NULL},
        {"posix_memalign", (void *)(uintptr_t)got_posix_memalign, NULL},
        {"aligned_alloc", (void *)(uintptr_t)got_aligned_alloc, NULL},
        {"mmap", (void *)(uintptr_t)got_mmap, NULL},
        {"mmap64", (void *)(uintptr_t)got_mmap, NULL},
        {"munmap", (void *)(uintptr_t)got_munmap, NULL},
        {"dlopen", (void *)(uintptr_t)got_dlopen, NULL},
    };
    /* Our own object too: pymemtrace.testing's blocks are the program's; the tracer's own
     * allocations happen while it is at work, which every recording path checks. */
    return pmt__got_patch(hooks, sizeof hooks / sizeof *hooks, NULL);
}

/* Is f inside the main program (the first object)? A non-PIE program that takes malloc's
 * address defines "malloc" itself as its PLT entry (a canonical PLT), which jumps through a slot
 * rewritten here. */
static int in_main(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    uintptr_t *f = data;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t start = (uintptr_t)info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && *f >= start && *f < start + ph->p_memsz)
            *f = 0;
    }
    return 1; /* the first object is the program */
}

/* A function as the program's calls reach it (libc's, or an allocator the program preloaded),
 * never a PLT entry of the program (that would come back here). */
static void *find_function(const char *name, const void *ours)
{
    void *f = dlsym(RTLD_DEFAULT, name);
    uintptr_t where = (uintptr_t)f;
    if (f && (dl_iterate_phdr(in_main, &where), where == 0))
        f = dlsym(RTLD_NEXT, name); /* the definition after this library: libc's */
    return f == ours ? NULL : f;
}

static int find_real(void)
{
#define FIND(name)                                                                                 \
    (*(void **)&real.name = find_function(#name, (void *)(uintptr_t)got_##name)) != NULL
    return FIND(malloc) && FIND(calloc) && FIND(realloc) && FIND(free) && FIND(posix_memalign) &&
           FIND(aligned_alloc) && FIND(mmap) && FIND(munmap) && FIND(dlopen);
#undef FIND
}

int pmt__native_attach(pmt__cpy_state *st)
{
    (void)st;
    if (!set_hook)
        set_hook = (set_hook_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "pmt_native_set_hook");
    if (set_hook) {
        set_hook(native_hook);
        return PMT_OK;
    }
    if (!find_real())
        return pmt__fail(PMT_ENOTSUP, "native allocations: libc's allocator was not found");
    patched = 1;
    if (patch_all() < 0) {
        patched = 0;
        pmt__got_restore();
        return pmt__fail(PMT_ENOTSUP,
                         "native allocations: this process's imports cannot be rewritten (%s); "
                         "run the program with `python -m pymemtrace run --native`, which "
                         "preloads the interposer (doc/allocations.md)",
                         pmt_last_error_message());
    }
    return PMT_OK;
}

void pmt__native_detach(void)
{
    if (set_hook)
        set_hook(NULL);
    if (patched) {
        patched = 0;
        pmt__got_restore();
    }
}
