/* The floor probes of bench/instructions.py: what reaching a C function through CPython's public
 * hooks costs when the function does nothing but count. Limited API 3.10, like the real module,
 * so the same .abi3.so runs under every CPython the bench measures.
 *
 *   count(*args)           a sys.monitoring callback or sys.setprofile function: counts, None
 *   trace(frame, what, a)  a sys.settrace function: counts, returns itself (so lines follow)
 *   c_hooks(profile, trace) 3.10/3.11: a C function that only counts as the profile and/or trace
 *                          function (PyEval_SetProfile/SetTrace, looked up at run time as the
 *                          library does): the floor of the hook it uses there
 *   agg_enter(code, offset) / agg_leave(code, offset, value)
 *                          sys.monitoring callbacks (3.12+) of the least a call aggregation does:
 *                          a shadow stack of (code, "RSS" at entry) and, at each exit, calls and
 *                          total added to a direct-mapped slot per code object; "RSS" is a
 *                          load of a static, as the library's last read value is. The floor of
 *                          the library's calls=1 over calls=0 (3.10/3.11: c_hooks(..., True)).
 *   alloc_hooks(on, record) the floor of allocation tracing (bench/allocations.py): wrappers
 *                          around CPython's RAW, MEM and OBJ allocators (PyMem_SetAllocator,
 *                          looked up at run time as the library does) that count each call and,
 *                          with record, also append an 8-byte record (the address step and the
 *                          size) to a 1 MiB ring: no attribution, no file, no table
 *   ref_tracer(on)         the floor of object counting (bench/objects.py, CPython 3.13+): a
 *                          reference tracer (PyRefTracer_SetTracer, looked up at run time as the
 *                          library does) that counts each object made and destroyed
 *   run(callable)          calls callable(): callgrind collects inside it (--toggle-collect)
 *   events() / reset()     the count
 */
#define Py_LIMITED_API 0x030A0000
#include <Python.h>

#include <dlfcn.h>
#include <stdint.h>

static unsigned long long counted;
static PyObject *trace_function; /* the module's trace(): what trace() returns */

static PyObject *count(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    (void)args;
    (void)nargs;
    counted++;
    Py_RETURN_NONE;
}

static PyObject *trace(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    (void)args;
    (void)nargs;
    counted++;
    Py_INCREF(trace_function);
    return trace_function;
}

/* The minimal aggregation: single-threaded, fixed-size, collisions overwrite (a floor only). */
enum { SHADOW_MAX = 4096, AGG_SLOTS = 4096 };
static struct {
    const void *code;
    uint64_t rss;
} shadow[SHADOW_MAX];
static size_t shadow_depth;
static struct {
    const void *code;
    uint64_t calls;
    int64_t total;
} agg[AGG_SLOTS];
static volatile uint64_t fake_rss = 1 << 20;

static inline void agg_push(const void *code)
{
    counted++;
    if (shadow_depth < SHADOW_MAX) {
        shadow[shadow_depth].code = code;
        shadow[shadow_depth].rss = fake_rss;
    }
    shadow_depth++;
}

static inline void agg_pop(void)
{
    counted++;
    if (!shadow_depth || --shadow_depth >= SHADOW_MAX)
        return;
    const void *code = shadow[shadow_depth].code;
    size_t i = ((uintptr_t)code >> 4) * 0x9E3779B1u >> 20 & (AGG_SLOTS - 1);
    agg[i].code = code;
    agg[i].calls++;
    agg[i].total += (int64_t)(fake_rss - shadow[shadow_depth].rss);
}

static PyObject *agg_enter(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs >= 1)
        agg_push(args[0]);
    Py_RETURN_NONE;
}

static PyObject *agg_leave(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    (void)args;
    (void)nargs;
    agg_pop();
    Py_RETURN_NONE;
}

typedef int (*tracefunc)(PyObject *obj, void *frame, int what, PyObject *arg);
typedef void (*set_hook_fn)(tracefunc func, PyObject *obj);

static int count_c(PyObject *obj, void *frame, int what, PyObject *arg)
{
    (void)obj;
    (void)frame;
    (void)what;
    (void)arg;
    counted++;
    return 0;
}

/* PyTrace_CALL and PyTrace_RETURN: the values 3.10 and 3.11 share. */
static int aggregate_c(PyObject *obj, void *frame, int what, PyObject *arg)
{
    (void)obj;
    (void)arg;
    if (what == 0)
        agg_push(frame); /* the frame stands for its code: a floor only */
    else if (what == 3)
        agg_pop();
    else
        counted++;
    return 0;
}

static PyObject *c_hooks(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 2 && nargs != 3) {
        PyErr_SetString(PyExc_TypeError,
                        "c_hooks(profile, trace[, aggregate]) takes two or three bools");
        return NULL;
    }
    set_hook_fn set_profile = (set_hook_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "PyEval_SetProfile");
    set_hook_fn set_trace = (set_hook_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "PyEval_SetTrace");
    if (!set_profile || !set_trace) {
        PyErr_SetString(PyExc_RuntimeError, "PyEval_SetProfile/SetTrace are not exported here");
        return NULL;
    }
    int profile = PyObject_IsTrue(args[0]), trace = PyObject_IsTrue(args[1]);
    int aggregate = nargs == 3 && PyObject_IsTrue(args[2]);
    set_profile(profile ? (aggregate ? aggregate_c : count_c) : NULL, NULL);
    set_trace(trace ? count_c : NULL, NULL);
    Py_RETURN_NONE;
}

/* A named, non-inlined C frame around one measured iteration. */
PyObject *pmt_floor_run(PyObject *callable);
/* PyMemAllocatorEx as CPython declares it. */
typedef struct mem_allocator {
    void *ctx;
    void *(*malloc)(void *, size_t);
    void *(*calloc)(void *, size_t, size_t);
    void *(*realloc)(void *, void *, size_t);
    void (*free)(void *, void *);
} mem_allocator;
typedef void (*allocator_fn)(int domain, mem_allocator *allocator);

static mem_allocator previous[3];
static int recording;
static uint64_t ring[1 << 17], ring_at, last_address;

static inline void note(void *p, size_t size)
{
    counted++;
    if (recording) {
        uint64_t a = (uint64_t)(uintptr_t)p;
        ring[ring_at++ & ((1 << 17) - 1)] = (a - last_address) << 24 ^ size;
        last_address = a;
    }
}

static void *floor_malloc(void *ctx, size_t size)
{
    mem_allocator *m = ctx;
    void *p = m->malloc(m->ctx, size);
    note(p, size);
    return p;
}

static void *floor_calloc(void *ctx, size_t n, size_t size)
{
    mem_allocator *m = ctx;
    void *p = m->calloc(m->ctx, n, size);
    note(p, n * size);
    return p;
}

static void *floor_realloc(void *ctx, void *old, size_t size)
{
    mem_allocator *m = ctx;
    void *p = m->realloc(m->ctx, old, size);
    note(p, size);
    return p;
}

static void floor_free(void *ctx, void *p)
{
    mem_allocator *m = ctx;
    note(p, 0);
    m->free(m->ctx, p);
}

static PyObject *alloc_hooks(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    static allocator_fn get, set;
    static int on;
    if (!get) {
        get = (allocator_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "PyMem_GetAllocator");
        set = (allocator_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "PyMem_SetAllocator");
    }
    if (!get || !set || nargs != 2) {
        PyErr_SetString(PyExc_RuntimeError, "alloc_hooks(on, record): no allocator functions");
        return NULL;
    }
    int want = PyObject_IsTrue(args[0]);
    recording = PyObject_IsTrue(args[1]);
    for (int d = 0; d < 3 && want != on; d++) {
        if (want) {
            get(d, &previous[d]);
            mem_allocator ours = {&previous[d], floor_malloc, floor_calloc, floor_realloc,
                                  floor_free};
            set(d, &ours);
        } else {
            set(d, &previous[d]);
        }
    }
    on = want;
    Py_RETURN_NONE;
}

typedef int (*ref_tracer_fn)(PyObject *object, int event, void *data);

static int count_reference(PyObject *object, int event, void *data)
{
    (void)object, (void)event, (void)data;
    counted++;
    return 0;
}

static PyObject *ref_tracer(PyObject *self, PyObject *on)
{
    (void)self;
    typedef int (*set_fn)(ref_tracer_fn, void *);
    set_fn set = (set_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "PyRefTracer_SetTracer");
    if (!set) {
        PyErr_SetString(PyExc_RuntimeError, "ref_tracer(on): no reference tracer (CPython < 3.13)");
        return NULL;
    }
    if (set(PyObject_IsTrue(on) ? count_reference : NULL, NULL) != 0)
        return NULL;
    Py_RETURN_NONE;
}

__attribute__((noinline)) PyObject *pmt_floor_run(PyObject *callable)
{
    return PyObject_CallNoArgs(callable);
}

static PyObject *run(PyObject *self, PyObject *callable)
{
    (void)self;
    return pmt_floor_run(callable);
}

static PyObject *events(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyLong_FromUnsignedLongLong(counted);
}

static PyObject *reset(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    counted = 0;
    shadow_depth = 0;
    Py_RETURN_NONE;
}

#define FASTCALL(f) ((PyCFunction)(void (*)(void))(f))
static PyMethodDef methods[] = {
    {"count", FASTCALL(count), METH_FASTCALL, "count(*args): count one event, return None"},
    {"trace", FASTCALL(trace), METH_FASTCALL, "trace(frame, what, arg): count, return trace"},
    {"c_hooks", FASTCALL(c_hooks), METH_FASTCALL,
     "c_hooks(profile, trace): a counting C function as this thread's profile/trace function"},
    {"agg_enter", FASTCALL(agg_enter), METH_FASTCALL,
     "agg_enter(code, offset): push (code, RSS) on the minimal aggregation's shadow"},
    {"agg_leave", FASTCALL(agg_leave), METH_FASTCALL,
     "agg_leave(code, offset, value): pop, add calls and total to the code's slot"},
    {"alloc_hooks", FASTCALL(alloc_hooks), METH_FASTCALL,
     "alloc_hooks(on, record): counting (and recording) wrappers of CPython's allocators"},
    {"ref_tracer", ref_tracer, METH_O, "ref_tracer(on): a reference tracer that only counts"},
    {"run", run, METH_O, "run(callable): call it inside pmt_floor_run (callgrind's toggle)"},
    {"events", events, METH_NOARGS, "events() -> int: events counted since reset()"},
    {"reset", reset, METH_NOARGS, "reset(): count from 0"},
    {NULL, NULL, 0, NULL},
};

static int exec_module(PyObject *module)
{
    Py_XDECREF(trace_function);
    trace_function = PyObject_GetAttrString(module, "trace");
    return trace_function ? 0 : -1;
}

static PyModuleDef_Slot slots[] = {{Py_mod_exec, exec_module}, {0, NULL}};

static struct PyModuleDef floor_module = {
    PyModuleDef_HEAD_INIT,
    "_pmt_floor",
    "Floor probes for bench/instructions.py.",
    0,
    methods,
    slots,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC PyInit__pmt_floor(void);
PyMODINIT_FUNC PyInit__pmt_floor(void)
{
    return PyModuleDef_Init(&floor_module);
}
