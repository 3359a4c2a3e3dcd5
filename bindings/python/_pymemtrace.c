/* _pymemtrace: a thin limited-API wrapper of libpymemtrace for the `pymemtrace` package. The
 * Python side (Profile, Trace, nesting, decorators) is in pure Python; this file only turns
 * Python arguments into library calls and library errors into Python exceptions. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <string.h>

#include <pymemtrace/pymemtrace.h>

/* Internal: marks the package's own files so that its frames are never reported. */
int pmt__tracer_set_own_code_prefix(pmt_tracer *tracer, const char *prefix);

typedef struct {
    PyObject_HEAD pmt_tracer *tracer;
    pmt_sink *log; /* owned by tracer */
} TracerObject;

typedef struct {
    PyObject *tracer_type;
} module_state;

/* Raises the Python exception matching a library error; returns NULL for `return raise(...)`. */
static PyObject *raise_status(int rc, const char *path)
{
    const char *msg = pmt_last_error_message();
    switch (rc) {
    case PMT_EINVAL:
        PyErr_SetString(PyExc_ValueError, msg);
        break;
    case PMT_ENOMEM:
        PyErr_NoMemory();
        break;
    case PMT_EIO: {
        int err = pmt_last_os_error();
        PyObject *args = path ? Py_BuildValue("(isO&)", err, msg, PyUnicode_DecodeFSDefault, path)
                              : Py_BuildValue("(is)", err, msg);
        if (args) {
            PyErr_SetObject(PyExc_OSError, args);
            Py_DECREF(args);
        }
        break;
    }
    case PMT_EPYTHON:
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_RuntimeError, msg);
        break;
    default:
        PyErr_Format(PyExc_RuntimeError, "%s (%s)", msg, pmt_strerror(rc));
        break;
    }
    return NULL;
}

/* The UTF-8 of a str (None gives NULL), refusing embedded NULs: C strings would cut there. */
static int utf8_without_nul(PyObject *text, const char *what, const char **out)
{
    *out = NULL;
    if (text == Py_None)
        return 0;
    Py_ssize_t size;
    const char *utf8 = PyUnicode_AsUTF8AndSize(text, &size);
    if (!utf8)
        return -1;
    if ((size_t)size != strlen(utf8)) {
        PyErr_Format(PyExc_ValueError, "%s contains a NUL character", what);
        return -1;
    }
    *out = utf8;
    return 0;
}

static int Tracer_init(TracerObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"events",  "d_rss_trigger",   "filepath",
                             "message", "own_code_prefix", NULL};
    PyObject *events_obj, *trigger_obj = NULL, *path_obj = NULL, *message_obj = Py_None;
    PyObject *prefix_obj = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|OOOO", kwlist, &events_obj, &trigger_obj,
                                     &path_obj, &message_obj, &prefix_obj))
        return -1;
    if (self->tracer) {
        PyErr_SetString(PyExc_RuntimeError, "Tracer.__init__ called twice");
        return -1;
    }
    if (!PyLong_Check(events_obj) || (trigger_obj && !PyLong_Check(trigger_obj))) {
        PyErr_SetString(PyExc_TypeError, "events and d_rss_trigger must be int");
        return -1;
    }
    long long events = PyLong_AsLongLong(events_obj);
    long long trigger = trigger_obj ? PyLong_AsLongLong(trigger_obj) : -1;
    if (PyErr_Occurred()) {
        PyErr_Clear();
        PyErr_SetString(PyExc_ValueError, "events or d_rss_trigger out of range");
        return -1;
    }
    if (message_obj != Py_None && !PyUnicode_Check(message_obj)) {
        PyErr_SetString(PyExc_TypeError, "message must be str or None");
        return -1;
    }
    if (prefix_obj != Py_None && !PyUnicode_Check(prefix_obj)) {
        PyErr_SetString(PyExc_TypeError, "own_code_prefix must be str or None");
        return -1;
    }
    PyObject *path_bytes = NULL; /* str, bytes or os.PathLike, in the file-system encoding */
    if (path_obj && path_obj != Py_None && !PyUnicode_FSConverter(path_obj, &path_bytes))
        return -1;
    const char *path = path_bytes ? PyBytes_AsString(path_bytes) : NULL;
    const char *message = NULL, *prefix = NULL;
    if (utf8_without_nul(message_obj, "message", &message) != 0 ||
        utf8_without_nul(prefix_obj, "own_code_prefix", &prefix) != 0) {
        Py_XDECREF(path_bytes);
        return -1;
    }
    pmt_tracer *tracer = NULL;
    int rc = pmt_tracer_create(&tracer);
    if (rc == PMT_OK)
        rc = pmt_tracer_set_param(tracer, PMT_PARAM_EVENT_MASK, events);
    if (rc == PMT_OK)
        rc = pmt_tracer_set_param(tracer, PMT_PARAM_D_RSS_TRIGGER, trigger);
    if (rc == PMT_OK && prefix)
        rc = pmt__tracer_set_own_code_prefix(tracer, prefix);
    pmt_sink *log = NULL;
    if (rc == PMT_OK)
        rc = pmt_sink_text_open(&log, path, message);
    if (rc == PMT_OK) {
        rc = pmt_tracer_add_sink(tracer, log);
        if (rc != PMT_OK)
            pmt_sink_destroy(log);
    }
    if (rc != PMT_OK) {
        raise_status(rc, path);
        pmt_tracer_destroy(tracer);
        Py_XDECREF(path_bytes);
        return -1;
    }
    Py_XDECREF(path_bytes);
    self->tracer = tracer;
    self->log = log;
    return 0;
}

static void Tracer_dealloc(TracerObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    /* Stopping a running tracer calls into sys; a deallocator must leave no error behind. */
    PyObject *err_type, *err_value, *err_tb;
    PyErr_Fetch(&err_type, &err_value, &err_tb);
    pmt_tracer_destroy(self->tracer); /* stops a running tracer and closes its log */
    PyErr_Clear();
    PyErr_Restore(err_type, err_value, err_tb);
    freefunc tp_free = (freefunc)PyType_GetSlot(type, Py_tp_free);
    tp_free(self);
    Py_DECREF(type);
}

static int check_ready(TracerObject *self)
{
    if (!self->tracer) {
        PyErr_SetString(PyExc_RuntimeError, "Tracer was not initialised");
        return -1;
    }
    return 0;
}

#define TRACER_ACTION(name, call)                                                                  \
    static PyObject *Tracer_##name(TracerObject *self, PyObject *unused)                           \
    {                                                                                              \
        (void)unused;                                                                              \
        if (check_ready(self) != 0)                                                                \
            return NULL;                                                                           \
        int rc = call(self->tracer);                                                               \
        if (rc != PMT_OK)                                                                          \
            return raise_status(rc, NULL);                                                         \
        Py_RETURN_NONE;                                                                            \
    }
TRACER_ACTION(start, pmt_tracer_start)
TRACER_ACTION(stop, pmt_tracer_stop)
TRACER_ACTION(pause, pmt_tracer_pause)
TRACER_ACTION(resume, pmt_tracer_resume)

static PyObject *Tracer_mark(TracerObject *self, PyObject *text)
{
    if (check_ready(self) != 0)
        return NULL;
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "the message must be str");
        return NULL;
    }
    const char *utf8;
    if (utf8_without_nul(text, "the message", &utf8) != 0)
        return NULL;
    int rc = pmt_tracer_mark(self->tracer, utf8);
    if (rc != PMT_OK)
        return raise_status(rc, NULL);
    Py_RETURN_NONE;
}

static PyObject *Tracer_get_log_path(TracerObject *self, void *closure)
{
    (void)closure;
    const char *path = self->log ? pmt_sink_path(self->log) : NULL;
    if (!path)
        Py_RETURN_NONE;
    return PyUnicode_DecodeFSDefault(path);
}

static PyObject *stat_of(TracerObject *self, pmt_stat stat)
{
    uint64_t value = 0;
    if (check_ready(self) != 0)
        return NULL;
    pmt_tracer_get_stat(self->tracer, stat, &value);
    return PyLong_FromUnsignedLongLong(value);
}

static PyObject *Tracer_get_events_seen(TracerObject *self, void *closure)
{
    (void)closure;
    return stat_of(self, PMT_STAT_EVENTS_SEEN);
}

static PyObject *Tracer_get_events_written(TracerObject *self, void *closure)
{
    (void)closure;
    return stat_of(self, PMT_STAT_EVENTS_WRITTEN);
}

static PyObject *Tracer_get_state(TracerObject *self, void *closure)
{
    (void)closure;
    if (check_ready(self) != 0)
        return NULL;
    static const char *const names[] = {"created", "running", "paused", "stopped"};
    int state = pmt_tracer_state_of(self->tracer);
    return PyUnicode_FromString(state >= 0 && state <= 3 ? names[state] : "unknown");
}

static PyMethodDef Tracer_methods[] = {
    {"start", (PyCFunction)Tracer_start, METH_NOARGS, "Start tracing this thread."},
    {"stop", (PyCFunction)Tracer_stop, METH_NOARGS, "Stop for good and finish the log."},
    {"pause", (PyCFunction)Tracer_pause, METH_NOARGS, "Detach for a while."},
    {"resume", (PyCFunction)Tracer_resume, METH_NOARGS, "Re-attach after pause()."},
    {"mark", (PyCFunction)Tracer_mark, METH_O, "Write a message row into the log."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Tracer_getset[] = {
    {"log_path", (getter)Tracer_get_log_path, NULL, "Path of the log file.", NULL},
    {"events_seen", (getter)Tracer_get_events_seen, NULL, "Events seen (numbered).", NULL},
    {"events_written", (getter)Tracer_get_events_written, NULL, "Events written.", NULL},
    {"state", (getter)Tracer_get_state, NULL, "created, running, paused or stopped.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot Tracer_slots[] = {
    {Py_tp_doc, "Tracer(events, d_rss_trigger=-1, filepath=None, message=None, "
                "own_code_prefix=None): one libpymemtrace tracer writing a text log."},
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_init, Tracer_init},
    {Py_tp_dealloc, Tracer_dealloc},
    {Py_tp_methods, Tracer_methods},
    {Py_tp_getset, Tracer_getset},
    {0, NULL},
};

static PyType_Spec Tracer_spec = {
    "pymemtrace._pymemtrace.Tracer", sizeof(TracerObject), 0, Py_TPFLAGS_DEFAULT, Tracer_slots,
};

static PyObject *rss_result(int rc, uint64_t value)
{
    if (rc != PMT_OK)
        return raise_status(rc, NULL);
    return PyLong_FromUnsignedLongLong(value);
}

static PyObject *mod_rss(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    uint64_t v = 0;
    int rc = pmt_rss_current(&v);
    return rss_result(rc, v);
}

static PyObject *mod_rss_peak(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    uint64_t v = 0;
    int rc = pmt_rss_peak(&v);
    return rss_result(rc, v);
}

static PyMethodDef module_methods[] = {
    {"rss", mod_rss, METH_NOARGS, "rss() -> int: current resident set size in bytes."},
    {"rss_peak", mod_rss_peak, METH_NOARGS, "rss_peak() -> int: peak resident set size in bytes."},
    {NULL, NULL, 0, NULL},
};

static int module_exec(PyObject *module)
{
    module_state *state = PyModule_GetState(module);
    state->tracer_type = PyType_FromModuleAndSpec(module, &Tracer_spec, NULL);
    if (!state->tracer_type || PyModule_AddType(module, (PyTypeObject *)state->tracer_type) < 0)
        return -1;
    static const struct {
        const char *name;
        long long value;
    } constants[] = {
        {"EV_CALL", PMT_EV_CALL},
        {"EV_RETURN", PMT_EV_RETURN},
        {"EV_C_CALL", PMT_EV_C_CALL},
        {"EV_C_RETURN", PMT_EV_C_RETURN},
        {"EV_C_EXCEPTION", PMT_EV_C_EXCEPTION},
        {"EV_EXCEPTION", PMT_EV_EXCEPTION},
        {"EV_LINE", PMT_EV_LINE},
        {"MASK_PROFILE", (long long)PMT_EV_MASK_PROFILE},
        {"MASK_TRACE", (long long)PMT_EV_MASK_TRACE},
    };
    for (size_t i = 0; i < sizeof constants / sizeof *constants; i++)
        if (PyModule_AddObject(module, constants[i].name, PyLong_FromLongLong(constants[i].value)) <
            0)
            return -1;
    if (PyModule_AddStringConstant(module, "library_version", pmt_version_string()) < 0)
        return -1;
    return PyModule_AddStringConstant(module, "rss_provider", pmt_rss_default_provider_name());
}

static int module_traverse(PyObject *module, visitproc visit, void *arg)
{
    module_state *state = PyModule_GetState(module);
    Py_VISIT(state->tracer_type);
    return 0;
}

static int module_clear(PyObject *module)
{
    module_state *state = PyModule_GetState(module);
    Py_CLEAR(state->tracer_type);
    return 0;
}

static void module_free(void *module)
{
    module_clear((PyObject *)module);
}

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, module_exec},
    {0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    "_pymemtrace",
    "Thin binding of libpymemtrace; use the pymemtrace package instead.",
    sizeof(module_state),
    module_methods,
    module_slots,
    module_traverse,
    module_clear,
    module_free,
};

PyMODINIT_FUNC PyInit__pymemtrace(void); /* the module's one export */

PyMODINIT_FUNC PyInit__pymemtrace(void)
{
    return PyModuleDef_Init(&module_def);
}
