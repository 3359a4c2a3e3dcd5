/* _pymemtrace.LogReader: iterate a binary log's events; dump_text(): the text log of a binary
 * log, byte for byte what the text sink writes for the same events. */
#include <errno.h>

#include "binding.h"

typedef struct {
    PyObject_HEAD pmt_reader *reader;
    PyObject *event_type, *sample_type;
} ReaderObject;

static const char *status_name(int status)
{
    switch (status) {
    case PMT_OK:
        return "complete";
    case PMT_ETRUNCATED:
        return "truncated";
    case PMT_EFORMAT:
        return "damaged";
    default:
        return pmt_strerror(status);
    }
}

/* (state, offset, reason): where and why reading stopped. */
static PyObject *status_tuple(pmt_reader *reader)
{
    uint64_t offset = 0;
    const char *reason = "";
    int status = pmt_reader_status(reader, &offset, &reason);
    return Py_BuildValue("(sKs)", status_name(status), (unsigned long long)offset, reason);
}

static int open_reader(PyObject *path_obj, pmt_reader **out)
{
    PyObject *path_bytes;
    if (pmt_py_fspath(path_obj, &path_bytes) != 0)
        return -1;
    if (!path_bytes) {
        PyErr_SetString(PyExc_TypeError, "path must be str, bytes or os.PathLike");
        return -1;
    }
    const char *path = PyBytes_AsString(path_bytes);
    int rc = pmt_reader_open(out, path);
    if (rc != PMT_OK)
        pmt_py_raise(rc, path);
    Py_DECREF(path_bytes);
    return rc == PMT_OK ? 0 : -1;
}

static int Reader_init(ReaderObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"path", NULL};
    PyObject *path_obj;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O", kwlist, &path_obj))
        return -1;
    if (self->reader) {
        PyErr_SetString(PyExc_RuntimeError, "LogReader.__init__ called twice");
        return -1;
    }
    module_state *state = pmt_py_state_of((PyObject *)self);
    if (!state || open_reader(path_obj, &self->reader) != 0)
        return -1;
    Py_INCREF(state->event_type);
    self->event_type = state->event_type;
    Py_INCREF(state->sample_type);
    self->sample_type = state->sample_type;
    return 0;
}

static void Reader_dealloc(ReaderObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    pmt_reader_close(self->reader);
    Py_XDECREF(self->event_type);
    Py_XDECREF(self->sample_type);
    freefunc tp_free = (freefunc)PyType_GetSlot(type, Py_tp_free);
    tp_free(self);
    Py_DECREF(type);
}

static int check_open(ReaderObject *self)
{
    if (!self->reader) {
        PyErr_SetString(PyExc_ValueError, "the log reader is closed");
        return -1;
    }
    return 0;
}

static PyObject *Reader_iter(PyObject *self)
{
    Py_INCREF(self);
    return self;
}

static PyObject *Reader_next(ReaderObject *self)
{
    if (check_open(self) != 0)
        return NULL;
    const pmt_event *ev;
    if (pmt_reader_next(self->reader, &ev) != 1)
        return NULL; /* StopIteration; status() says whether the log was complete */
    return pmt_py_event_new(self->event_type, self->sample_type, ev);
}

static int set_item(PyObject *dict, const char *key, PyObject *value)
{
    if (!value)
        return -1;
    int rc = PyDict_SetItemString(dict, key, value);
    Py_DECREF(value);
    return rc;
}

static PyObject *Reader_get_info(ReaderObject *self, void *closure)
{
    (void)closure;
    if (check_open(self) != 0)
        return NULL;
    const pmt_log_info *i = pmt_reader_info(self->reader);
    PyObject *d = PyDict_New();
    if (!d)
        return NULL;
    static const char *const codecs[] = {"none", "zstd", "lz4"};
    int failed =
        set_item(d, "format_version", Py_BuildValue("(ii)", i->format_major, i->format_minor)) ||
        set_item(d, "process_id", PyLong_FromLongLong(i->process_id)) ||
        set_item(d, "library_version", PyUnicode_FromString(i->library_version)) ||
        set_item(d, "runtime", PyUnicode_FromString(i->runtime)) ||
        set_item(d, "rss_provider", PyUnicode_FromString(i->rss_provider)) ||
        set_item(d, "rss_accuracy", PyUnicode_FromString(i->rss_accuracy)) ||
        set_item(d, "message",
                 i->message ? PyUnicode_FromString(i->message) : (Py_INCREF(Py_None), Py_None)) ||
        set_item(d, "clock_origin_ns", PyLong_FromUnsignedLongLong(i->clock_origin_ns)) ||
        set_item(d, "clock_units", PyLong_FromUnsignedLongLong(i->clock_units)) ||
        set_item(d, "start_realtime_ns", PyLong_FromUnsignedLongLong(i->start_realtime_ns)) ||
        set_item(d, "d_rss_trigger", PyLong_FromUnsignedLongLong(i->d_rss_trigger)) ||
        set_item(d, "event_mask", PyLong_FromUnsignedLongLong(i->event_mask)) ||
        set_item(d, "filters", PyUnicode_FromString(i->filters)) ||
        set_item(d, "compression",
                 PyUnicode_FromString(i->compression < 3 ? codecs[i->compression] : "?"));
    if (!failed && i->has_summary)
        failed = set_item(d, "events_seen", PyLong_FromUnsignedLongLong(i->events_seen)) ||
                 set_item(d, "events_written", PyLong_FromUnsignedLongLong(i->events_written)) ||
                 set_item(d, "peak_rss", PyLong_FromUnsignedLongLong(i->peak_rss)) ||
                 set_item(d, "last_time_ns", PyLong_FromUnsignedLongLong(i->last_time_ns));
    if (failed) {
        Py_DECREF(d);
        return NULL;
    }
    return d;
}

static PyObject *Reader_status(ReaderObject *self, PyObject *unused)
{
    (void)unused;
    if (check_open(self) != 0)
        return NULL;
    return status_tuple(self->reader);
}

static PyObject *seek(ReaderObject *self, PyObject *arg, int by_time)
{
    if (check_open(self) != 0)
        return NULL;
    unsigned long long target = PyLong_AsUnsignedLongLong(arg);
    if (PyErr_Occurred())
        return NULL;
    int rc = by_time ? pmt_reader_seek_time(self->reader, target)
                     : pmt_reader_seek_seq(self->reader, target);
    (void)rc; /* a damaged log is reported by status(), as when iterating */
    Py_RETURN_NONE;
}

static PyObject *Reader_seek_seq(ReaderObject *self, PyObject *arg)
{
    return seek(self, arg, 0);
}

static PyObject *Reader_seek_time(ReaderObject *self, PyObject *arg)
{
    return seek(self, arg, 1);
}

static PyObject *Reader_call_stats(ReaderObject *self, PyObject *unused)
{
    (void)unused;
    if (check_open(self) != 0)
        return NULL;
    PyObject *rows = PyList_New(0);
    if (rows && pmt_reader_call_stats(self->reader, pmt_py_append_call_row, rows) != PMT_OK)
        Py_CLEAR(rows);
    return rows;
}

static PyObject *Reader_close(ReaderObject *self, PyObject *unused)
{
    (void)unused;
    pmt_reader_close(self->reader);
    self->reader = NULL;
    Py_RETURN_NONE;
}

static PyObject *Reader_summarize(ReaderObject *self, PyObject *arg)
{
    if (check_open(self) != 0)
        return NULL;
    Py_ssize_t points = PyLong_AsSsize_t(arg);
    if (points == -1 && PyErr_Occurred())
        return NULL;
    if (points < 2 || points > 1000000) {
        PyErr_Format(PyExc_ValueError, "points must be between 2 and 1000000, not %zd", points);
        return NULL;
    }
    return pmt_py_summarize(self->reader, self->event_type, self->sample_type, points);
}

static PyObject *Reader_enter(PyObject *self, PyObject *unused)
{
    (void)unused;
    Py_INCREF(self);
    return self;
}

static PyObject *Reader_exit(ReaderObject *self, PyObject *args)
{
    (void)args;
    return Reader_close(self, NULL);
}

static PyMethodDef Reader_methods[] = {
    {"status", (PyCFunction)Reader_status, METH_NOARGS,
     "status() -> (state, offset, reason): state is 'complete', 'truncated' or 'damaged'."},
    {"call_stats", (PyCFunction)Reader_call_stats, METH_NOARGS,
     "call_stats() -> the call aggregation the log recorded at stop, as Tracer.call_stats() "
     "gives it; read the events to the end first (it follows them). [] if none."},
    {"seek_seq", (PyCFunction)Reader_seek_seq, METH_O, "Next event: the first with seq >= n."},
    {"seek_time", (PyCFunction)Reader_seek_time, METH_O,
     "Next event: the first with time_ns >= t."},
    {"close", (PyCFunction)Reader_close, METH_NOARGS, "Close the file."},
    {"summarize", (PyCFunction)Reader_summarize, METH_O,
     "summarize(points) -> dict: the report's one pass over the events not read yet (kinds, "
     "the RSS timeline in at most points buckets, growth and bytes allocated per place, "
     "allocation sizes, marks, collections, object counts, the monitor's last sample)."},
    {"__enter__", (PyCFunction)Reader_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)Reader_exit, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Reader_getset[] = {
    {"info", (getter)Reader_get_info, NULL, "The header (and summary) as a dict.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot Reader_slots[] = {
    {Py_tp_doc, "LogReader(path): the events of a binary log, in order."},
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_init, Reader_init},
    {Py_tp_dealloc, Reader_dealloc},
    {Py_tp_iter, Reader_iter},
    {Py_tp_iternext, Reader_next},
    {Py_tp_methods, Reader_methods},
    {Py_tp_getset, Reader_getset},
    {0, NULL},
};

PyType_Spec pmt_py_reader_spec = {
    "pymemtrace._pymemtrace.LogReader", sizeof(ReaderObject), 0, Py_TPFLAGS_DEFAULT, Reader_slots,
};

PyObject *pmt_py_dump_text(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "dump_text(path, fd) takes two arguments");
        return NULL;
    }
    int fd = PyObject_AsFileDescriptor(args[1]);
    if (fd < 0)
        return NULL;
    pmt_reader *reader;
    if (open_reader(args[0], &reader) != 0)
        return NULL;
    pmt_sink *text = NULL;
    int rc = pmt_sink_text_fd(&text, fd, pmt_reader_info(reader)->message);
    if (rc != PMT_OK) {
        pmt_reader_close(reader);
        return pmt_py_raise(rc, NULL);
    }
    /* The sink interface is the tracer's; a stand-alone sink is driven through a tracer-less
     * loop: write each event, then close (its EOF row, whose failure counts too). */
    unsigned long long count = 0;
    const pmt_event *ev;
    int write_errno = 0; /* kept at once: what follows may change errno */
    Py_BEGIN_ALLOW_THREADS;
    while (pmt_reader_next(reader, &ev) == 1) {
        errno = 0;
        if (pmt_sink_write(text, ev) != PMT_OK) {
            write_errno = errno ? errno : EIO;
            break;
        }
        count++;
    }
    Py_END_ALLOW_THREADS;
    if (write_errno) {
        pmt_sink_destroy(text);
    } else if (pmt_sink_close(text) != PMT_OK) {
        write_errno = pmt_last_os_error() ? pmt_last_os_error() : EIO;
    }
    PyObject *result = Py_BuildValue("(KN)", count, status_tuple(reader));
    pmt_reader_close(reader);
    if (write_errno) {
        Py_XDECREF(result);
        errno = write_errno; /* EPIPE becomes BrokenPipeError */
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    return result;
}
