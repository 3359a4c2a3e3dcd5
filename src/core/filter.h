/* The filter stages that need more than a compare: the code stage (file and function globs) and
 * the summary of every stage for log headers. The pipeline (pipeline.c) runs the stages in the
 * order tracer.h documents. */
#ifndef PMT_CORE_FILTER_H
#define PMT_CORE_FILTER_H

#include <stddef.h>
#include <stdint.h>

#include <pymemtrace/tracer.h>

/* One remembered answer of the code stage for a (file, function) pair of interned pointers, in
 * 16 bytes so that a cache line holds four: the answer rides in the low bit of the function
 * pointer shifted left. The shift drops bit 63, which two distinct live strings never differ by
 * alone (it is 0 in user-space addresses, or a tag bit above a unique address). */
typedef struct pmt__verdict {
    uintptr_t file;
    uint64_t function_keep; /* function << 1 | keep; both 0: an empty slot */
} pmt__verdict;

/* The globs of pmt_tracer_add_code_filter() and a cache of their answers. Names are interned
 * (they live as long as the tracer), so a pointer pair always gets the same answer: a glob runs
 * once per pair, and every later event with that pair costs one hash probe. */
typedef struct pmt__code_filter {
    /* by pmt_code_filter - 1; owned copies (5, 6: the user-code rules; 7, 8: object types) */
    char **globs[8];
    size_t counts[8];
    int active; /* at least one glob of the code stage (kinds 1-4) */
    pmt__verdict *verdicts;
    size_t capacity, count; /* capacity is 0 or a power of two */
    unsigned shift;         /* 64 - log2(capacity): the hash's top bits pick the slot */
} pmt__code_filter;

/* Bits of pmt__code_filter_axes(): which axes of an event pass. */
enum { PMT__CODE_FILE_OK = 1, PMT__CODE_FUNCTION_OK = 2, PMT__CODE_OK = 3 };

void pmt__code_filter_free(pmt__code_filter *f);
/* Adds a glob (copied); PMT_OK, PMT_EINVAL (kind or glob), PMT_ENOMEM. */
int pmt__code_filter_add(pmt__code_filter *f, int kind, const char *glob);
/* Runs the globs (slow: no cache): PMT__CODE_FILE_OK and/or PMT__CODE_FUNCTION_OK. A NULL name
 * is matched as "". */
int pmt__code_filter_axes(const pmt__code_filter *f, const char *file, const char *function);
/* The cache miss of pmt__code_filter_passes(): runs the globs and remembers the answer (when
 * memory allows; without it the answer is still right, only slower next time). */
int pmt__code_filter_miss(pmt__code_filter *f, const char *file, const char *function);

/* Is file the user's code? A PMT_FILTER_USER_FILE glob says yes, else a
 * PMT_FILTER_NOT_USER_FILE glob says no, else default_user. Slow (runs globs): once per code. */
int pmt__code_filter_user(const pmt__code_filter *f, const char *file, int default_user);

/* Are objects of the type called name counted? The PMT_FILTER_INCLUDE_TYPE and
 * PMT_FILTER_EXCLUDE_TYPE globs decide (an exclude wins; no include glob: every type). Slow:
 * once per type. */
int pmt__code_filter_type(const pmt__code_filter *f, const char *name);

/* Does fnmatch(3)-style `glob` (no flags) match the whole of `text`? `*` matches any run of
 * characters, `/` included; `?` one UTF-8 character; `[a-z]`, `[!x]` / `[^x]` a set; `\`
 * quotes the next character; an unclosed `[` is a literal. */
int pmt__glob_match(const char *glob, const char *text);

/* function_key: the function pointer shifted left by one, as stored. */
static inline size_t pmt__verdict_slot(const pmt__code_filter *f, uintptr_t file,
                                       uint64_t function_key)
{
    uint64_t h = (uint64_t)file * UINT64_C(0x9E3779B97F4A7C15);
    h ^= function_key * UINT64_C(0xC2B2AE3D27D4EB4F);
    return (size_t)(h >> f->shift);
}

/* The code stage: 1 when an event at file/function passes. */
static inline int pmt__code_filter_passes(pmt__code_filter *f, const char *file,
                                          const char *function)
{
    if (f->capacity) {
        size_t mask = f->capacity - 1;
        uint64_t key = (uint64_t)(uintptr_t)function << 1;
        for (size_t i = pmt__verdict_slot(f, (uintptr_t)file, key);; i = (i + 1) & mask) {
            const pmt__verdict *v = &f->verdicts[i];
            /* One test for both pointers: a wrong slot costs one mispredicted branch, not two. */
            if ((((uint64_t)(v->file ^ (uintptr_t)file)) | ((v->function_keep ^ key) >> 1)) == 0) {
                if (file || function)
                    return (int)(v->function_keep & 1);
                break; /* (NULL, NULL) is the empty slot's key: never cached */
            }
            if (!v->file && !v->function_keep)
                break;
        }
    }
    return pmt__code_filter_miss(f, file, function);
}

/* The filters of a tracer in words, for log headers ("max_depth=5 exclude_file=*.pyc"), in
 * stage order; "" when no stage filters. malloc'd; NULL when out of memory. */
char *pmt__filters_describe(const pmt_tracer *tracer);

#endif
