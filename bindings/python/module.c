/* _pymemtrace: a thin limited-API binding of libpymemtrace for the `pymemtrace` package. The
 * Python side (Profile, Trace, nesting, decorators, the command line) is pure Python; these
 * files only turn Python arguments into library calls and library errors into exceptions. */
#include "binding.h"

static PyObject *rss_result(int rc, uint64_t value)
{
    if (rc != PMT_OK)
        return pmt_py_raise(rc, NULL);
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

static PyObject *mod_compression_supported(PyObject *module, PyObject *codec)
{
    (void)module;
    long value = PyLong_AsLong(codec);
    if (value == -1 && PyErr_Occurred())
        return NULL;
    return PyBool_FromLong(value >= 0 && value <= 255 && pmt_compression_supported((int)value));
}

static PyObject *mod_probes_available(PyObject *module, PyObject *unused)
{
    (void)module, (void)unused;
    return PyBool_FromLong(pmt_probes_available());
}

static PyObject *mod_probe_listeners(PyObject *module, PyObject *name)
{
    (void)module;
    const char *text;
    if (pmt_py_utf8(name, "name", &text) != 0)
        return NULL;
    if (!text) {
        PyErr_SetString(PyExc_TypeError, "name must be a str, not None");
        return NULL;
    }
    unsigned listeners = 0;
    int rc = pmt_probe_listeners(text, &listeners);
    if (rc != PMT_OK)
        return pmt_py_raise(rc, NULL);
    return PyLong_FromUnsignedLong(listeners);
}

static PyMethodDef module_methods[] = {
    {"rss", mod_rss, METH_NOARGS, "rss() -> int: current resident set size in bytes."},
    {"rss_peak", mod_rss_peak, METH_NOARGS, "rss_peak() -> int: peak resident set size in bytes."},
    {"compression_supported", mod_compression_supported, METH_O,
     "compression_supported(codec) -> bool: whether this build reads and writes it."},
    {"probes_available", mod_probes_available, METH_NOARGS,
     "probes_available() -> bool: whether this build has its USDT probes (doc/probes.md)."},
    {"probe_listeners", mod_probe_listeners, METH_O,
     "probe_listeners(name) -> int: consumers attached to the probe now (its semaphore)."},
    {"dump_text", (PyCFunction)(void (*)(void))pmt_py_dump_text, METH_FASTCALL,
     "dump_text(path, fd) -> (events, status): write a binary log as the text log to fd."},
    {"CMalloc", pmt_py_c_malloc, METH_O,
     "CMalloc(size) -> Block: size bytes from libc's malloc, freed when dropped."},
    {"PyRawMalloc", pmt_py_raw_malloc, METH_O,
     "PyRawMalloc(size) -> Block: size bytes from PyMem_RawMalloc, freed when dropped."},
    {"PyMalloc", pmt_py_malloc, METH_O,
     "PyMalloc(size) -> Block: size bytes from PyMem_Malloc, freed when dropped."},
    {NULL, NULL, 0, NULL},
};

/* PARAMS: {name: (default, min, max)} from the library's one table, for the Python checks and
 * the command line's defaults. */
static int add_params(PyObject *module)
{
    static const struct {
        const char *name;
        pmt_param param;
    } params[] = {
        {"d_rss_trigger", PMT_PARAM_D_RSS_TRIGGER},
        {"event_mask", PMT_PARAM_EVENT_MASK},
        {"rss_mode", PMT_PARAM_RSS_MODE},
        {"rss_interval_ns", PMT_PARAM_RSS_INTERVAL_NS},
        {"max_depth", PMT_PARAM_MAX_DEPTH},
        {"sample_every", PMT_PARAM_SAMPLE_EVERY},
        {"time_from_ns", PMT_PARAM_TIME_FROM_NS},
        {"time_until_ns", PMT_PARAM_TIME_UNTIL_NS},
        {"rss_above", PMT_PARAM_RSS_ABOVE},
        {"threads", PMT_PARAM_THREADS},
        {"on_fork", PMT_PARAM_ON_FORK},
        {"calls", PMT_PARAM_CALLS},
        {"allocators", PMT_PARAM_ALLOCATORS},
        {"alloc_min_size", PMT_PARAM_ALLOC_MIN_SIZE},
        {"alloc_sample_bytes", PMT_PARAM_ALLOC_SAMPLE_BYTES},
    };
    PyObject *table = PyDict_New();
    if (!table)
        return -1;
    for (size_t i = 0; i < sizeof params / sizeof *params; i++) {
        int64_t fallback = 0, lo = 0, hi = 0;
        if (pmt_param_default(params[i].param, &fallback) != PMT_OK ||
            pmt_param_bounds(params[i].param, &lo, &hi) != PMT_OK) {
            Py_DECREF(table);
            PyErr_Format(PyExc_RuntimeError, "parameter %s: %s", params[i].name,
                         pmt_last_error_message());
            return -1;
        }
        PyObject *row = Py_BuildValue("(LLL)", (long long)fallback, (long long)lo, (long long)hi);
        if (!row || PyDict_SetItemString(table, params[i].name, row) < 0) {
            Py_XDECREF(row);
            Py_DECREF(table);
            return -1;
        }
        Py_DECREF(row);
    }
    if (PyModule_AddObject(module, "PARAMS", table) < 0) {
        Py_DECREF(table);
        return -1;
    }
    return 0;
}

static int add_constants(PyObject *module)
{
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
        {"MASK_CALLS", (long long)PMT_EV_MASK_CALLS},
        {"MASK_PROFILE", (long long)PMT_EV_MASK_PROFILE},
        {"MASK_TRACE", (long long)PMT_EV_MASK_TRACE},
        {"MASK_GC", (long long)PMT_EV_MASK_GC},
        {"MASK_OBJECTS", (long long)PMT_EV_MASK_OBJECTS},
        {"COMPRESS_NONE", PMT_COMPRESS_NONE},
        {"COMPRESS_ZSTD", PMT_COMPRESS_ZSTD},
        {"COMPRESS_LZ4", PMT_COMPRESS_LZ4},
        {"THREADS_ALL", PMT_THREADS_ALL},
        {"THREADS_CALLING", PMT_THREADS_CALLING},
        {"RSS_AUTO", PMT_RSS_AUTO},
        {"RSS_EXACT", PMT_RSS_EXACT},
        {"RSS_INTERVAL", PMT_RSS_INTERVAL},
        {"RSS_FAULT_GATE", PMT_RSS_FAULT_GATE},
        {"RSS_KERNEL_RING", PMT_RSS_KERNEL_RING},
        {"RSS_NONE", PMT_RSS_NONE},
    };
    for (size_t i = 0; i < sizeof constants / sizeof *constants; i++) {
        PyObject *value = PyLong_FromLongLong(constants[i].value);
        if (!value || PyModule_AddObject(module, constants[i].name, value) < 0) {
            Py_XDECREF(value);
            return -1;
        }
    }
    if (PyModule_AddStringConstant(module, "library_version", pmt_version_string()) < 0)
        return -1;
    if (add_params(module) < 0)
        return -1;
    return PyModule_AddStringConstant(module, "rss_provider", pmt_rss_default_provider_name());
}

static int module_exec(PyObject *module)
{
    module_state *state = PyModule_GetState(module);
    state->tracer_type = PyType_FromModuleAndSpec(module, &pmt_py_tracer_spec, NULL);
    if (!state->tracer_type || PyModule_AddType(module, (PyTypeObject *)state->tracer_type) < 0)
        return -1;
    state->reader_type = PyType_FromModuleAndSpec(module, &pmt_py_reader_spec, NULL);
    if (!state->reader_type || PyModule_AddType(module, (PyTypeObject *)state->reader_type) < 0)
        return -1;
    state->block_type = PyType_FromModuleAndSpec(module, &pmt_py_block_spec, NULL);
    if (!state->block_type || PyModule_AddType(module, (PyTypeObject *)state->block_type) < 0)
        return -1;
    state->monitor_type = PyType_FromModuleAndSpec(module, &pmt_py_monitor_spec, NULL);
    if (!state->monitor_type || PyModule_AddType(module, (PyTypeObject *)state->monitor_type) < 0)
        return -1;
    state->event_type = pmt_py_event_type_new();
    if (!state->event_type)
        return -1;
    Py_INCREF(state->event_type);
    if (PyModule_AddObject(module, "Event", state->event_type) < 0) {
        Py_DECREF(state->event_type);
        return -1;
    }
    state->sample_type = pmt_py_sample_type_new();
    if (!state->sample_type)
        return -1;
    Py_INCREF(state->sample_type);
    if (PyModule_AddObject(module, "Sample", state->sample_type) < 0) {
        Py_DECREF(state->sample_type);
        return -1;
    }
    return add_constants(module);
}

static int module_traverse(PyObject *module, visitproc visit, void *arg)
{
    module_state *state = PyModule_GetState(module);
    Py_VISIT(state->tracer_type);
    Py_VISIT(state->reader_type);
    Py_VISIT(state->block_type);
    Py_VISIT(state->monitor_type);
    Py_VISIT(state->event_type);
    Py_VISIT(state->sample_type);
    return 0;
}

static int module_clear(PyObject *module)
{
    module_state *state = PyModule_GetState(module);
    Py_CLEAR(state->tracer_type);
    Py_CLEAR(state->reader_type);
    Py_CLEAR(state->block_type);
    Py_CLEAR(state->monitor_type);
    Py_CLEAR(state->event_type);
    Py_CLEAR(state->sample_type);
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
