/* _pymemtrace.Monitor: the RSS monitor (monitor.h) writing a JSON-lines file and/or handing its
 * samples to a tracer. Its thread never
 * takes the GIL; start, label and stop are quick (stop waits only for the last sample). */
#include "binding.h"

typedef struct {
    PyObject_HEAD pmt_monitor *monitor;
} MonitorObject;

static int Monitor_init(MonitorObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"interval_ns", "path", "tracer", NULL};
    unsigned long long interval_ns;
    PyObject *path_obj = Py_None, *tracer_obj = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "K|OO", kwlist, &interval_ns, &path_obj,
                                     &tracer_obj))
        return -1;
    if (self->monitor) {
        PyErr_SetString(PyExc_RuntimeError, "Monitor.__init__ called twice");
        return -1;
    }
    pmt_tracer *tracer = NULL;
    if (tracer_obj != Py_None && !(tracer = pmt_py_tracer_of((PyObject *)self, tracer_obj)))
        return -1;
    PyObject *path_bytes = NULL;
    if (pmt_py_fspath(path_obj, &path_bytes) != 0)
        return -1;
    const char *path = path_bytes ? PyBytes_AsString(path_bytes) : NULL;
    int rc = pmt_monitor_create(&self->monitor);
    if (rc == PMT_OK)
        rc = pmt_monitor_set_interval_ns(self->monitor, interval_ns);
    if (rc == PMT_OK && tracer)
        rc = pmt_monitor_add_tracer(self->monitor, tracer);
    if (rc == PMT_OK && path)
        rc = pmt_monitor_open_jsonl(self->monitor, path);
    if (rc != PMT_OK) {
        pmt_py_raise(rc, rc == PMT_EIO ? path : NULL);
        pmt_monitor_destroy(self->monitor);
        self->monitor = NULL;
    }
    Py_XDECREF(path_bytes);
    return rc == PMT_OK ? 0 : -1;
}

static int ready(MonitorObject *self)
{
    if (self->monitor)
        return 0;
    PyErr_SetString(PyExc_RuntimeError, "Monitor.__init__ was not called");
    return -1;
}

static PyObject *result(int rc)
{
    if (rc != PMT_OK)
        return pmt_py_raise(rc, NULL);
    Py_RETURN_NONE;
}

static PyObject *Monitor_start(MonitorObject *self, PyObject *unused)
{
    (void)unused;
    return ready(self) ? NULL : result(pmt_monitor_start(self->monitor));
}

static PyObject *Monitor_stop(MonitorObject *self, PyObject *unused)
{
    (void)unused;
    if (ready(self))
        return NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS rc = pmt_monitor_stop(self->monitor);
    Py_END_ALLOW_THREADS return result(rc);
}

static PyObject *Monitor_label(MonitorObject *self, PyObject *text)
{
    const char *utf8;
    if (ready(self) || pmt_py_utf8(text, "text", &utf8) != 0)
        return NULL;
    if (!utf8) {
        PyErr_SetString(PyExc_TypeError, "text must be str, not None");
        return NULL;
    }
    return result(pmt_monitor_label(self->monitor, utf8));
}

static PyObject *Monitor_get_samples(MonitorObject *self, void *closure)
{
    (void)closure;
    uint64_t n = 0;
    if (ready(self) || pmt_monitor_samples(self->monitor, &n) != PMT_OK)
        return NULL;
    return PyLong_FromUnsignedLongLong(n);
}

static void Monitor_dealloc(MonitorObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    pmt_monitor_destroy(self->monitor); /* stops a running monitor */
    freefunc tp_free = (freefunc)PyType_GetSlot(type, Py_tp_free);
    tp_free(self);
    Py_DECREF(type);
}

static PyMethodDef Monitor_methods[] = {
    {"start", (PyCFunction)Monitor_start, METH_NOARGS, "start(): the first sample is taken now."},
    {"stop", (PyCFunction)Monitor_stop, METH_NOARGS,
     "stop(): a last sample, then the thread ends; returns at once."},
    {"label", (PyCFunction)Monitor_label, METH_O,
     "label(text): a sample taken now with this label (any thread)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Monitor_getset[] = {
    {"samples", (getter)Monitor_get_samples, NULL, "Samples taken so far.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot Monitor_slots[] = {
    {Py_tp_doc, "Monitor(interval_ns, path=None, tracer=None): the RSS monitor writing JSON "
                "lines to path and/or its samples into tracer's logs (SAMPLE events)."},
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_init, Monitor_init},
    {Py_tp_dealloc, Monitor_dealloc},
    {Py_tp_methods, Monitor_methods},
    {Py_tp_getset, Monitor_getset},
    {0, NULL},
};

PyType_Spec pmt_py_monitor_spec = {
    "pymemtrace._pymemtrace.Monitor", sizeof(MonitorObject), 0, Py_TPFLAGS_DEFAULT, Monitor_slots,
};
