/* Compiler hints the hot paths use, in one place: each is a no-op where the compiler lacks it, so
 * the core stays plain C11 for the ports to come. */
#ifndef PMT_CORE_COMPILER_H
#define PMT_CORE_COMPILER_H

#if defined(__GNUC__)
/* Copied into every caller: a split-out hot function would add a call per event. */
#define PMT__HOT_INLINE inline __attribute__((always_inline))
/* Kept out of line: a rare path that would otherwise bloat its hot caller. */
#define PMT__NOINLINE     __attribute__((noinline))
#define PMT__UNLIKELY(x)  __builtin_expect(!!(x), 0)
#define PMT__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define PMT__HOT_INLINE inline
#define PMT__NOINLINE
#define PMT__UNLIKELY(x) (x)
#define PMT__PRINTF(f, a)
#endif

#endif
