/* The floor probes of bench/instructions.py: what reaching a C function through CPython's public
 * hooks costs when the function does nothing but count. Limited API 3.10, like the real module,
 * so the same .abi3.so runs under every CPython the bench measures.
 *
 *   count(*args)           a sys.monitoring callback or sys.setprofile function: counts, None
 *   trace(frame, what, a)  a sys.settrace function: counts, returns itself (so lines follow)
 *   c_hooks(profile, trace) 3.10/3.11: a C function that only counts as the profile and/or trace
 *                          function (PyEval_SetProfile/SetTrace, looked up at run time as the
 *                          library does): the floor of the hook it uses there
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

static PyObject *c_hooks(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "c_hooks(profile, trace) takes two bools");
        return NULL;
    }
    set_hook_fn set_profile = (set_hook_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "PyEval_SetProfile");
    set_hook_fn set_trace = (set_hook_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "PyEval_SetTrace");
    if (!set_profile || !set_trace) {
        PyErr_SetString(PyExc_RuntimeError, "PyEval_SetProfile/SetTrace are not exported here");
        return NULL;
    }
    int profile = PyObject_IsTrue(args[0]), trace = PyObject_IsTrue(args[1]);
    set_profile(profile ? count_c : NULL, NULL);
    set_trace(trace ? count_c : NULL, NULL);
    Py_RETURN_NONE;
}

/* A named, non-inlined C frame around one measured iteration. */
PyObject *pmt_floor_run(PyObject *callable);
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
    Py_RETURN_NONE;
}

#define FASTCALL(f) ((PyCFunction)(void (*)(void))(f))
static PyMethodDef methods[] = {
    {"count", FASTCALL(count), METH_FASTCALL, "count(*args): count one event, return None"},
    {"trace", FASTCALL(trace), METH_FASTCALL, "trace(frame, what, arg): count, return trace"},
    {"c_hooks", FASTCALL(c_hooks), METH_FASTCALL,
     "c_hooks(profile, trace): a counting C function as this thread's profile/trace function"},
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
