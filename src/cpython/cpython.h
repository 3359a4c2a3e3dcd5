/* Shared by the files of the CPython event source: the only part of the library that includes
 * Python.h. Everything here uses the limited API (Py_LIMITED_API=0x030A0000), so one build serves
 * every CPython >= 3.10. */
#ifndef PMT_CPYTHON_H
#define PMT_CPYTHON_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "../core/tracer_internal.h"

/* Where a code object or C function came from, resolved once and kept for the tracer's run. */
typedef struct pmt__code_entry {
    uintptr_t key1, key2;  /* (code, 0), (descriptor, 0) or (C function pointer, type of self) */
    PyObject *ref1, *ref2; /* strong references keeping key1/key2 from being reused */
    const char *file;      /* interned in the tracer */
    const char *function;
    int32_t first_line;
    int ignored;    /* the tracer's own code: events only keep the depth right */
    int32_t *lines; /* 3.12+: line of each code unit (offset / 2), built on first need */
    uint32_t line_count;
    int lines_built;
} pmt__code_entry;

typedef struct pmt__code_cache {
    pmt__code_entry **slots; /* open addressing, NULL = empty; entries never move */
    size_t capacity, count;
} pmt__code_cache;

/* The per-tracer state of the CPython source. */
typedef struct pmt__cpy_state {
    pmt_tracer *tracer;
    pmt__code_cache cache;
    PyObject *self_capsule; /* `self` of every hook function: points back here */
    unsigned long thread;   /* PyThread_get_thread_ident() of the traced thread */
    int32_t depth;
    int running;
    long hexversion;
    const char *runtime; /* "CPython 3.12.1", interned */
    /* 3.12+: sys.monitoring */
    int tool_id;
    PyObject *monitor_hooks[11];
    /* 3.10/3.11: sys.setprofile / sys.settrace */
    PyObject *profile_hook, *trace_hook;
    PyObject *what[8]; /* interned "call", "exception", ... indexed by legacy_what */
} pmt__cpy_state;

/* code_cache.c */
void pmt__code_cache_free(pmt__code_cache *cache);
/* Entry for a code object (borrowed reference); NULL only when out of memory. */
pmt__code_entry *pmt__code_entry_of(pmt__cpy_state *st, PyObject *code);
/* Name entry for a C callable; NULL when the callable is not a C function or method. */
pmt__code_entry *pmt__c_function_entry_of(pmt__cpy_state *st, PyObject *callable);
/* Line of the instruction at a byte offset (3.12+ monitoring offsets). */
int32_t pmt__code_line_at(pmt__cpy_state *st, pmt__code_entry *entry, PyObject *code, long offset);

/* frames.c */
/* Number of Python frames on the calling thread's stack. */
int32_t pmt__frame_depth(void);
/* The innermost frame not in the tracer's own code: file, function, line. */
void pmt__frame_locate(pmt__cpy_state *st, const char **file, const char **function, int32_t *line);

/* monitoring.c (3.12+) and legacy.c (3.10, 3.11) */
int pmt__monitoring_attach(pmt__cpy_state *st);
int pmt__monitoring_detach(pmt__cpy_state *st);
int pmt__legacy_attach(pmt__cpy_state *st);
int pmt__legacy_detach(pmt__cpy_state *st);
void pmt__legacy_release(pmt__cpy_state *st);

/* The state behind a hook's `self`. */
static inline pmt__cpy_state *pmt__state_of(PyObject *self)
{
    return (pmt__cpy_state *)PyCapsule_GetPointer(self, NULL);
}

/* Is this event for the traced thread while tracing? */
static inline int pmt__state_active(const pmt__cpy_state *st)
{
    return st && st->running && PyThread_get_thread_ident() == st->thread;
}

#endif
