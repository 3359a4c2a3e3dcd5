/* An island outside the limited API: object lifetimes through CPython 3.13's reference tracer,
 * PyRefTracer_SetTracer/PyRefTracer_GetTracer, resolved at run time (doc/objects.md).
 *
 * Why: no limited-API way sees every object made and destroyed; the reference tracer is the
 * one CPython offers (3.13+) and what pymemtrace's ReferenceTracing used. How it stays safe for
 * the one .abi3.so: nothing is linked; the two functions are looked up with dlsym() on 3.13 and
 * 3.14 only, and elsewhere counting objects fails with PMT_ENOTSUP while the rest goes on.
 *
 * The tracer chains to the one installed before (it is called first, with its own data), and
 * at stop gives it back only while ours is still the one installed; otherwise ours stays as a
 * pass-through and the log says so. The callback may not make Python objects, set or clear an
 * exception: it reads the type's name from the type object itself (tp_name, right after the
 * variable-size object head in every CPython whose limited API this module loads in), asks the
 * type's flags once per type, and never calls Python. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <string.h>

#include "common/error.h"
#include "core/probes.h"
#include "cpython/cpython.h"

enum { REF_CREATE = 0, REF_DESTROY = 1 }; /* PyRefTracer_CREATE, PyRefTracer_DESTROY */
typedef int (*ref_tracer)(PyObject *object, int event, void *data);
typedef int (*set_tracer_fn)(ref_tracer tracer, void *data);
typedef ref_tracer (*get_tracer_fn)(void **data);
typedef PyThreadState *(*thread_state_fn)(void);

static set_tracer_fn set_tracer;
static get_tracer_fn get_tracer;
static thread_state_fn current_thread_state;
static int looked_up;

static ref_tracer previous; /* the tracer installed before ours, called first */
static void *previous_data;
static int installed; /* ours is in the chain (perhaps under another tool's) */
static pmt__cpy_state *traced;

/* First sight of a type: its entry under its name, counted or not. NULL: out of memory. */
static PMT__NOINLINE pmt__type_entry *first_sight(pmt__cpy_state *st, PyTypeObject *type)
{
    pmt_tracer *t = st->tracer;
    const char *tp_name =
        *(const char *const *)(const void *)((const char *)type + sizeof(PyVarObject));
    if (!tp_name)
        tp_name = "?";
    int was = pmt__own_work_begin(st); /* our allocations are not the program's */
    const char *name = pmt__strings_intern(&t->strings, tp_name, strlen(tp_name));
    pmt__type_entry *entry = NULL;
    if (name) {
        unsigned long flags = PyType_GetFlags(type);
        int heap = (flags & Py_TPFLAGS_HEAPTYPE) != 0;
        int selected =
            (t->objects_mode == 2 || heap) && pmt__code_filter_type(&t->code_filter, name);
        entry = pmt__object_types_add(&t->object_types, (uintptr_t)type, name, selected,
                                      (flags & Py_TPFLAGS_TYPE_SUBCLASS) != 0);
    }
    pmt__own_work_end(st, was);
    return entry;
}

/* The run this thread was last found running the traced interpreter in (our own TLS: CPython's
 * thread state is behind __tls_get_addr, ~40 instructions a call). */
static _Thread_local uint64_t checked_run __attribute__((tls_model("initial-exec")));

/* Does the calling thread run the traced interpreter's code (GIL held)? Asked of CPython once
 * per thread and run; like the allocation hooks, a thread found there is taken to stay there
 * (doc/objects.md: a thread that swaps to another interpreter is counted as the traced one). */
static int in_traced_interpreter(const pmt__cpy_state *st)
{
    if (checked_run == st->run)
        return 1;
    if (pmt__thread_in_run(st)) {
        checked_run = st->run;
        return 1;
    }
    PyThreadState *ts = current_thread_state(); /* a counting-only tracer has no events */
    if (!ts || PyThreadState_GetInterpreter(ts) != st->interpreter)
        return 0;
    checked_run = st->run;
    return 1;
}

/* An object of a counted type that is an event, or that a consumer of the object probes wants:
 * its place is the thread's Python line. An event needs one (without it the object is neither
 * counted nor written); a probe goes without ("", 0). */
static PMT__NOINLINE void object_event(pmt__cpy_state *st, pmt_event_kind kind, PyObject *object,
                                       pmt__type_entry *entry, int probed)
{
    pmt_tracer *t = st->tracer;
    pmt__place place = {"", "", 0, 0};
    int placed = pmt__thread_place(st, &place);
    if (!(t->event_mask & PMT_EV_MASK_OBJECTS))
        pmt__tracer_count_object(t, kind, entry);
    else if (placed)
        pmt__tracer_object(t, kind, (uint64_t)(uintptr_t)object, entry, place.file, place.function,
                           place.line, place.depth);
    else
        return;
    if (probed && t->state == PMT_STATE_RUNNING && !pmt__tracer_forked(t))
        pmt__probes_object(kind, (uint64_t)(uintptr_t)object, entry, place.file, place.line,
                           place.function);
}

/* Every case of the reference callback. */
static PMT__NOINLINE int on_reference_slow(PyObject *object, int event, void *data)
{
    (void)data;
    int rc = previous ? previous(object, event, previous_data) : 0;
    pmt__cpy_state *st = traced;
    if (!st || !st->running || st->tracer->delivering || !in_traced_interpreter(st) ||
        (!st->all_threads && PyThread_get_thread_ident() != st->thread))
        return rc;
    pmt_tracer *t = st->tracer;
    PyTypeObject *type = Py_TYPE(object);
    pmt__type_entry *entry = pmt__object_types_find(&t->object_types, (uintptr_t)type);
    if (!entry && !(entry = first_sight(st, type)))
        return rc;
    pmt_event_kind kind = event == REF_CREATE ? PMT_EV_OBJECT_NEW : PMT_EV_OBJECT_DELETE;
    int probed = entry->selected && PMT__PROBES_OBJECTS_WANTED();
    if (!(t->event_mask & PMT_EV_MASK_OBJECTS) && !probed)
        pmt__tracer_count_object(t, kind, entry); /* counting only: the common case */
    else if (entry->selected)
        object_event(st, kind, object, entry, probed);
    /* A type destroyed: its address may come back as another type. */
    if (event == REF_DESTROY && entry->metatype &&
        pmt__object_types_find(&t->object_types, (uintptr_t)object))
        pmt__object_types_forget(&t->object_types, (uintptr_t)object);
    return rc;
}

/* The callback CPython calls for every object made or destroyed. Its common case (counting,
 * every thread, a type seen before, no tool chained before us) makes no call but the tail call
 * to the slow path, so that nothing has to be saved and restored: it costs a dozen loads and
 * compares and the counts. */
static int on_reference(PyObject *object, int event, void *data)
{
    const pmt__cpy_state *st = traced;
    if (PMT__UNLIKELY(previous != NULL || !st || !st->running || checked_run != st->run ||
                      !st->all_threads))
        return on_reference_slow(object, event, data);
    pmt_tracer *t = st->tracer;
    if (t->delivering)
        return 0;
    pmt__type_entry *entry = pmt__object_types_find(&t->object_types, (uintptr_t)Py_TYPE(object));
    if (PMT__UNLIKELY(!entry || (t->event_mask & PMT_EV_MASK_OBJECTS)))
        return on_reference_slow(object, event, data);
    if (event == REF_CREATE) {
        if (PMT__UNLIKELY(PMT__PROBE_WANTED(object_new)))
            return on_reference_slow(object, event, data);
        pmt__tracer_count_object(t, PMT_EV_OBJECT_NEW, entry);
    } else {
        if (PMT__UNLIKELY(entry->metatype || PMT__PROBE_WANTED(object_free)))
            return on_reference_slow(object, event, data);
        pmt__tracer_count_object(t, PMT_EV_OBJECT_DELETE, entry);
    }
    return 0;
}

static int look_up(long hexversion)
{
    if (looked_up)
        return set_tracer && get_tracer && current_thread_state;
    looked_up = 1;
    if (hexversion < 0x030D0000 || hexversion >= 0x030F0000)
        return 0;
    set_tracer = (set_tracer_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "PyRefTracer_SetTracer");
    get_tracer = (get_tracer_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "PyRefTracer_GetTracer");
    current_thread_state =
        (thread_state_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "PyThreadState_GetUnchecked");
    return set_tracer && get_tracer && current_thread_state;
}

int pmt__objects_attach(pmt__cpy_state *st)
{
    if (!st->tracer->objects_mode)
        return PMT_OK;
    if (!look_up(st->hexversion))
        return pmt__fail(PMT_ENOTSUP,
                         "object lifetimes need CPython 3.13 or later (its reference tracer, "
                         "PyRefTracer_SetTracer); this is %lx",
                         st->hexversion);
    if (traced && traced != st)
        return pmt__fail(PMT_EBUSY, "another tracer counts objects in this process: stop it "
                                    "first (one at a time: the reference tracer is process-wide)");
    st->interpreter = PyInterpreterState_Get();
    if (!installed) {
        previous = get_tracer(&previous_data);
        if (set_tracer(on_reference, NULL) != 0) {
            PyErr_Clear();
            return pmt__fail(PMT_EPYTHON, "PyRefTracer_SetTracer refused the tracer");
        }
        installed = 1;
    }
    traced = st;
    return PMT_OK;
}

void pmt__objects_detach(pmt__cpy_state *st)
{
    if (traced != st)
        return;
    traced = NULL;
    void *data = NULL;
    if (get_tracer(&data) == on_reference) {
        if (set_tracer(previous, previous_data) == 0) {
            installed = 0;
            previous = NULL;
            previous_data = NULL;
        } else {
            PyErr_Clear();
        }
    } else {
        pmt__tracer_note(st->tracer, "another tool replaced CPython's reference tracer while "
                                     "objects were counted: pymemtrace's stays in its chain, "
                                     "passing every call through");
    }
}
