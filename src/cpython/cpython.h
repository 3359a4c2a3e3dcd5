/* Shared by the files of the CPython event source: the only part of the library that includes
 * Python.h. Everything here uses the limited API (Py_LIMITED_API=0x030A0000), so one build serves
 * every CPython >= 3.10. */
#ifndef PMT_CPYTHON_H
#define PMT_CPYTHON_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "core/filter.h"
#include "core/tracer_internal.h"

/* Where a code object or C function came from, resolved once and kept for the tracer's run. */
typedef struct pmt__code_entry {
    uintptr_t key1, key2;  /* (code, 0), (descriptor, 0) or (C function pointer, type of self) */
    PyObject *ref1, *ref2; /* strong references keeping key1/key2 from being reused */
    const char *file;      /* interned in the tracer */
    const char *function;
    int32_t first_line;
    int ignored; /* the tracer's own code: events only keep the depth right */
    int user;    /* the user's code (user_code.c): not stdlib, site-packages, generated, ours */
    /* The code filter stage's answer per axis (pmt__tracer_code_axes(), PMT__CODE_* bits),
     * asked once: a Python event passes with both bits; a C event with its caller's file bit
     * and its callee's function bit (pmt__tracer_event_selected() takes the answer). */
    int code_axes;
    int32_t *lines; /* 3.12+: line of each code unit (offset / 2), built on first need */
    uint32_t line_count;
    int lines_built;
    int32_t resume_offset; /* 3.12+: offset of the first RESUME (the frame's entry), or -1 */
    pmt__call_memo memo;   /* its last call's node in the call aggregation (core/calls.h) */
} pmt__code_entry;

typedef struct pmt__code_cache {
    pmt__code_entry **slots; /* open addressing, NULL = empty; entries never move */
    size_t capacity, count;
} pmt__code_cache;

enum { PMT__RECENT_CODES = 256, PMT__USER_FILE_CACHE = 64 };

/* The per-tracer state of the CPython source. */
typedef struct pmt__cpy_state {
    pmt_tracer *tracer;
    pmt__code_cache cache;
    /* In front of the cache: the entry last seen in each of a few slots, by code address, so that
     * the hooks' lookup is a load and a compare (entries live for the run). */
    pmt__code_entry *recent[PMT__RECENT_CODES];
    PyObject *hook_self;  /* `self` of every hook function (a pmt__hook_self): points here */
    unsigned long thread; /* PyThread_get_thread_ident() of the thread that attached */
    int all_threads;      /* PMT_THREADS_ALL: every thread of the interpreter */
    uint64_t run;         /* unique per attach: keys the per-thread depths (threads.c) */
    int64_t interpreter_id;
    PyInterpreterState *interpreter; /* set when allocations or objects are traced */
    PyObject *gc_hook;               /* our callable in gc.callbacks (gc_source.c), or NULL */
    uint64_t gc_started_ns;          /* the running collection's start, 0 when none */
    int running;
    int python_hooks; /* the call hooks are attached (not for a tracer that only counts objects) */
    long hexversion;
    const char *runtime; /* "CPython 3.12.1", interned */
    /* 3.12+: sys.monitoring */
    int tool_id;
    int resume_opcode; /* dis.opmap["RESUME"], -1 if unknown */
    PyObject *disable; /* sys.monitoring.DISABLE */
    PyObject *monitor_hooks[11];
    /* 3.10/3.11: sys.setprofile / sys.settrace */
    PyObject *profile_hook, *trace_hook;
    /* What the calling thread had before attach (a debugger's trace function), given back at
     * detach when it is a callable; NULL if nothing or ours. */
    PyObject *saved_profile, *saved_trace;
    PyObject *what[8];      /* interned "call", "exception", ... indexed by legacy_what */
    PyObject *f_lasti;      /* interned "f_lasti" (3.11) */
    char *not_user_dirs[4]; /* the standard library's directories, "/"-terminated (user_code.c) */
    pmt__shadow *shadows;   /* every thread's shadow stack of this state, for freeing */
    int ceval_hooks;        /* installed with PyEval_SetProfile/SetTrace (legacy_ceval.c) */
    struct {
        const char *file; /* interned */
        int user;
    } user_files[PMT__USER_FILE_CACHE]; /* pmt__user_file()'s last answers */
} pmt__cpy_state;

/* The tracer's own work inside a hook (a code object's first sight, a stack walk): allocations it
 * makes are not the program's, so allocation tracing must not record them. begin returns what
 * end restores. */
static inline int pmt__own_work_begin(const pmt__cpy_state *st)
{
    int was = st->tracer->delivering;
    st->tracer->delivering = 1;
    return was;
}

static inline void pmt__own_work_end(const pmt__cpy_state *st, int was)
{
    st->tracer->delivering = was;
}

/* code_cache.c */
void pmt__code_cache_free(pmt__code_cache *cache);
/* Entry for a code object (borrowed reference); NULL only when out of memory. */
pmt__code_entry *pmt__code_entry_lookup(pmt__cpy_state *st, PyObject *code);
/* The same, remembered in st->recent: the slow path of pmt__code_entry_of. */
pmt__code_entry *pmt__code_entry_slow(pmt__cpy_state *st, PyObject *code);

static inline size_t pmt__recent_slot(const PyObject *code)
{
    return ((uintptr_t)code >> 4) * 0x9E3779B1u >> 24 & (PMT__RECENT_CODES - 1);
}

/* Entry for a code object (borrowed reference); NULL only when out of memory. Inline: the
 * hooks' first step at every event. */
static inline pmt__code_entry *pmt__code_entry_of(pmt__cpy_state *st, PyObject *code)
{
    pmt__code_entry *e = st->recent[pmt__recent_slot(code)];
    if (e && e->key1 == (uintptr_t)code && e->key2 == 0)
        return e;
    return pmt__code_entry_slow(st, code);
}
/* Name entry for a C callable; NULL when the callable is not a C function or method. */
pmt__code_entry *pmt__c_function_entry_of(pmt__cpy_state *st, PyObject *callable);
/* Line of the instruction at a byte offset (3.12+ monitoring offsets). */
int32_t pmt__code_line_at(pmt__cpy_state *st, pmt__code_entry *entry, PyObject *code, long offset);
/* dis.opmap["RESUME"], or -1 (3.10 has none). */
int pmt__resume_opcode(void);
/* Is the byte offset at or before the code's first RESUME, i.e. has the frame not yet been
 * reported as entered when an event comes from there? (3.12+) */
int pmt__code_before_entry(pmt__cpy_state *st, pmt__code_entry *entry, PyObject *code, long offset);

/* frames.c */
/* The line of the innermost frame on the calling thread's stack that runs e's code; 0 when
 * none does. */
int32_t pmt__frame_line_of(pmt__cpy_state *st, pmt__code_entry *e);
/* The innermost frame of the user's code (pmt__code_entry.user): its file, function and line;
 * 0 when none is. */
int pmt__frame_user(pmt__cpy_state *st, const char **file, const char **function, int32_t *line);
/* The line a frame of e's code is at: from the code's offset table when the island gives the
 * frame's offset (3.11+), else PyFrame_GetLineNumber. */
int32_t pmt__frame_line(pmt__cpy_state *st, pmt__code_entry *e, PyObject *frame);
/* Number of Python frames on the calling thread's stack. */
int32_t pmt__frame_depth(void);
/* The innermost frame not in the tracer's own code: file, function, line; its code's entry, or
 * NULL when there is none. */
pmt__code_entry *pmt__frame_locate(pmt__cpy_state *st, const char **file, const char **function,
                                   int32_t *line);

/* frames_direct.c: the island outside the limited API for frame walks, resolved at run time.
 * pmt__frames_direct says whether PyFrame_GetBack was found (then the other two may be used). */
int pmt__frames_direct(long hexversion);
/* New reference to the frame's caller frame, or NULL. */
PyObject *pmt__frame_back_direct(PyObject *frame);
/* The frame's instruction byte offset (3.11+), or -1 when this version has no such function. */
long pmt__frame_offset_direct(PyObject *frame);

/* legacy_ceval.c: the island outside the limited API (3.10, 3.11), resolved at run time. A C
 * function as CPython's Py_tracefunc calls it: (obj, frame, PyTrace_* what, arg). */
typedef int (*pmt__tracefunc)(PyObject *obj, PyObject *frame, int what, PyObject *arg);
/* 1 when PyEval_SetProfile/PyEval_SetTrace can be used on this version (and are not turned off
 * with PYMEMTRACE_LEGACY_HOOKS=sys); 0 means sys.setprofile/settrace. */
int pmt__ceval_hooks_available(long hexversion);
/* Install func with obj as the calling thread's profile or trace function. */
void pmt__ceval_set_profile(pmt__tracefunc func, PyObject *obj);
void pmt__ceval_set_trace(pmt__tracefunc func, PyObject *obj);

/* monitoring.c (3.12+) and legacy.c (3.10, 3.11) */
int pmt__monitoring_attach(pmt__cpy_state *st);
int pmt__monitoring_detach(pmt__cpy_state *st);
int pmt__legacy_attach(pmt__cpy_state *st);
int pmt__legacy_detach(pmt__cpy_state *st);
void pmt__legacy_release(pmt__cpy_state *st);

/* The code filter stage's answer for a Python event of this code, and for a C event (the caller's
 * file, the callee's name): asked once per entry, passed to pmt__tracer_event_selected. */
static inline int pmt__entry_selected(const pmt__code_entry *e)
{
    return e->code_axes == PMT__CODE_OK;
}

static inline int pmt__c_event_selected(const pmt__code_entry *caller,
                                        const pmt__code_entry *callee)
{
    return (caller->code_axes & PMT__CODE_FILE_OK) && (callee->code_axes & PMT__CODE_FUNCTION_OK);
}

/* The `self` of every hook function: an object of a tiny type of the source's own whose one field
 * points at the state, so that a hook reaches it with one load (a capsule costs a call and its
 * checks, ~19 instructions, at every event). The field points at a retired state, never
 * running, once the tracer is gone: a hook object can outlive its tracer. */
typedef struct pmt__hook_self {
    PyObject_HEAD pmt__cpy_state *state;
} pmt__hook_self;

/* The state behind a hook's `self`. */
static inline pmt__cpy_state *pmt__state_of(PyObject *self)
{
    return ((pmt__hook_self *)self)->state;
}

/* Is this event for a traced thread while tracing? */
static inline int pmt__state_active(const pmt__cpy_state *st)
{
    return st && st->running && (st->all_threads || PyThread_get_thread_ident() == st->thread);
}

/* threads.c: each thread's stack depth, per tracer run, in thread-local slots (a few tracers
 * can run at once on one thread: a Profile and a Trace, or one per sub-interpreter). */
enum { PMT__OWN_FRAMES = 6 };

typedef struct pmt__thread_depth {
    uint64_t run; /* pmt__cpy_state.run this depth belongs to; 0 = free */
    int32_t depth;
    /* Where the thread runs, as its last event said: what its allocations are charged to
     * (allocation_site.c). at_line: the line of the last call the frame made, else its first. */
    int32_t at_line;
    /* The depths of the frames of the tracer's own code the thread is in (the innermost last):
     * an allocation made while the innermost frame is one of them is not the program's; the
     * user's code an own frame calls (a decorator's function) is. */
    int32_t own_count;
    int32_t own_at[PMT__OWN_FRAMES];
    pmt__code_entry *at;
    pmt__shadow *shadow; /* the calls this thread entered in the run (core/calls.h), or NULL */
} pmt__thread_depth;

#define PMT__THREAD_DEPTH_SLOTS 4
#if defined(__GNUC__)
/* Read at every event: initial-exec TLS costs one load, where a shared object's default model
 * calls __tls_get_addr. */
extern _Thread_local pmt__thread_depth pmt__thread_depths[PMT__THREAD_DEPTH_SLOTS]
    __attribute__((tls_model("initial-exec")));
#else
extern _Thread_local pmt__thread_depth pmt__thread_depths[PMT__THREAD_DEPTH_SLOTS];
#endif

/* A fresh run id for an attach. */
uint64_t pmt__thread_new_run(void);
/* Slow path of pmt__depth_here: the thread's first event of this run counts its frames (the
 * frame being entered, if entering, is not counted yet). */
int32_t *pmt__thread_depth_sync(const pmt__cpy_state *st, int entering);

/* Has the calling thread had an event of this run (its most recent slot is the run's)? */
static inline int pmt__thread_in_run(const pmt__cpy_state *st)
{
    return pmt__thread_depths[0].run == st->run;
}

/* The calling thread's depth counter for this run. */
static inline int32_t *pmt__depth_here(const pmt__cpy_state *st, int entering)
{
    if (pmt__thread_depths[0].run == st->run)
        return &pmt__thread_depths[0].depth;
    return pmt__thread_depth_sync(st, entering);
}

/* The calling thread's shadow stack for this run (after pmt__depth_here made its slot the
 * first), made on first need; NULL when out of memory. */
pmt__shadow *pmt__thread_shadow_new(pmt__cpy_state *st);
static inline pmt__shadow *pmt__shadow_here(pmt__cpy_state *st)
{
    pmt__shadow *shadow = pmt__thread_depths[0].shadow;
    return shadow ? shadow : pmt__thread_shadow_new(st);
}
void pmt__thread_shadows_free(pmt__cpy_state *st);

/* user_code.c: is file the user's code by default (not the standard library, site- or
 * dist-packages, frozen or generated "<...>" code)? The tracer's globs may say otherwise. */
int pmt__user_code_default(const pmt__cpy_state *st, const char *file);
/* Learns the standard library's directories (at attach; GIL held). */
void pmt__user_code_init(pmt__cpy_state *st);
void pmt__user_code_free(pmt__cpy_state *st);
/* Is file the tracer's own code (its wrapper package): never reported, never the user's? */
int pmt__own_file(const pmt__cpy_state *st, const char *file);
/* Is file (interned) the user's code: not the tracer's own, and by the globs or the default
 * rules? Remembered per file: cheap after the first ask. */
int pmt__user_file(pmt__cpy_state *st, const char *file);

/* user_site.c: the source's site op (core/source.h). */
void pmt__user_site(pmt__cpy_state *st, pmt_event *ev, const pmt__shadow *shadow, size_t depth,
                    int now, int want_path);
/* The calling thread's shadow stack for st's run, or NULL (any slot, not only the first). */
pmt__shadow *pmt__thread_shadow_of(const pmt__cpy_state *st);

/* allocators.c: the island of CPython's allocator domains. attach installs the hooks when the
 * tracer's PMT_PARAM_ALLOCATORS has a Python domain (PMT_ENOTSUP, PMT_EBUSY); detach removes
 * them, or leaves them passing through when another tool chained to them. */
int pmt__allocators_attach(pmt__cpy_state *st);
void pmt__allocators_detach(pmt__cpy_state *st);
/* An allocator call of any source: recorded when the calling thread holds the traced
 * interpreter's GIL and the tracer is not at work, else counted as untraced. */
void pmt__allocations_report(pmt_allocator allocator, pmt_event_kind kind, void *address,
                             size_t size, void *old_address);
/* Non-zero while one of CPython's allocator domains runs on this thread. */
extern _Thread_local int pmt__in_python_allocator __attribute__((tls_model("initial-exec")));

/* native_source.c: libc and mmap allocations through the interposer (include/pymemtrace/
 * native.h), installed by pmt__allocators_attach when the tracer asks for them: PMT_ENOTSUP
 * when the interposer is not loaded. */
int pmt__native_attach(pmt__cpy_state *st);
void pmt__native_detach(void);

/* gc_source.c: GC_START/GC_DONE from gc.callbacks, when the event mask has them. */
int pmt__gc_attach(pmt__cpy_state *st);
void pmt__gc_detach(pmt__cpy_state *st);
void pmt__gc_release(pmt__cpy_state *st);

/* Where the calling thread runs, as its last event left it (allocation_site.c). */
typedef struct pmt__place {
    const char *file, *function;
    int32_t line, depth;
} pmt__place;

/* Fills out with the calling thread's place ("" and 0 when it had no event in this run yet);
 * 0 when the innermost frame is the tracer's own code (nothing to charge to the program). */
int pmt__thread_place(const pmt__cpy_state *st, pmt__place *out);

/* objects.c, the fourth island: object lifetimes through CPython 3.13's reference tracer
 * (PyRefTracer_SetTracer, resolved at run time), when PMT_PARAM_OBJECTS asks. PMT_ENOTSUP on
 * 3.10-3.12 or when the functions are missing; PMT_EBUSY while another tracer counts objects. */
int pmt__objects_attach(pmt__cpy_state *st);
void pmt__objects_detach(pmt__cpy_state *st);

/* allocation_site.c: an allocator call of the calling thread (GIL held, not the tracer's own
 * work), charged to where the thread runs as its last event said; never calls Python. */
void pmt__allocation_here(pmt__cpy_state *st, const pmt__allocation *a);

/* A frame of the tracer's own code entered (at depth) or left, on the calling thread: kept only
 * while allocations are traced (allocation_site.c), as is the rest of a thread's place. */
static inline void pmt__own_enter(const pmt__cpy_state *st, int32_t depth)
{
    pmt__thread_depth *here = &pmt__thread_depths[0];
    if (!pmt__tracer_tracks_places(st->tracer))
        return;
    if (here->own_count < PMT__OWN_FRAMES)
        here->own_at[here->own_count] = depth;
    here->own_count++;
}

static inline void pmt__own_leave(const pmt__cpy_state *st)
{
    if (pmt__tracer_tracks_places(st->tracer) && pmt__thread_depths[0].own_count > 0)
        pmt__thread_depths[0].own_count--;
}

/* Is the innermost frame of the thread of this slot, at depth, one of the tracer's own? */
static inline int pmt__own_innermost(const pmt__thread_depth *slot)
{
    int32_t n = slot->own_count;
    return n > 0 && (n > PMT__OWN_FRAMES || slot->own_at[n - 1] == slot->depth);
}

/* Where the thread runs now (after pmt__depth_here made its slot the first): e at line. */
static inline void pmt__here(pmt__code_entry *e, int32_t line)
{
    pmt__thread_depths[0].at = e;
    pmt__thread_depths[0].at_line = line;
}

/* The same, kept only while allocations are traced (a line event, a C call). */
static inline void pmt__place_line(const pmt__cpy_state *st, pmt__code_entry *e, int32_t line)
{
    if (pmt__tracer_tracks_places(st->tracer))
        pmt__here(e, line);
}

/* A call moves the thread into e at its first line; the call's shadow frame, when the call
 * aggregation entered one (entered), keeps where the caller was, for its return. Only while
 * allocations are traced. After pmt__charge_enter. */
static inline void pmt__place_call(const pmt__cpy_state *st, pmt__code_entry *e, int entered)
{
    if (!pmt__tracer_tracks_places(st->tracer))
        return;
    pmt__thread_depth *here = &pmt__thread_depths[0];
    if (entered) {
        pmt__shadow_frame *f = &here->shadow->frames[here->shadow->depth - 1];
        f->back = here->at;
        f->back_line = here->at_line;
    }
    pmt__here(e, e->first_line);
    st->tracer->calls.changes++;
}

/* A call of e and the return of the innermost one, for the call aggregation (after the event
 * went through the pipeline, whose RSS they use). */
/* Returns whether the call aggregation entered the call (a frame was pushed). */
static inline int pmt__charge_enter(pmt__cpy_state *st, pmt__code_entry *e)
{
    if (st->tracer->delivering || !st->tracer->calls_mode)
        return 0; /* a sink's own calls (a Python callback) are not the program's */
    pmt__shadow *shadow = pmt__shadow_here(st);
    if (!shadow)
        return 0;
    size_t depth = shadow->depth;
    pmt__calls_enter(&st->tracer->calls, shadow, e, &e->memo, e->file, e->function, e->first_line,
                     e->user ? PMT_CALL_USER_CODE : 0, st->tracer->last_rss);
    return shadow->depth > depth;
}

static inline void pmt__charge_leave(pmt__cpy_state *st)
{
    pmt__shadow *shadow = pmt__thread_depths[0].shadow;
    if (!shadow || st->tracer->delivering || !st->tracer->calls_mode)
        return;
    if (pmt__tracer_tracks_places(st->tracer)) {
        st->tracer->calls.changes++;
        if (shadow->depth) { /* the caller runs again where it called */
            pmt__shadow_frame *f = &shadow->frames[shadow->depth - 1];
            pmt__here((pmt__code_entry *)f->back, f->back_line);
        }
    }
    pmt__calls_leave(&st->tracer->calls, shadow, st->tracer->last_rss);
}

#endif
