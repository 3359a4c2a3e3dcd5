/* _pymemtrace.Tracer: one libpymemtrace tracer with its sinks (a text or binary log file, an
 * optional second binary file, an optional Python callable). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "binding.h"

/* Internal: marks the package's own files so that its frames are never reported. */
int pmt__tracer_set_own_code_prefix(pmt_tracer *tracer, const char *prefix);

typedef struct {
    PyObject_HEAD pmt_tracer *tracer;
    pmt_sink *log;    /* the main log file, owned by tracer (NULL for log_format="none") */
    pmt_sink *binary; /* an extra binary log, owned by tracer */
    pmt_sink *call;   /* the Python callable's sink, owned by tracer */
} TracerObject;

/* --- a Python callable as a sink ------------------------------------------------------------ */

/* Allocation, object and sample events wait here: they may come from inside CPython's allocator
 * or reference tracer, where no Python code may run (an exception may be set, an object half
 * made). They reach the callable in order, before the next other event, and at flush and
 * finish. A sample waits with a copy of its fields (the tracer's copy is gone by then). */
enum { MAX_WAITING = 1 << 16 };

typedef struct waiting_event {
    pmt_event ev;
    pmt_sample sample; /* ev.sample points here once the event is delivered */
} waiting_event;

typedef struct callable_sink {
    PyObject *callable;
    PyObject *event_type, *sample_type;
    waiting_event *waiting;
    size_t waiting_count, waiting_capacity;
    uint64_t delivered; /* events the callable took without raising */
    int failed;
} callable_sink;

static int call_with(callable_sink *s, const pmt_event *ev)
{
    PyObject *event = pmt_py_event_new(s->event_type, s->sample_type, ev);
    PyObject *result = event ? PyObject_CallFunctionObjArgs(s->callable, event, NULL) : NULL;
    Py_XDECREF(event);
    if (!result) {
        PyErr_WriteUnraisable(s->callable);
        s->failed = 1;
        return -1;
    }
    Py_DECREF(result);
    s->delivered++;
    return 0;
}

static int deliver_waiting(callable_sink *s)
{
    size_t n = s->waiting_count;
    s->waiting_count = 0;
    for (size_t i = 0; i < n; i++) {
        if (s->waiting[i].ev.sample)
            s->waiting[i].ev.sample = &s->waiting[i].sample;
        if (call_with(s, &s->waiting[i].ev) != 0)
            return -1;
    }
    return 0;
}

static int keep_waiting(callable_sink *s, const pmt_event *ev)
{
    if (s->waiting_count == s->waiting_capacity) {
        size_t capacity = s->waiting_capacity ? s->waiting_capacity * 2 : 256;
        waiting_event *grown = capacity <= MAX_WAITING
                                   ? realloc(s->waiting, capacity * sizeof *grown)
                                   : NULL; /* plain malloc: not CPython's allocator */
        if (!grown)
            return 0; /* beyond MAX_WAITING: not stored, so counted lost */
        s->waiting = grown;
        s->waiting_capacity = capacity;
    }
    size_t size = ev->struct_size < sizeof(pmt_event) ? ev->struct_size : sizeof(pmt_event);
    waiting_event *copy = &s->waiting[s->waiting_count++];
    memset(copy, 0, sizeof *copy);
    memcpy(&copy->ev, ev, size);
    if (size >= offsetof(pmt_event, sample) + sizeof ev->sample && ev->sample) {
        copy->sample = *ev->sample;
        copy->sample.label = ev->message; /* the tracer's: lives as long as it */
        copy->ev.sample = &copy->sample;  /* set again at delivery: the array may move */
    }
    return 0;
}

/* Runs with the GIL held (events come from the interpreter's hooks). An exception disables the
 * sink and is reported as unraisable: the traced program goes on. */
static int callable_write(const pmt_event *ev, void *user_data)
{
    callable_sink *s = user_data;
    /* Allocations and objects come from inside CPython's allocators and reference tracer, where
     * no Python may run: they wait for the next event that comes from a hook. */
    if ((ev->kind >= PMT_EV_ALLOC && ev->kind <= PMT_EV_FREE) || ev->kind == PMT_EV_OBJECT_NEW ||
        ev->kind == PMT_EV_OBJECT_DELETE || ev->kind == PMT_EV_SAMPLE)
        return keep_waiting(s, ev);
    if (deliver_waiting(s) != 0)
        return -1;
    return call_with(s, ev);
}

static int callable_flush(void *user_data)
{
    return deliver_waiting(user_data);
}

static uint64_t callable_stored(void *user_data)
{
    const callable_sink *s = user_data;
    return s->delivered + s->waiting_count;
}

static void callable_close(void *user_data)
{
    callable_sink *s = user_data;
    Py_XDECREF(s->callable);
    Py_XDECREF(s->event_type);
    Py_XDECREF(s->sample_type);
    free(s->waiting);
    PyMem_Free(s);
}

static int add_callable_sink(pmt_tracer *tracer, PyObject *callable, PyObject *event_type,
                             PyObject *sample_type, pmt_sink **out)
{
    callable_sink *s = PyMem_Malloc(sizeof *s);
    if (!s)
        return PMT_ENOMEM;
    Py_INCREF(callable);
    Py_INCREF(event_type);
    Py_INCREF(sample_type);
    memset(s, 0, sizeof *s);
    s->callable = callable;
    s->event_type = event_type;
    s->sample_type = sample_type;
    pmt_sink_ops ops = PMT_SINK_OPS_INIT;
    ops.write = callable_write;
    ops.flush = callable_flush;
    ops.finish = callable_flush;
    ops.stored = callable_stored;
    ops.close = callable_close;
    pmt_sink *sink = NULL;
    int rc = pmt_sink_create(&sink, &ops, s);
    if (rc != PMT_OK) {
        callable_close(s);
        return rc;
    }
    rc = pmt_tracer_add_sink(tracer, sink);
    if (rc != PMT_OK)
        pmt_sink_destroy(sink);
    else
        *out = sink;
    return rc;
}

/* --- construction ---------------------------------------------------------------------------- */

/* Destroys a tracer that never started and removes the log files its sinks created (they hold a
 * header only): what a failed start or construction leaves behind is nothing. */
static void discard_tracer(pmt_tracer *tracer, pmt_sink *log, pmt_sink *binary)
{
    char *paths[2] = {NULL, NULL};
    pmt_sink *files[2] = {log, binary};
    for (int i = 0; i < 2; i++) {
        const char *path = files[i] ? pmt_sink_path(files[i]) : NULL;
        size_t size = path ? strlen(path) + 1 : 0;
        paths[i] = size ? malloc(size) : NULL;
        if (paths[i])
            memcpy(paths[i], path, size);
    }
    pmt_tracer_destroy(tracer); /* closes the files first */
    for (int i = 0; i < 2; i++) {
        if (paths[i])
            unlink(paths[i]);
        free(paths[i]);
    }
}

static int add_file_sink(pmt_tracer *tracer, const char *format, const char *path,
                         const char *message, long compression, pmt_sink **out)
{
    *out = NULL;
    int rc;
    if (strcmp(format, "text") == 0) {
        rc = pmt_sink_text_open(out, path, message);
    } else {
        pmt_binary_options options = PMT_BINARY_OPTIONS_INIT;
        options.compression = (uint32_t)compression;
        rc = pmt_sink_binary_open(out, path, message, &options);
    }
    if (rc == PMT_OK) {
        rc = pmt_tracer_add_sink(tracer, *out);
        if (rc != PMT_OK) {
            pmt_sink_destroy(*out);
            *out = NULL;
        }
    }
    return rc;
}

/* on_fork="stop" (or None) or "follow": a #pmt_fork_mode, or -1 with an exception set. */
static int on_fork_of(PyObject *value)
{
    if (value == Py_None)
        return PMT_FORK_STOP;
    if (PyUnicode_Check(value) && PyUnicode_CompareWithASCIIString(value, "stop") == 0)
        return PMT_FORK_STOP;
    if (PyUnicode_Check(value) && PyUnicode_CompareWithASCIIString(value, "follow") == 0)
        return PMT_FORK_FOLLOW;
    PyErr_Format(PyExc_ValueError, "on_fork must be 'stop' or 'follow', not %R", value);
    return -1;
}

static int Tracer_init(TracerObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"events",
                             "d_rss_trigger",
                             "filepath",
                             "message",
                             "own_code_prefix",
                             "log_format",
                             "compression",
                             "binary_path",
                             "sink",
                             "rss_mode",
                             "rss_interval_ns",
                             "threads",
                             "include_files",
                             "exclude_files",
                             "include_functions",
                             "exclude_functions",
                             "max_depth",
                             "sample_every",
                             "time_window",
                             "rss_above",
                             "on_fork",
                             "user_files",
                             "not_user_files",
                             "calls",
                             "allocators",
                             "alloc_min_size",
                             "alloc_sample_bytes",
                             "objects",
                             "include_types",
                             "exclude_types",
                             NULL};
    PyObject *events_obj, *trigger_obj = NULL, *path_obj = Py_None, *message_obj = Py_None;
    PyObject *prefix_obj = Py_None, *format_obj = Py_None, *binary_obj = Py_None;
    PyObject *sink_obj = Py_None, *on_fork_obj = Py_None;
    long compression = 0;
    long long rss_mode = PMT_RSS_AUTO, rss_interval_ns = 0, threads = PMT_THREADS_ALL;
    long long calls = 1, allocators = 0, alloc_min_size = 0, alloc_sample_bytes = 0, objects = 0;
    PyObject *filter_args[PMT_PY_FILTER_ARGS] = {NULL};
    if (!PyArg_ParseTupleAndKeywords(
            args, kwargs, "O|OOOOO$lOOLLLOOOOOOOOOOOLLLLLOO", kwlist, &events_obj, &trigger_obj,
            &path_obj, &message_obj, &prefix_obj, &format_obj, &compression, &binary_obj, &sink_obj,
            &rss_mode, &rss_interval_ns, &threads, &filter_args[0], &filter_args[1],
            &filter_args[2], &filter_args[3], &filter_args[4], &filter_args[5], &filter_args[6],
            &filter_args[7], &on_fork_obj, &filter_args[8], &filter_args[9], &calls, &allocators,
            &alloc_min_size, &alloc_sample_bytes, &objects, &filter_args[10], &filter_args[11]))
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
    int64_t default_trigger = 0;
    pmt_param_default(PMT_PARAM_D_RSS_TRIGGER, &default_trigger);
    long long trigger = trigger_obj ? PyLong_AsLongLong(trigger_obj) : (long long)default_trigger;
    if (PyErr_Occurred()) {
        PyErr_Clear();
        PyErr_SetString(PyExc_ValueError, "events or d_rss_trigger out of range");
        return -1;
    }
    /* Refused here rather than at start: bad input raises where it is written. */
    if ((events & ((1LL << PMT_EV_MARK) - 1)) == 0 && allocators == 0 && objects == 0) {
        PyErr_Format(PyExc_ValueError,
                     "events 0x%llx selects no event a hook produces, no allocator is traced and "
                     "no object counted",
                     events);
        return -1;
    }
    if (sink_obj != Py_None && !PyCallable_Check(sink_obj)) {
        PyErr_SetString(PyExc_TypeError, "sink must be callable or None");
        return -1;
    }
    int on_fork = on_fork_of(on_fork_obj);
    if (on_fork < 0)
        return -1;
    const char *message, *prefix, *format;
    if (pmt_py_utf8(message_obj, "message", &message) != 0 ||
        pmt_py_utf8(prefix_obj, "own_code_prefix", &prefix) != 0 ||
        pmt_py_utf8(format_obj, "log_format", &format) != 0)
        return -1;
    format = format ? format : "text";
    if (strcmp(format, "text") != 0 && strcmp(format, "binary") != 0 &&
        strcmp(format, "none") != 0) {
        PyErr_Format(PyExc_ValueError, "log_format must be 'text', 'binary' or 'none', not '%s'",
                     format);
        return -1;
    }
    module_state *state = pmt_py_state_of((PyObject *)self);
    if (!state)
        return -1;
    PyObject *path_bytes, *binary_bytes;
    if (pmt_py_fspath(path_obj, &path_bytes) != 0)
        return -1;
    if (pmt_py_fspath(binary_obj, &binary_bytes) != 0) {
        Py_XDECREF(path_bytes);
        return -1;
    }
    const char *path = path_bytes ? PyBytes_AsString(path_bytes) : NULL;
    const char *binary_path = binary_bytes ? PyBytes_AsString(binary_bytes) : NULL;
    const char *failed_path = NULL;
    pmt_py_filters filters;
    if (pmt_py_filters_parse(filter_args, &filters) != 0) { /* before any file exists */
        Py_XDECREF(path_bytes);
        Py_XDECREF(binary_bytes);
        return -1;
    }
    pmt_tracer *tracer = NULL;
    int rc = pmt_tracer_create(&tracer);
    if (rc == PMT_OK)
        rc = pmt_tracer_set_param(tracer, PMT_PARAM_EVENT_MASK, events);
    if (rc == PMT_OK)
        rc = pmt_tracer_set_param(tracer, PMT_PARAM_D_RSS_TRIGGER, trigger);
    if (rc == PMT_OK)
        rc = pmt_tracer_set_param(tracer, PMT_PARAM_RSS_MODE, rss_mode);
    if (rc == PMT_OK)
        rc = pmt_tracer_set_param(tracer, PMT_PARAM_RSS_INTERVAL_NS, rss_interval_ns);
    if (rc == PMT_OK)
        rc = pmt_tracer_set_param(tracer, PMT_PARAM_THREADS, threads);
    if (rc == PMT_OK)
        rc = pmt_tracer_set_param(tracer, PMT_PARAM_ON_FORK, on_fork);
    if (rc == PMT_OK)
        rc = pmt_tracer_set_param(tracer, PMT_PARAM_CALLS, calls);
    if (rc == PMT_OK)
        rc = pmt_tracer_set_param(tracer, PMT_PARAM_ALLOCATORS, allocators);
    if (rc == PMT_OK)
        rc = pmt_tracer_set_param(tracer, PMT_PARAM_ALLOC_MIN_SIZE, alloc_min_size);
    if (rc == PMT_OK)
        rc = pmt_tracer_set_param(tracer, PMT_PARAM_ALLOC_SAMPLE_BYTES, alloc_sample_bytes);
    if (rc == PMT_OK)
        rc = pmt_tracer_set_param(tracer, PMT_PARAM_OBJECTS, objects);
    if (rc == PMT_OK && prefix)
        rc = pmt__tracer_set_own_code_prefix(tracer, prefix);
    if (rc == PMT_OK)
        rc = pmt_py_filters_apply(tracer, &filters);
    if (rc == PMT_OK && strcmp(format, "none") != 0) {
        rc = add_file_sink(tracer, format, path, message, compression, &self->log);
        failed_path = path;
    }
    if (rc == PMT_OK && binary_path) {
        rc = add_file_sink(tracer, "binary", binary_path, message, compression, &self->binary);
        failed_path = binary_path;
    }
    if (rc == PMT_OK && sink_obj != Py_None)
        rc =
            add_callable_sink(tracer, sink_obj, state->event_type, state->sample_type, &self->call);
    if (rc != PMT_OK) {
        pmt_py_raise(rc, failed_path);
        discard_tracer(tracer, self->log, self->binary); /* a log created before: removed */
        self->log = self->binary = self->call = NULL;
    } else {
        self->tracer = tracer;
    }
    pmt_py_filters_clear(&filters);
    Py_XDECREF(path_bytes);
    Py_XDECREF(binary_bytes);
    return rc == PMT_OK ? 0 : -1;
}

pmt_tracer *pmt_py_tracer_of(PyObject *module_object, PyObject *object)
{
    module_state *state = pmt_py_state_of(module_object);
    int is_tracer = PyObject_IsInstance(object, state->tracer_type);
    if (is_tracer < 0)
        return NULL;
    if (!is_tracer || !((TracerObject *)object)->tracer) {
        PyErr_Format(PyExc_TypeError, "tracer must be a _pymemtrace.Tracer, not %s",
                     Py_TYPE(object) == Py_TYPE(Py_None) ? "None" : "another object");
        return NULL;
    }
    return ((TracerObject *)object)->tracer;
}

static void Tracer_dealloc(TracerObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    /* Stopping a running tracer calls into sys; a deallocator must leave no error behind. */
    PyObject *err_type, *err_value, *err_tb;
    PyErr_Fetch(&err_type, &err_value, &err_tb);
    pmt_tracer_destroy(self->tracer); /* stops a running tracer and closes its logs */
    PyErr_Clear();
    PyErr_Restore(err_type, err_value, err_tb);
    freefunc tp_free = (freefunc)PyType_GetSlot(type, Py_tp_free);
    tp_free(self);
    Py_DECREF(type);
}

/* --- methods --------------------------------------------------------------------------------- */

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
            return pmt_py_raise(rc, NULL);                                                         \
        Py_RETURN_NONE;                                                                            \
    }
TRACER_ACTION(start, pmt_tracer_start)
TRACER_ACTION(stop, pmt_tracer_stop)
TRACER_ACTION(pause, pmt_tracer_pause)
TRACER_ACTION(resume, pmt_tracer_resume)
TRACER_ACTION(after_fork, pmt_tracer_after_fork)

static PyObject *Tracer_discard(TracerObject *self, PyObject *unused)
{
    (void)unused;
    if (check_ready(self) != 0)
        return NULL;
    if (pmt_tracer_state_of(self->tracer) != PMT_STATE_CREATED) {
        PyErr_SetString(PyExc_RuntimeError, "discard() is for a tracer that never started");
        return NULL;
    }
    discard_tracer(self->tracer, self->log, self->binary);
    self->tracer = NULL;
    self->log = self->binary = self->call = NULL;
    Py_RETURN_NONE;
}

static PyObject *Tracer_mark(TracerObject *self, PyObject *text)
{
    if (check_ready(self) != 0)
        return NULL;
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "the message must be str");
        return NULL;
    }
    const char *utf8;
    if (pmt_py_utf8(text, "the message", &utf8) != 0)
        return NULL;
    int rc = pmt_tracer_mark(self->tracer, utf8);
    if (rc != PMT_OK)
        return pmt_py_raise(rc, NULL);
    Py_RETURN_NONE;
}

int pmt_py_append_call_row(const pmt_call_stats *row, void *user_data)
{
    PyObject *item = Py_BuildValue("(IIIssiKLLLK)", row->node, row->parent, row->flags, row->file,
                                   row->function, (int)row->line, (unsigned long long)row->calls,
                                   (long long)row->total, (long long)row->own,
                                   (long long)row->largest, (unsigned long long)row->peak_rss);
    int rc = item ? PyList_Append((PyObject *)user_data, item) : -1;
    Py_XDECREF(item);
    return rc;
}

static PyObject *Tracer_call_stats(TracerObject *self, PyObject *unused)
{
    (void)unused;
    if (check_ready(self) != 0)
        return NULL;
    PyObject *rows = PyList_New(0);
    if (rows && pmt_tracer_call_stats(self->tracer, pmt_py_append_call_row, rows) != PMT_OK) {
        Py_CLEAR(rows); /* the Python error of the failed append is set */
    }
    return rows;
}

/* {"sink": "log"|"binary"|"callable", "path", "given", "stored", "lost", "error", "errno",
 * "strerror"} for one sink. */
static PyObject *counts_of(pmt_sink *sink, const char *role)
{
    pmt_sink_counts c = {.struct_size = sizeof c};
    if (pmt_sink_counts_get(sink, &c) != PMT_OK)
        return pmt_py_raise(PMT_EINVAL, NULL);
    const char *path = pmt_sink_path(sink);
    PyObject *path_obj = path ? PyUnicode_DecodeFSDefault(path) : (Py_INCREF(Py_None), Py_None);
    const char *why = c.os_error ? strerror(c.os_error) : c.error ? pmt_strerror(c.error) : NULL;
    PyObject *d = path_obj ? Py_BuildValue("{sssOsKsKsKsisiss}", "sink", role, "path", path_obj,
                                           "given", (unsigned long long)c.events_given, "stored",
                                           (unsigned long long)c.events_stored, "lost",
                                           (unsigned long long)c.events_lost, "error", (int)c.error,
                                           "errno", (int)c.os_error, "strerror", why)
                           : NULL;
    Py_XDECREF(path_obj);
    return d;
}

static PyObject *Tracer_sink_counts(TracerObject *self, PyObject *unused)
{
    (void)unused;
    if (check_ready(self) != 0)
        return NULL;
    pmt_sink *sinks[] = {self->log, self->binary, self->call};
    const char *roles[] = {"log", "binary", "callable"};
    PyObject *list = PyList_New(0);
    for (size_t i = 0; list && i < sizeof sinks / sizeof *sinks; i++) {
        if (!sinks[i])
            continue;
        PyObject *d = counts_of(sinks[i], roles[i]);
        if (!d || PyList_Append(list, d) != 0)
            Py_CLEAR(list);
        Py_XDECREF(d);
    }
    return list;
}

static PyObject *path_of(pmt_sink *sink)
{
    const char *path = sink ? pmt_sink_path(sink) : NULL;
    if (!path)
        Py_RETURN_NONE;
    return PyUnicode_DecodeFSDefault(path);
}

static PyObject *Tracer_get_log_path(TracerObject *self, void *closure)
{
    (void)closure;
    return path_of(self->log);
}

static PyObject *Tracer_get_binary_path(TracerObject *self, void *closure)
{
    (void)closure;
    return path_of(self->binary);
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

static PyObject *Tracer_get_sinks_failed(TracerObject *self, void *closure)
{
    (void)closure;
    return stat_of(self, PMT_STAT_SINKS_FAILED);
}

static PyObject *Tracer_get_events_lost(TracerObject *self, void *closure)
{
    (void)closure;
    return stat_of(self, PMT_STAT_EVENTS_LOST);
}

static PyObject *Tracer_get_samples_written(TracerObject *self, void *closure)
{
    (void)closure;
    return stat_of(self, PMT_STAT_SAMPLES_WRITTEN);
}

static PyObject *Tracer_get_samples_lost(TracerObject *self, void *closure)
{
    (void)closure;
    return stat_of(self, PMT_STAT_SAMPLES_LOST);
}

static PyObject *Tracer_allocation_stats(TracerObject *self, PyObject *unused)
{
    (void)unused;
    if (check_ready(self) != 0)
        return NULL;
    static const struct {
        const char *name;
        pmt_stat stat;
    } stats[] = {{"seen", PMT_STAT_ALLOCATIONS_SEEN},
                 {"untraced", PMT_STAT_ALLOCATIONS_UNTRACED},
                 {"frees_of_null", PMT_STAT_FREES_OF_NULL},
                 {"live_blocks", PMT_STAT_BLOCKS_LIVE},
                 {"live_bytes", PMT_STAT_BLOCK_BYTES_LIVE}};
    PyObject *result = PyDict_New();
    for (size_t i = 0; result && i < sizeof stats / sizeof *stats; i++) {
        uint64_t value = 0;
        pmt_tracer_get_stat(self->tracer, stats[i].stat, &value);
        PyObject *number = PyLong_FromUnsignedLongLong(value);
        if (!number || PyDict_SetItemString(result, stats[i].name, number) < 0)
            Py_CLEAR(result);
        Py_XDECREF(number);
    }
    return result;
}

static int add_type_count(const pmt_type_count *row, void *user_data)
{
    PyObject *counts = Py_BuildValue("(KKL)", (unsigned long long)row->created,
                                     (unsigned long long)row->destroyed, (long long)row->live);
    int rc = counts ? PyDict_SetItemString(user_data, row->name, counts) : -1;
    Py_XDECREF(counts);
    return rc < 0 ? -1 : 0;
}

/* {type name: (created, destroyed, live)} of the counted types (PMT_PARAM_OBJECTS). */
static PyObject *Tracer_object_counts(TracerObject *self, PyObject *unused)
{
    (void)unused;
    if (check_ready(self) != 0)
        return NULL;
    PyObject *result = PyDict_New();
    if (result && pmt_tracer_object_counts(self->tracer, add_type_count, result) != PMT_OK)
        Py_CLEAR(result);
    return result;
}

static PyObject *Tracer_get_hook(TracerObject *self, void *closure)
{
    (void)closure;
    if (check_ready(self) != 0)
        return NULL;
    const char *name = pmt_tracer_hook_name(self->tracer);
    if (!name)
        Py_RETURN_NONE;
    return PyUnicode_FromString(name);
}

static PyObject *Tracer_get_rss_provider(TracerObject *self, void *closure)
{
    (void)closure;
    if (check_ready(self) != 0)
        return NULL;
    const char *name = pmt_tracer_rss_provider_name(self->tracer);
    if (!name)
        Py_RETURN_NONE;
    return PyUnicode_FromString(name);
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
    {"call_stats", (PyCFunction)Tracer_call_stats, METH_NOARGS,
     "call_stats() -> [(node, parent, flags, file, function, line, calls, total, own, largest, "
     "peak_rss)]: RSS growth per call path so far (parents first; flags 1: the user's code)."},
    {"discard", (PyCFunction)Tracer_discard, METH_NOARGS,
     "discard(): destroy a tracer that never started and remove the log files it created."},
    {"sink_counts", (PyCFunction)Tracer_sink_counts, METH_NOARGS,
     "sink_counts() -> [{sink, path, given, stored, lost, error, errno, strerror}]: what became "
     "of the events given to each sink (stored: in its file; lost: after it failed)."},
    {"object_counts", (PyCFunction)Tracer_object_counts, METH_NOARGS,
     "object_counts() -> dict: {type name: (created, destroyed, live)} of the counted types."},
    {"allocation_stats", (PyCFunction)Tracer_allocation_stats, METH_NOARGS,
     "allocation_stats() -> dict: allocator calls seen and untraced (made without the GIL, or "
     "the tracer's own), frees of NULL, and the recorded blocks still live (count, bytes)."},
    {"after_fork", (PyCFunction)Tracer_after_fork, METH_NOARGS,
     "In a child of fork: apply on_fork now (a following child's log_path is its own)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Tracer_getset[] = {
    {"log_path", (getter)Tracer_get_log_path, NULL, "Path of the log file.", NULL},
    {"binary_path", (getter)Tracer_get_binary_path, NULL, "Path of the extra binary log.", NULL},
    {"events_seen", (getter)Tracer_get_events_seen, NULL, "Events seen (numbered).", NULL},
    {"events_written", (getter)Tracer_get_events_written, NULL, "Events written.", NULL},
    {"sinks_failed", (getter)Tracer_get_sinks_failed, NULL, "Sinks disabled by a failure.", NULL},
    {"events_lost", (getter)Tracer_get_events_lost, NULL,
     "Events given to failed sinks that their files do not hold.", NULL},
    {"samples_written", (getter)Tracer_get_samples_written, NULL,
     "Samples of the attached Monitor written as SAMPLE events.", NULL},
    {"samples_lost", (getter)Tracer_get_samples_lost, NULL,
     "Samples of the attached Monitor that found its queue full (no event for that long).", NULL},
    {"state", (getter)Tracer_get_state, NULL, "created, running, paused or stopped.", NULL},
    {"rss_provider", (getter)Tracer_get_rss_provider, NULL,
     "The RSS provider in use once started (None before).", NULL},
    {"hook", (getter)Tracer_get_hook, NULL,
     "How events arrive while running: sys.monitoring, PyEval_SetProfile or sys.setprofile.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot Tracer_slots[] = {
    {Py_tp_doc, "Tracer(events, d_rss_trigger=-1, filepath=None, message=None, "
                "own_code_prefix=None, *, log_format='text', compression=0, binary_path=None, "
                "sink=None, rss_mode=0, rss_interval_ns=0, threads=0, include_files=None, "
                "exclude_files=None, include_functions=None, exclude_functions=None, "
                "max_depth=None, sample_every=1, time_window=None, rss_above=0, on_fork='stop', "
                "user_files=None, not_user_files=None, calls=1): one "
                "libpymemtrace tracer, its filter stages and its sinks."},
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_init, Tracer_init},
    {Py_tp_dealloc, Tracer_dealloc},
    {Py_tp_methods, Tracer_methods},
    {Py_tp_getset, Tracer_getset},
    {0, NULL},
};

PyType_Spec pmt_py_tracer_spec = {
    "pymemtrace._pymemtrace.Tracer", sizeof(TracerObject), 0, Py_TPFLAGS_DEFAULT, Tracer_slots,
};
