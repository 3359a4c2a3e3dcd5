/* The CPython event source: chooses the hook for the running interpreter's version and keeps
 * the per-tracer state the hooks share. */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "core/params.h"
#include "cpython/cpython.h"

static int check_thread(void *self)
{
    (void)self;
    if (!Py_IsInitialized())
        return pmt__fail(PMT_ENOTHREAD, "Python is not initialized");
    /* PyGILState_Check is not in the limited API; a thread without a thread state cannot hold
     * the GIL, which catches the usual mistake (a foreign thread never attached). */
    if (!PyGILState_GetThisThreadState())
        return pmt__fail(PMT_ENOTHREAD, "the calling thread has no Python thread state");
    return PMT_OK;
}

static long running_hexversion(void)
{
    PyObject *v = PySys_GetObject("hexversion"); /* borrowed */
    long hex = v ? PyLong_AsLong(v) : 0;
    if (PyErr_Occurred())
        PyErr_Clear();
    return hex;
}

static int uses_monitoring(const pmt__cpy_state *st)
{
    return st->hexversion >= 0x030C0000;
}

/* Python's call hooks are needed for Python events, for the place of allocations and objects,
 * and for the call aggregation; a tracer that only counts objects or records collections runs
 * without them (the program's calls then cost nothing). */
static int needs_python_hooks(const pmt_tracer *t)
{
    return (t->event_mask & pmt__hook_kinds & ~(PMT_EV_MASK_GC | PMT_EV_MASK_OBJECTS)) != 0 ||
           pmt__tracer_tracks_places(t) || t->calls_mode != 0;
}

/* What a hook finds once its tracer is gone: never running. A hook object can outlive its
 * tracer (a failed unregister, or user code holding sys.getprofile()), and must then do
 * nothing instead of reading freed memory. */
static pmt__cpy_state retired_state;

/* The type of the hooks' `self` objects, made once per interpreter and kept: a heap type is in a
 * reference cycle with itself (its __mro__), so one made per tracer run would stay until the
 * next garbage collection (1000 start/stop cycles kept half a megabyte). Interpreter ids are
 * never reused; past the table's end a type is made per run. Called with the GIL held. */
static PyObject *hook_self_type(int64_t interpreter_id, int *owned)
{
    static struct {
        int64_t interpreter_id;
        PyObject *type;
    } types[8];
    static PyType_Slot slots[] = {{0, NULL}};
    static PyType_Spec spec = {"pymemtrace._HookSelf", sizeof(pmt__hook_self), 0,
                               Py_TPFLAGS_DEFAULT, slots};
    size_t i = 0;
    for (; i < sizeof types / sizeof *types && types[i].type; i++)
        if (types[i].interpreter_id == interpreter_id)
            break;
    *owned = i == sizeof types / sizeof *types;
    if (!*owned && types[i].type)
        return types[i].type;
    PyObject *type = PyType_FromSpec(&spec);
    if (type && !*owned) {
        types[i].interpreter_id = interpreter_id;
        types[i].type = type;
    }
    return type;
}

/* A hook's `self`: a pmt__hook_self pointing at st. */
static PyObject *new_hook_self(pmt__cpy_state *st)
{
    int owned = 0;
    PyObject *type = hook_self_type(PyInterpreterState_GetID(PyInterpreterState_Get()), &owned);
    if (!type)
        return NULL;
    PyObject *self = PyType_GenericAlloc((PyTypeObject *)type, 0);
    if (owned)
        Py_DECREF(type); /* the object holds its heap type */
    if (self)
        ((pmt__hook_self *)self)->state = st;
    return self;
}

static void free_state(pmt__cpy_state *st)
{
    if (st->hook_self)
        ((pmt__hook_self *)st->hook_self)->state = &retired_state;
    pmt__legacy_release(st);
    pmt__thread_shadows_free(st);
    pmt__user_code_free(st);
    Py_CLEAR(st->disable);
    for (size_t i = 0; i < sizeof st->monitor_hooks / sizeof *st->monitor_hooks; i++)
        Py_CLEAR(st->monitor_hooks[i]);
    pmt__code_cache_free(&st->cache);
    pmt__gc_release(st);
    Py_XDECREF(st->hook_self);
    free(st);
}

static int attach(void *self, pmt_tracer *tracer, void **state)
{
    (void)self;
    pmt__cpy_state *st = *state;
    int first = st == NULL;
    if (first) {
        long hex = running_hexversion();
        if (hex < 0x030A0000)
            return pmt__fail(PMT_ENOTSUP, "Python %lx.%lx is older than 3.10", (hex >> 24) & 0xff,
                             (hex >> 16) & 0xff);
        st = calloc(1, sizeof *st);
        if (!st)
            return pmt__fail(PMT_ENOMEM, "out of memory for the CPython source");
        st->tracer = tracer;
        st->hexversion = hex;
        st->tool_id = -1;
        st->resume_opcode = pmt__resume_opcode();
        st->hook_self = new_hook_self(st);
        if (!st->hook_self) {
            free(st);
            return pmt__fail(PMT_EPYTHON, "cannot create the hooks' self object");
        }
        *state = st;
    }
    pmt__user_code_init(st);
    st->thread = PyThread_get_thread_ident();
    st->all_threads = tracer->threads_mode == PMT_THREADS_ALL;
    st->run = pmt__thread_new_run();
    st->interpreter_id = PyInterpreterState_GetID(PyInterpreterState_Get());
    tracer->interpreter_id = st->interpreter_id;
    /* Each part in turn; when one fails, those attached before it are detached. The collector's
     * callback comes before the hooks: finding gc.callbacks may run Python code (an import),
     * which hooks not yet running would take for the program's and drop. */
    enum { ALLOCATORS = 1, NATIVE = 2, OBJECTS = 4, GC = 8 };
    int done = 0;
    int rc = pmt__allocators_attach(st);
    done |= rc == PMT_OK ? ALLOCATORS : 0;
    if (rc == PMT_OK && (tracer->allocators & PMT_ALLOCATORS_NATIVE))
        done |= (rc = pmt__native_attach(st)) == PMT_OK ? NATIVE : 0;
    if (rc == PMT_OK)
        done |= (rc = pmt__objects_attach(st)) == PMT_OK ? OBJECTS : 0;
    if (rc == PMT_OK)
        done |= (rc = pmt__gc_attach(st)) == PMT_OK ? GC : 0;
    st->python_hooks = needs_python_hooks(tracer);
    if (rc == PMT_OK && st->python_hooks)
        rc = uses_monitoring(st) ? pmt__monitoring_attach(st) : pmt__legacy_attach(st);
    if (rc != PMT_OK) {
        if (done & GC)
            pmt__gc_detach(st);
        if (done & OBJECTS)
            pmt__objects_detach(st);
        if (done & NATIVE)
            pmt__native_detach();
        if (done & ALLOCATORS)
            pmt__allocators_detach(st);
    }
    if (rc != PMT_OK) {
        if (first) {
            free_state(st);
            *state = NULL;
        }
        return rc;
    }
    st->running = 1;
    return PMT_OK;
}

static int detach(void *self, pmt_tracer *tracer, void *state)
{
    (void)self;
    pmt__cpy_state *st = state;
    st->running = 0;
    pmt__objects_detach(st);
    pmt__gc_detach(st);
    if (tracer->allocators & PMT_ALLOCATORS_NATIVE)
        pmt__native_detach();
    pmt__allocators_detach(st);
    if (!st->python_hooks)
        return PMT_OK;
    return uses_monitoring(st) ? pmt__monitoring_detach(st) : pmt__legacy_detach(st);
}

static void release(void *self, pmt_tracer *tracer, void *state)
{
    (void)self;
    (void)tracer;
    if (state)
        free_state(state);
}

static void locate(void *self, pmt_tracer *tracer, void *state, const char **file,
                   const char **function, int32_t *line, int32_t *depth)
{
    (void)self;
    (void)tracer;
    pmt__cpy_state *st = state;
    if (!st)
        return;
    int was = pmt__own_work_begin(st);
    pmt__code_entry *e = pmt__frame_locate(st, file, function, line);
    pmt__own_work_end(st, was);
    *depth = *pmt__depth_here(st, 0);
    if (e && !pmt__thread_depths[0].at) /* the place allocations are charged to until an event */
        pmt__here(e, *line);
}

/* "CPython 3.12.1" from sys.implementation.name and sys.version_info, once per tracer. */
static const char *runtime(void *self, pmt_tracer *tracer, void *state)
{
    (void)self;
    pmt__cpy_state *st = state;
    if (!st)
        return NULL;
    if (!st->runtime) {
        PyObject *text =
            PyUnicode_FromFormat("CPython %ld.%ld.%ld", (st->hexversion >> 24) & 0xff,
                                 (st->hexversion >> 16) & 0xff, (st->hexversion >> 8) & 0xff);
        Py_ssize_t n = 0;
        const char *utf8 = text ? PyUnicode_AsUTF8AndSize(text, &n) : NULL;
        if (utf8)
            st->runtime = pmt__strings_intern(&tracer->strings, utf8, (size_t)n);
        Py_XDECREF(text);
        PyErr_Clear();
    }
    return st->runtime;
}

/* Marks may come from any thread: PyGILState_Ensure takes the GIL whether or not the thread
 * holds it or has a thread state. */
static int enter(void *self, uintptr_t *token)
{
    (void)self;
    if (!Py_IsInitialized())
        return pmt__fail(PMT_ENOTHREAD, "Python is not initialized");
    *token = (uintptr_t)PyGILState_Ensure();
    return PMT_OK;
}

static void leave(void *self, uintptr_t token)
{
    (void)self;
    PyGILState_Release((PyGILState_STATE)token);
}

/* The line of an event given as (code entry, instruction offset): only for written events. */
static int32_t line_at(void *self, void *state, const void *where, int32_t offset)
{
    (void)self;
    pmt__code_entry *e = (pmt__code_entry *)(uintptr_t)where;
    return pmt__code_line_at(state, e, e->ref1, offset);
}

static void site(void *self, void *state, pmt_event *ev, const pmt__shadow *shadow, size_t depth,
                 int now, int want_path)
{
    (void)self;
    if (state)
        pmt__user_site(state, ev, shadow, depth, now, want_path);
}

static const pmt__shadow *shadow_here(void *self, void *state)
{
    (void)self;
    return state ? pmt__thread_shadow_of(state) : NULL;
}

static const char *hook_name(void *self, void *state)
{
    (void)self;
    const pmt__cpy_state *st = state;
    if (!st->python_hooks)
        return "none"; /* only collections or object counts: no Python event hook */
    return uses_monitoring(st) ? "sys.monitoring"
           : st->ceval_hooks   ? "PyEval_SetProfile"
                               : "sys.setprofile";
}

static const pmt__source_ops cpython_source = {
    .check_thread = check_thread,
    .attach = attach,
    .detach = detach,
    .release = release,
    .locate = locate,
    .runtime = runtime,
    .enter = enter,
    .leave = leave,
    .line_at = line_at,
    .site = site,
    .shadow_here = shadow_here,
    .hook_name = hook_name,
};

int pmt_tracer_create(pmt_tracer **out)
{
    return pmt__tracer_create_with_source(out, &cpython_source, NULL);
}
