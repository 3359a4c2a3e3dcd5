/* Events handed to Python (callable sinks, log readers) as struct sequences: cheap to build,
 * immutable, indexable and with named fields. */
#include <string.h>

#include "binding.h"

static PyStructSequence_Field fields[] = {
    {"kind", "CALL, RETURN, C_CALL, C_RETURN, C_EXCEPT, EXCEPT, LINE, MARK, START or STOP"},
    {"reason", "why it was written: FRST, NEXT, PREV, MSG or LAST"},
    {"seq", "event number (counts every event seen)"},
    {"time_ns", "monotonic clock, ns"},
    {"thread_id", "OS thread id"},
    {"depth", "Python stack depth"},
    {"file", "file of the code"},
    {"line", "line number"},
    {"function", "function name"},
    {"rss", "resident set size, bytes"},
    {"d_rss", "rss minus that of the previously written event"},
    {"message", "text of a MARK, else None"},
    {NULL, NULL},
};

static PyStructSequence_Desc desc = {"pymemtrace.Event", "One event of a pymemtrace log.", fields,
                                     12};

PyObject *pmt_py_event_type_new(void)
{
    return (PyObject *)PyStructSequence_NewType(&desc);
}

static const char *reason_names[] = {"FRST", "NEXT", "PREV", "MSG", "LAST"};

PyObject *pmt_py_event_new(PyObject *event_type, const pmt_event *ev)
{
    PyObject *e = PyStructSequence_New((PyTypeObject *)event_type);
    if (!e)
        return NULL;
    PyObject *values[12] = {
        PyUnicode_FromString(pmt_event_kind_name((int)ev->kind)),
        PyUnicode_FromString(ev->reason < 5 ? reason_names[ev->reason] : "?"),
        PyLong_FromUnsignedLongLong(ev->seq),
        PyLong_FromUnsignedLongLong(ev->time_ns),
        PyLong_FromUnsignedLongLong(ev->thread_id),
        PyLong_FromLong(ev->depth),
        PyUnicode_DecodeUTF8(ev->file, (Py_ssize_t)strlen(ev->file), "backslashreplace"),
        PyLong_FromLong(ev->line),
        PyUnicode_DecodeUTF8(ev->function, (Py_ssize_t)strlen(ev->function), "backslashreplace"),
        PyLong_FromUnsignedLongLong(ev->rss),
        PyLong_FromLongLong(ev->d_rss),
        ev->message
            ? PyUnicode_DecodeUTF8(ev->message, (Py_ssize_t)strlen(ev->message), "backslashreplace")
            : (Py_INCREF(Py_None), Py_None),
    };
    int ok = 1;
    for (Py_ssize_t i = 0; i < 12; i++) {
        if (!values[i])
            ok = 0;
        else
            PyStructSequence_SetItem(e, i, values[i]); /* steals; unset items stay NULL */
    }
    if (!ok) {
        Py_DECREF(e);
        return NULL;
    }
    return e;
}
