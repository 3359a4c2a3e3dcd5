/* An island outside the limited API: CPython's allocator domains (RAW, MEM, OBJ) through
 * PyMem_GetAllocator/PyMem_SetAllocator, resolved at run time, for allocation tracing
 * (doc/allocations.md).
 *
 * Why: no limited-API function sees an allocation; these two are how tracemalloc and every
 * allocation profiler hook CPython, and their struct, PyMemAllocatorEx, has kept its layout since
 * 3.5. How it stays safe for the one .abi3.so: nothing is linked; the functions are looked up with
 * dlsym() on 3.10 to 3.14 only (the versions whose layout is known), and without them allocation
 * tracing fails with PMT_ENOTSUP while RSS tracing goes on.
 *
 * The hooks wrap the allocator installed before them (tracemalloc's, a debug hook, another
 * tool's): every block goes through it, so no block is ever freed by an allocator that did not
 * make it. They are process-wide and static, so that a hook another tool chained to stays valid
 * forever: at stop it is removed only while it is still the one installed; otherwise it stays as
 * a pass-through and the log says so. Only the calling interpreter's threads, with its GIL held,
 * are recorded: a RAW call without the GIL or from a thread Python does not know is counted
 * (PMT_STAT_ALLOCATIONS_UNTRACED), never recorded, because the pipeline runs under the GIL.
 * Nothing here calls Python: an allocator may run while an exception is set or an object is
 * half made. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "cpython/cpython.h"

/* PyMemAllocatorEx and PyMemAllocatorDomain as CPython 3.5 to 3.14 declare them. */
typedef struct mem_allocator {
    void *ctx;
    void *(*malloc)(void *ctx, size_t size);
    void *(*calloc)(void *ctx, size_t nelem, size_t elsize);
    void *(*realloc)(void *ctx, void *ptr, size_t new_size);
    void (*free)(void *ctx, void *ptr);
} mem_allocator;
enum { DOMAIN_RAW, DOMAIN_MEM, DOMAIN_OBJ, DOMAIN_COUNT };

typedef void (*allocator_fn)(int domain, mem_allocator *allocator);
typedef PyThreadState *(*thread_state_fn)(void);

typedef struct domain_hook {
    int domain;
    pmt_allocator allocator;
    mem_allocator previous; /* what every call goes on to */
    int installed;          /* ours is in the domain's chain (perhaps under another tool's) */
} domain_hook;

static domain_hook hooks[DOMAIN_COUNT] = {
    {DOMAIN_RAW, PMT_ALLOCATOR_RAW, {0}, 0},
    {DOMAIN_MEM, PMT_ALLOCATOR_MEM, {0}, 0},
    {DOMAIN_OBJ, PMT_ALLOCATOR_OBJ, {0}, 0},
};

static allocator_fn get_allocator, set_allocator;
static thread_state_fn current_thread_state; /* this thread's attached state, or NULL */
static int looked_up;
static long gil_is_global; /* 3.10, 3.11: the current state is the process's, not the thread's */

/* The state whose tracer records allocations: written with the GIL held, read by hooks that
 * hold it. */
static pmt__cpy_state *traced;
static uint64_t untraced_without_gil; /* RAW calls we could not record: atomic */

/* Which domains' calls run on this thread (a bit per domain): the RAW calls CPython makes to
 * serve a MEM or OBJ call (pymalloc passes blocks above 512 bytes to the RAW domain) are the same
 * block, recorded once as the domain the program asked; the libc and mmap calls any domain makes
 * are not native allocations of the program's (native_source.c). */
_Thread_local int pmt__in_python_allocator __attribute__((tls_model("initial-exec")));
enum { IN_RAW = 1, IN_MEM_OR_OBJ = 2 };

/* Does the calling thread hold the GIL of the traced interpreter? */
static inline int may_record(const pmt__cpy_state *st)
{
    PyThreadState *ts = current_thread_state();
    if (!ts)
        return 0;
    if (gil_is_global && ts != PyGILState_GetThisThreadState())
        return 0; /* another thread's state is current: this one runs without the GIL */
    return PyThreadState_GetInterpreter(ts) == st->interpreter;
}

static void report(const domain_hook *h, pmt_event_kind kind, void *address, size_t size,
                   void *old_address)
{
    pmt__allocations_report(h->allocator, kind, address, size, old_address);
}

void pmt__allocations_report(pmt_allocator allocator, pmt_event_kind kind, void *address,
                             size_t size, void *old_address)
{
    pmt__cpy_state *st = __atomic_load_n(&traced, __ATOMIC_RELAXED);
    if (!st || (allocator == PMT_ALLOCATOR_RAW && (pmt__in_python_allocator & IN_MEM_OR_OBJ)))
        return;
    /* MEM and OBJ calls hold a GIL; a thread that had an event of this run holds this
     * interpreter's (hooks only fire there): one load of our own TLS, not CPython's. */
    if ((allocator == PMT_ALLOCATOR_RAW || !pmt__thread_in_run(st)) && !may_record(st)) {
        __atomic_add_fetch(&untraced_without_gil, 1, __ATOMIC_RELAXED);
        return;
    }
    if (!st->running || !pmt__tracer_traces_allocator(st->tracer, allocator) ||
        (!st->all_threads && PyThread_get_thread_ident() != st->thread))
        return;
    pmt__allocation a = {kind, allocator, (uint64_t)(uintptr_t)address, size,
                         (uint64_t)(uintptr_t)old_address};
    pmt__allocation_here(st, &a);
}

static inline int enter_domain(const domain_hook *h)
{
    int outer = pmt__in_python_allocator;
    pmt__in_python_allocator = outer | (h->domain == DOMAIN_RAW ? IN_RAW : IN_MEM_OR_OBJ);
    return outer;
}

static inline void leave_domain(int outer)
{
    pmt__in_python_allocator = outer;
}

static void *hook_malloc(void *ctx, size_t size)
{
    domain_hook *h = ctx;
    int outer = enter_domain(h);
    void *p = h->previous.malloc(h->previous.ctx, size);
    leave_domain(outer);
    if (p)
        report(h, PMT_EV_ALLOC, p, size, NULL);
    return p;
}

static void *hook_calloc(void *ctx, size_t nelem, size_t elsize)
{
    domain_hook *h = ctx;
    int outer = enter_domain(h);
    void *p = h->previous.calloc(h->previous.ctx, nelem, elsize);
    leave_domain(outer);
    if (p) /* the allocator checked that the product does not overflow */
        report(h, PMT_EV_ALLOC, p, nelem * elsize, NULL);
    return p;
}

static void *hook_realloc(void *ctx, void *ptr, size_t size)
{
    domain_hook *h = ctx;
    int outer = enter_domain(h);
    void *p = h->previous.realloc(h->previous.ctx, ptr, size);
    leave_domain(outer);
    if (p)
        report(h, ptr ? PMT_EV_REALLOC : PMT_EV_ALLOC, p, size, ptr);
    return p;
}

static void hook_free(void *ctx, void *ptr)
{
    domain_hook *h = ctx;
    report(h, PMT_EV_FREE, ptr, 0, NULL); /* first: once freed, the address is reusable */
    int outer = enter_domain(h);
    h->previous.free(h->previous.ctx, ptr);
    leave_domain(outer);
}

static int look_up(long hexversion)
{
    const char *choice = getenv("PYMEMTRACE_ALLOCATOR_HOOKS"); /* "off": as if not found */
    if (choice && strcmp(choice, "off") == 0)
        return 0;
    if (looked_up)
        return get_allocator && set_allocator && current_thread_state;
    looked_up = 1;
    if (hexversion < 0x030A0000 || hexversion >= 0x030F0000)
        return 0;
    get_allocator = (allocator_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "PyMem_GetAllocator");
    set_allocator = (allocator_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "PyMem_SetAllocator");
    current_thread_state =
        (thread_state_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "PyThreadState_GetUnchecked"); /* 3.13 */
    if (!current_thread_state)
        current_thread_state =
            (thread_state_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "_PyThreadState_UncheckedGet");
    gil_is_global = hexversion < 0x030C0000;
    return get_allocator && set_allocator && current_thread_state;
}

int pmt__allocators_attach(pmt__cpy_state *st)
{
    pmt_tracer *t = st->tracer;
    /* Native tracing needs the hooks too: they tell the Python allocator's own libc calls. */
    if (!(t->allocators & (PMT_ALLOCATORS_PYTHON | PMT_ALLOCATORS_NATIVE)))
        return PMT_OK;
    if (!look_up(st->hexversion))
        return pmt__fail(PMT_ENOTSUP,
                         "this Python (%lx) does not give its allocator hooks "
                         "(PyMem_GetAllocator, PyMem_SetAllocator and the thread state "
                         "functions were not found): allocations cannot be traced",
                         st->hexversion);
    if (traced && traced != st)
        return pmt__fail(PMT_EBUSY, "another tracer traces allocations in this process: stop it "
                                    "first (one at a time: the allocator hooks are process-wide)");
    st->interpreter = PyInterpreterState_Get();
    for (int d = 0; d < DOMAIN_COUNT; d++) {
        domain_hook *h = &hooks[d];
        if (h->installed)
            continue; /* still in the chain from a run whose hook another tool kept */
        mem_allocator ours = {h, hook_malloc, hook_calloc, hook_realloc, hook_free};
        get_allocator(h->domain, &h->previous);
        set_allocator(h->domain, &ours);
        h->installed = 1;
    }
    __atomic_store_n(&traced, st, __ATOMIC_RELAXED);
    return PMT_OK;
}

void pmt__allocators_detach(pmt__cpy_state *st)
{
    if (traced != st)
        return;
    __atomic_store_n(&traced, NULL, __ATOMIC_RELAXED);
    st->tracer->allocations_untraced +=
        __atomic_exchange_n(&untraced_without_gil, 0, __ATOMIC_RELAXED);
    const char *kept = NULL;
    for (int d = 0; d < DOMAIN_COUNT; d++) {
        domain_hook *h = &hooks[d];
        if (!h->installed)
            continue;
        mem_allocator now;
        get_allocator(h->domain, &now);
        if (now.malloc == hook_malloc && now.ctx == h) {
            set_allocator(h->domain, &h->previous);
            h->installed = 0;
        } else {
            kept = "another tool replaced CPython's allocator while allocations were traced: "
                   "pymemtrace's hook stays in its chain, passing every call through";
        }
    }
    if (kept)
        pmt__tracer_note(st->tracer, kept);
}
