/* Garbage collections as events (GC_START, GC_DONE), on every CPython >= 3.10 through the
 * limited API: a C callable appended to gc.callbacks, which the collector calls with ("start" or
 * "stop", {"generation", "collected", "uncollectable"}) on the thread that triggered it. The
 * duration is measured here, between the two calls; the place is where the thread's last event
 * left it when allocations are traced (allocation_site.c's slot), else the innermost frame. */
#include "common/error.h"
#include "cpython/cpython.h"
#include "platform/os.h"

static long number_in(PyObject *info, const char *key)
{
    PyObject *value = PyDict_Check(info) ? PyDict_GetItemString(info, key) : NULL; /* borrowed */
    long n = value && PyLong_Check(value) ? PyLong_AsLong(value) : 0;
    if (n == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        n = 0;
    }
    return n;
}

static PyObject *on_gc(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    pmt__cpy_state *st = pmt__state_of(self);
    if (nargs < 2 || !pmt__state_active(st) || !PyUnicode_Check(args[0]))
        Py_RETURN_NONE;
    int was = pmt__own_work_begin(st); /* what reading the info allocates is not the program's */
    int start = PyUnicode_CompareWithASCIIString(args[0], "start") == 0;
    uint64_t now = pmt__monotonic_ns();
    pmt__gc gc = {start ? PMT_EV_GC_START : PMT_EV_GC_DONE,
                  (int32_t)number_in(args[1], "generation"), 0, 0, 0};
    if (start) {
        st->gc_started_ns = now;
    } else {
        gc.collected = (uint64_t)number_in(args[1], "collected");
        gc.uncollectable = (uint64_t)number_in(args[1], "uncollectable");
        gc.duration_ns = st->gc_started_ns && now > st->gc_started_ns ? now - st->gc_started_ns : 0;
        st->gc_started_ns = 0;
    }
    int32_t depth = *pmt__depth_here(st, 0);
    const char *file = "", *function = "";
    int32_t line = 0;
    const pmt__code_entry *e = pmt__thread_depths[0].at;
    if (pmt__tracer_tracks_places(st->tracer) && e) { /* the place allocations are charged to */
        file = e->file;
        function = e->function;
        line = pmt__thread_depths[0].at_line;
    } else { /* otherwise kept by no one: a collection is rare enough for a stack walk */
        pmt__frame_locate(st, &file, &function, &line);
    }
    pmt__own_work_end(st, was);
    pmt__tracer_gc(st->tracer, &gc, file, function, line, depth);
    Py_RETURN_NONE;
}

static PyMethodDef on_gc_def = {"pymemtrace_gc", (PyCFunction)(void (*)(void))on_gc, METH_FASTCALL,
                                NULL};

static PyObject *callbacks_list(void)
{
    PyObject *gc = PyImport_ImportModule("gc");
    PyObject *callbacks = gc ? PyObject_GetAttrString(gc, "callbacks") : NULL;
    Py_XDECREF(gc);
    if (callbacks && !PyList_Check(callbacks))
        Py_CLEAR(callbacks);
    return callbacks;
}

int pmt__gc_attach(pmt__cpy_state *st)
{
    if (!(st->tracer->event_mask & PMT_EV_MASK_GC))
        return PMT_OK;
    if (!st->gc_hook && !(st->gc_hook = PyCFunction_NewEx(&on_gc_def, st->hook_self, NULL)))
        return pmt__fail(PMT_EPYTHON, "cannot create the garbage collector's callback");
    PyObject *callbacks = callbacks_list();
    int rc = callbacks ? PyList_Append(callbacks, st->gc_hook) : -1;
    Py_XDECREF(callbacks);
    st->gc_started_ns = 0;
    return rc == 0 ? PMT_OK : pmt__fail(PMT_EPYTHON, "cannot add a callback to gc.callbacks");
}

void pmt__gc_detach(pmt__cpy_state *st)
{
    if (!st->gc_hook)
        return;
    PyObject *callbacks = callbacks_list();
    for (Py_ssize_t i = callbacks ? PyList_Size(callbacks) : 0; i-- > 0;) {
        if (PyList_GetItem(callbacks, i) == st->gc_hook) {
            PySequence_DelItem(callbacks, i);
            break;
        }
    }
    Py_XDECREF(callbacks);
    PyErr_Clear(); /* a program that replaced gc.callbacks keeps what it made */
}

void pmt__gc_release(pmt__cpy_state *st)
{
    Py_CLEAR(st->gc_hook);
}
