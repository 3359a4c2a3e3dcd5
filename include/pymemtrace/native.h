/**
 * @file native.h
 * @brief The native-allocation interposer, `libpymemtrace_native.so` (doc/allocations.md).
 *
 * A small library of its own, separate from libpymemtrace, loaded first with `LD_PRELOAD` (what
 * `python -m pymemtrace run --native` does for the traced process and its children). It defines
 * `malloc`, `calloc`, `realloc`, `reallocarray`, `free`, `posix_memalign`, `aligned_alloc`,
 * `memalign`, `valloc`, `pvalloc`, `mmap` and `munmap`; each calls the next definition (libc's,
 * or another interposer's) and then, when a hook is installed and the calling thread is not
 * already inside it, reports the call. A tracer whose #PMT_PARAM_ALLOCATORS has
 * #PMT_ALLOCATOR_NATIVE or #PMT_ALLOCATOR_MMAP installs its hook at start (found with dlsym), so
 * an embedding application needs no call of its own: it only preloads the library.
 *
 * Without a hook a call costs the real call plus a load and a branch. Allocations made inside
 * the hook (the tracer's own) are never reported.
 */
#ifndef PYMEMTRACE_NATIVE_H
#define PYMEMTRACE_NATIVE_H

#include <stddef.h>

#include <pymemtrace/export.h>

PMT_BEGIN_DECLS

/**
 * @brief What the interposer reports: @p kind is a #pmt_event_kind (#PMT_EV_ALLOC,
 *        #PMT_EV_REALLOC or #PMT_EV_FREE), @p allocator #PMT_ALLOCATOR_NATIVE or
 *        #PMT_ALLOCATOR_MMAP; @p size is 0 for a free; @p old_address is the resized block of a
 *        realloc. Called on the allocating thread, after the allocation (before a free), with
 *        no lock held; the hook must be thread-safe and may allocate (those calls go straight
 *        to libc).
 */
typedef void (*pmt_native_hook)(int kind, int allocator, void *address, size_t size,
                                void *old_address);

/**
 * @brief Install a hook (NULL removes it). Defined by `libpymemtrace_native.so`, not by
 *        libpymemtrace: look it up with `dlsym(RTLD_DEFAULT, "pmt_native_set_hook")`.
 * @param hook The function every allocation call is reported to from now on, or NULL.
 * @return The hook installed before (NULL if none).
 * @par Thread safety: safe; calls already inside the previous hook finish there.
 */
pmt_native_hook pmt_native_set_hook(pmt_native_hook hook);

PMT_END_DECLS

#endif /* PYMEMTRACE_NATIVE_H */
