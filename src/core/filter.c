/* The code stage (file and function globs, with their answers cached per interned name pair)
 * and the filters' summary for log headers. Globs are matched here rather than by fnmatch(3) so
 * that the result does not depend on the locale and `?` takes a whole UTF-8 character. */
#define _GNU_SOURCE /* strdup */
#include "core/filter.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "core/tracer_internal.h"

void pmt__code_filter_free(pmt__code_filter *f)
{
    for (size_t k = 0; k < sizeof f->globs / sizeof *f->globs; k++) {
        for (size_t i = 0; i < f->counts[k]; i++)
            free(f->globs[k][i]);
        free(f->globs[k]);
    }
    free(f->verdicts);
    memset(f, 0, sizeof *f);
}

int pmt__code_filter_add(pmt__code_filter *f, int kind, const char *glob)
{
    if (kind < PMT_FILTER_INCLUDE_FILE || kind > PMT_FILTER_EXCLUDE_TYPE)
        return pmt__fail(PMT_EINVAL, "unknown code filter kind %d", kind);
    if (!glob)
        return pmt__fail(PMT_EINVAL, "a code filter's glob is NULL");
    size_t k = (size_t)kind - 1;
    char **grown = realloc(f->globs[k], (f->counts[k] + 1) * sizeof *grown);
    if (!grown)
        return pmt__fail(PMT_ENOMEM, "out of memory for a code filter");
    f->globs[k] = grown;
    char *copy = strdup(glob);
    if (!copy)
        return pmt__fail(PMT_ENOMEM, "out of memory for a code filter");
    grown[f->counts[k]++] = copy;
    f->active |= kind <= PMT_FILTER_EXCLUDE_FUNCTION;
    return PMT_OK;
}

/* One UTF-8 character at *p, which moves past it. A byte that does not start a well-formed
 * sequence is a character of its own, numbered above Unicode so that it only matches itself. */
static uint32_t next_char(const char **p)
{
    const unsigned char *s = (const unsigned char *)*p;
    uint32_t c = s[0];
    int n = c < 0x80             ? 0
            : (c & 0xE0) == 0xC0 ? 1
            : (c & 0xF0) == 0xE0 ? 2
            : (c & 0xF8) == 0xF0 ? 3
                                 : -1;
    if (n <= 0) {
        *p += 1;
        return n == 0 ? c : 0x110000u + c;
    }
    uint32_t code = c & (0x3Fu >> n);
    for (int i = 1; i <= n; i++) {
        if ((s[i] & 0xC0) != 0x80) { /* also stops at the terminating NUL */
            *p += 1;
            return 0x110000u + c;
        }
        code = (code << 6) | (s[i] & 0x3Fu);
    }
    *p += n + 1;
    return code;
}

/* A set: p is just after its '['. 1 or 0 for whether c is in it, with *end just after its ']';
 * -1 when no ']' closes it (the '[' is then an ordinary character, as fnmatch(3) has it). */
static int match_set(const char *p, uint32_t c, const char **end)
{
    int negate = *p == '!' || *p == '^';
    if (negate)
        p++;
    int matched = 0;
    for (int first = 1; *p && (*p != ']' || first); first = 0) {
        if (*p == '\\' && p[1])
            p++;
        uint32_t lo = next_char(&p), hi = lo;
        if (p[0] == '-' && p[1] && p[1] != ']') {
            p++;
            if (*p == '\\' && p[1])
                p++;
            hi = next_char(&p);
        }
        if (lo <= c && c <= hi)
            matched = 1;
    }
    if (*p != ']')
        return -1;
    *end = p + 1;
    return matched != negate;
}

/* Does the glob character at *p match c? Moves *p past it. */
static int match_one(const char **p, uint32_t c)
{
    const char *g = *p;
    if (*g == '?') {
        *p = g + 1;
        return 1;
    }
    if (*g == '[') {
        const char *end;
        int in = match_set(g + 1, c, &end);
        if (in >= 0) {
            *p = end;
            return in;
        }
        *p = g + 1;
        return c == '[';
    }
    if (*g == '\\' && g[1])
        g++;
    *p = g;
    return next_char(p) == c;
}

int pmt__glob_match(const char *glob, const char *text)
{
    /* One remembered star is enough: a later star can take over everything an earlier one
     * would have had to try, since `*` crosses '/' too. */
    const char *p = glob, *s = text, *star_p = NULL, *star_s = NULL;
    for (;;) {
        if (*p == '*') {
            while (*p == '*')
                p++;
            if (!*p)
                return 1;
            star_p = p;
            star_s = s;
            continue;
        }
        if (*s && *p) {
            const char *np = p, *ns = s;
            if (match_one(&np, next_char(&ns))) {
                p = np;
                s = ns;
                continue;
            }
        } else if (!*s && !*p) {
            return 1;
        }
        if (!star_p || !*star_s)
            return 0;
        next_char(&star_s);
        p = star_p;
        s = star_s;
    }
}

/* An axis passes when it matches one include glob (or there are none) and no exclude glob. */
static int axis_passes(char *const *include, size_t n_include, char *const *exclude,
                       size_t n_exclude, const char *text)
{
    if (n_include) {
        size_t i = 0;
        while (i < n_include && !pmt__glob_match(include[i], text))
            i++;
        if (i == n_include)
            return 0;
    }
    for (size_t i = 0; i < n_exclude; i++)
        if (pmt__glob_match(exclude[i], text))
            return 0;
    return 1;
}

int pmt__code_filter_axes(const pmt__code_filter *f, const char *file, const char *function)
{
    enum { IF = PMT_FILTER_INCLUDE_FILE - 1, EF = PMT_FILTER_EXCLUDE_FILE - 1 };
    enum { IN = PMT_FILTER_INCLUDE_FUNCTION - 1, EN = PMT_FILTER_EXCLUDE_FUNCTION - 1 };
    int axes = 0;
    if (axis_passes(f->globs[IF], f->counts[IF], f->globs[EF], f->counts[EF], file ? file : ""))
        axes |= PMT__CODE_FILE_OK;
    if (axis_passes(f->globs[IN], f->counts[IN], f->globs[EN], f->counts[EN],
                    function ? function : ""))
        axes |= PMT__CODE_FUNCTION_OK;
    return axes;
}

static int any_match(char *const *globs, size_t n, const char *text)
{
    for (size_t i = 0; i < n; i++)
        if (pmt__glob_match(globs[i], text))
            return 1;
    return 0;
}

int pmt__code_filter_user(const pmt__code_filter *f, const char *file, int default_user)
{
    enum { U = PMT_FILTER_USER_FILE - 1, NU = PMT_FILTER_NOT_USER_FILE - 1 };
    file = file ? file : "";
    if (any_match(f->globs[U], f->counts[U], file))
        return 1;
    if (any_match(f->globs[NU], f->counts[NU], file))
        return 0;
    return default_user;
}

int pmt__code_filter_type(const pmt__code_filter *f, const char *name)
{
    enum { IT = PMT_FILTER_INCLUDE_TYPE - 1, ET = PMT_FILTER_EXCLUDE_TYPE - 1 };
    return axis_passes(f->globs[IT], f->counts[IT], f->globs[ET], f->counts[ET], name ? name : "");
}

static int grow_verdicts(pmt__code_filter *f)
{
    size_t capacity = f->capacity ? f->capacity * 2 : 256;
    unsigned bits = 0;
    while (((size_t)1 << bits) < capacity)
        bits++;
    pmt__verdict *verdicts = calloc(capacity, sizeof *verdicts);
    if (!verdicts)
        return -1;
    pmt__code_filter bigger = *f;
    bigger.verdicts = verdicts;
    bigger.capacity = capacity;
    bigger.shift = 64u - bits;
    for (size_t i = 0; i < f->capacity; i++) {
        const pmt__verdict *v = &f->verdicts[i];
        if (!v->file && !v->function_keep)
            continue;
        size_t j = pmt__verdict_slot(&bigger, v->file, v->function_keep & ~UINT64_C(1));
        while (verdicts[j].file || verdicts[j].function_keep)
            j = (j + 1) & (capacity - 1);
        verdicts[j] = *v;
    }
    free(f->verdicts);
    f->verdicts = verdicts;
    f->capacity = capacity;
    f->shift = bigger.shift;
    return 0;
}

int pmt__code_filter_miss(pmt__code_filter *f, const char *file, const char *function)
{
    int keep = pmt__code_filter_axes(f, file, function) == PMT__CODE_OK;
    if (!file && !function) /* the empty slot's key: answered, never kept */
        return keep;
    /* At most a quarter full: nearly every lookup finds its pair in the first slot, so the hot
     * path's branch is predictable (at half full, one in three probes further). */
    if ((f->count + 1) * 4 > f->capacity && grow_verdicts(f) != 0)
        return keep;
    size_t mask = f->capacity - 1;
    uint64_t key = (uint64_t)(uintptr_t)function << 1;
    size_t i = pmt__verdict_slot(f, (uintptr_t)file, key);
    while (f->verdicts[i].file || f->verdicts[i].function_keep)
        i = (i + 1) & mask;
    f->verdicts[i].file = (uintptr_t)file;
    f->verdicts[i].function_keep = key | (uint64_t)keep;
    f->count++;
    return keep;
}

/* --- the summary --------------------------------------------------------------------------- */

typedef struct text {
    char *data;
    size_t len, capacity;
    int failed;
} text;

static void add(text *t, const char *p, size_t n)
{
    if (t->failed)
        return;
    if (t->len + n + 1 > t->capacity) {
        size_t capacity = t->capacity ? t->capacity : 128;
        while (t->len + n + 1 > capacity)
            capacity *= 2;
        char *grown = realloc(t->data, capacity);
        if (!grown) {
            t->failed = 1;
            return;
        }
        t->data = grown;
        t->capacity = capacity;
    }
    memcpy(t->data + t->len, p, n);
    t->len += n;
    t->data[t->len] = '\0';
}

static void add_str(text *t, const char *s)
{
    add(t, s, strlen(s));
}

static void add_key(text *t, const char *key)
{
    if (t->len)
        add(t, " ", 1);
    add_str(t, key);
    add(t, "=", 1);
}

static void add_number(text *t, const char *key, int64_t value)
{
    char digits[24];
    int n = snprintf(digits, sizeof digits, "%" PRId64, value);
    add_key(t, key);
    add(t, digits, (size_t)n);
}

/* A glob as it was given, or in double quotes (with \" \\ \xNN) when it holds a space, a quote,
 * a backslash or a control character, or is empty: the summary stays one line of key=value
 * words however odd a glob is. */
static void add_glob(text *t, const char *key, const char *glob)
{
    add_key(t, key);
    int plain = *glob != '\0';
    for (const unsigned char *p = (const unsigned char *)glob; *p && plain; p++)
        plain = *p > 0x20 && *p != 0x7f && *p != '"' && *p != '\\';
    if (plain) {
        add_str(t, glob);
        return;
    }
    static const char hex[] = "0123456789abcdef";
    add(t, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)glob; *p; p++) {
        if (*p == '"' || *p == '\\') {
            char esc[2] = {'\\', (char)*p};
            add(t, esc, 2);
        } else if (*p < 0x20 || *p == 0x7f) {
            char esc[4] = {'\\', 'x', hex[*p >> 4], hex[*p & 15]};
            add(t, esc, 4);
        } else {
            add(t, (const char *)p, 1);
        }
    }
    add(t, "\"", 1);
}

/* The allocation stages, first (they come first): "allocators=RAW,MEM,OBJ alloc_min_size=64". */
static void add_allocation_stages(text *t, const pmt_tracer *tr)
{
    if (!tr->allocators)
        return;
    add_str(t, "allocators=");
    const char *separator = "";
    for (int a = 1; a < PMT_ALLOCATOR_COUNT; a++) {
        if (pmt__tracer_traces_allocator(tr, (pmt_allocator)a)) {
            add_str(t, separator);
            add_str(t, pmt_allocator_name(a));
            separator = ",";
        }
    }
    if (tr->alloc_min_size > 0)
        add_number(t, "alloc_min_size", tr->alloc_min_size);
    if (tr->alloc_sample_bytes > 0)
        add_number(t, "alloc_sample_bytes", tr->alloc_sample_bytes);
}

/* The object counting's choice: "objects=heap include_type=Node* exclude_type=_*". */
static void add_object_stages(text *t, const pmt_tracer *tr)
{
    static const char *const keys[2] = {"include_type", "exclude_type"};
    if (!tr->objects_mode)
        return;
    add_key(t, "objects");
    add_str(t, tr->objects_mode == 1 ? "heap" : "all");
    for (size_t k = 0; k < 2; k++)
        for (size_t i = 0; i < tr->code_filter.counts[PMT_FILTER_INCLUDE_TYPE - 1 + k]; i++)
            add_glob(t, keys[k], tr->code_filter.globs[PMT_FILTER_INCLUDE_TYPE - 1 + k][i]);
}

char *pmt__filters_describe(const pmt_tracer *tr)
{
    static const char *const glob_keys[4] = {"include_file", "exclude_file", "include_function",
                                             "exclude_function"};
    text t = {0};
    add(&t, "", 0);
    add_allocation_stages(&t, tr);
    add_object_stages(&t, tr);
    for (size_t k = 0; k < 4; k++)
        for (size_t i = 0; i < tr->code_filter.counts[k]; i++)
            add_glob(&t, glob_keys[k], tr->code_filter.globs[k][i]);
    if (tr->max_depth >= 0)
        add_number(&t, "max_depth", tr->max_depth);
    if (tr->time_from_ns > 0)
        add_number(&t, "time_from_ns", tr->time_from_ns);
    if (tr->time_until_ns != INT64_MAX)
        add_number(&t, "time_until_ns", tr->time_until_ns);
    if (tr->sample_every > 1)
        add_number(&t, "sample_every", tr->sample_every);
    if (tr->rss_above > 0)
        add_number(&t, "rss_above", tr->rss_above);
    if (tr->keep)
        add_str(&t, t.len ? " callback" : "callback");
    if (t.failed) {
        free(t.data);
        return NULL;
    }
    return t.data;
}

int pmt__tracer_code_axes(pmt_tracer *tracer, const char *file, const char *function)
{
    return pmt__code_filter_axes(&tracer->code_filter, file, function);
}

int pmt__tracer_user_code(pmt_tracer *tracer, const char *file, int default_user)
{
    return pmt__code_filter_user(&tracer->code_filter, file, default_user);
}

int pmt__tracer_code_selected(pmt_tracer *tracer, const char *file, const char *function)
{
    return pmt__code_filter_axes(&tracer->code_filter, file, function) == PMT__CODE_OK;
}
