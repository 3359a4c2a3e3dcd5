/* Events handed to Python (callable sinks, log readers) as struct sequences: cheap to build,
 * immutable, indexable and with named fields. */
#include <stddef.h>
#include <string.h>

#include "binding.h"

static PyStructSequence_Field fields[] = {
    {"kind", "CALL, RETURN, C_CALL, C_RETURN, C_EXCEPT, EXCEPT, LINE, MARK, START, STOP, ALLOC, "
             "REALLOC, FREE, GC_START, GC_DONE, OBJ_NEW, OBJ_DEL, OBJ_CNT or SAMPLE"},
    {"reason", "why it was written: FRST, NEXT, PREV, MSG, LAST, ALOC, GC, OBJ or SMPL"},
    {"seq", "event number (counts every event seen)"},
    {"time_ns", "monotonic clock, ns"},
    {"thread_id", "OS thread id"},
    {"depth", "Python stack depth"},
    {"file", "file of the code"},
    {"line", "line number"},
    {"function", "function name"},
    {"rss", "resident set size, bytes"},
    {"d_rss", "rss minus that of the previously written event"},
    {"message", "text of a MARK, a SAMPLE's label, else None"},
    /* Attributes only (not in the 12-tuple, which stays what it always was): */
    {"user_file", "file of the user site: the nearest frame of the user's code ('' if none)"},
    {"user_line", "line of the user site (0 if none)"},
    {"user_function", "function of the user site ('' if none)"},
    {"call_node", "call path id (CallStats.node) of the innermost call, 0 if not recorded"},
    {"allocator", "ALLOC, REALLOC, FREE: RAW, MEM, OBJ, NATIVE or MMAP; else ''"},
    {"address", "ALLOC, REALLOC, FREE: the block's address (the new one's for REALLOC); else 0"},
    {"size", "ALLOC, REALLOC: its size in bytes; FREE: its size when the tracer saw it made"},
    {"old_address", "REALLOC: the block that was resized; else 0"},
    {"old_size", "REALLOC: its size when known; else 0"},
    {"gc_generation", "GC_START, GC_DONE: the generation collected; else 0"},
    {"gc_collected", "GC_DONE: objects collected; else 0"},
    {"gc_uncollectable", "GC_DONE: objects found uncollectable; else 0"},
    {"gc_duration_ns", "GC_DONE: the collection's duration in ns; else 0"},
    {"type_name", "OBJ_NEW, OBJ_DEL, OBJ_CNT: the object's type (tp_name); else ''"},
    {"type_live", "OBJ_NEW, OBJ_DEL, OBJ_CNT: objects of the type made minus destroyed"},
    {"type_created", "OBJ_CNT: objects of the type made since start; else 0"},
    {"type_destroyed", "OBJ_CNT: objects of the type destroyed since start; else 0"},
    {"sample", "SAMPLE: the monitor's sample (a pymemtrace.Sample); else None"},
    {NULL, NULL},
};

enum { IN_SEQUENCE = 12, FIELD_COUNT = 30 };

static PyStructSequence_Desc desc = {"pymemtrace.Event", "One event of a pymemtrace log.", fields,
                                     IN_SEQUENCE};

/* A monitor's sample (monitor.h pmt_sample), the `sample` of a SAMPLE event: one object for the
 * rare samples rather than a dozen fields on every event. */
static PyStructSequence_Field sample_fields[] = {
    {"seq", "sample number, from 0 (None in a text log)"},
    {"time_ns", "when it was taken: monotonic clock, ns (the event's time_ns is its row's)"},
    {"realtime_ns", "wall clock, ns since the epoch (None in a text log)"},
    {"rss", "resident set size, bytes"},
    {"peak_rss", "peak resident set size, bytes"},
    {"minor_faults", "page faults served without I/O, since the process started"},
    {"major_faults", "page faults that needed I/O"},
    {"user_cpu_ns", "CPU time in user mode, all threads, ns"},
    {"system_cpu_ns", "CPU time in the kernel, all threads, ns"},
    {"rss_anon", "anonymous resident bytes (0 where the system does not say)"},
    {"rss_file", "file-backed resident bytes (0 likewise)"},
    {"rss_shmem", "shared-memory resident bytes (0 likewise)"},
    {"cgroup_current", "the cgroup's memory.current (0 when there is none)"},
    {"cgroup_max", "the cgroup's memory.max; None for no limit"},
    {"label", "the label it was taken for, or None"},
    {NULL, NULL},
};

enum { SAMPLE_FIELDS = 15 };

static PyStructSequence_Desc sample_desc = {
    "pymemtrace.Sample", "A sample of the RSS monitor (Event.sample of a SAMPLE event).",
    sample_fields, SAMPLE_FIELDS};

PyObject *pmt_py_event_type_new(void)
{
    return (PyObject *)PyStructSequence_NewType(&desc);
}

PyObject *pmt_py_sample_type_new(void)
{
    return (PyObject *)PyStructSequence_NewType(&sample_desc);
}

static PyObject *utf8_or_none(const char *s)
{
    if (!s)
        Py_RETURN_NONE;
    return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "backslashreplace");
}

/* Sets n new items of a struct sequence; fails (and drops the sequence) when one is NULL. */
static PyObject *filled(PyObject *seq, PyObject **values, Py_ssize_t n)
{
    int ok = 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!values[i])
            ok = 0;
        else
            PyStructSequence_SetItem(seq, i, values[i]); /* steals; unset items stay NULL */
    }
    if (!ok) {
        Py_DECREF(seq);
        return NULL;
    }
    return seq;
}

static PyObject *sample_new(PyObject *sample_type, const pmt_sample *s)
{
    PyObject *seq = PyStructSequence_New((PyTypeObject *)sample_type);
    if (!seq)
        return NULL;
    PyObject *values[SAMPLE_FIELDS] = {
        PyLong_FromUnsignedLongLong(s->seq),
        PyLong_FromUnsignedLongLong(s->time_ns),
        PyLong_FromUnsignedLongLong(s->realtime_ns),
        PyLong_FromUnsignedLongLong(s->rss),
        PyLong_FromUnsignedLongLong(s->peak_rss),
        PyLong_FromUnsignedLongLong(s->minor_faults),
        PyLong_FromUnsignedLongLong(s->major_faults),
        PyLong_FromUnsignedLongLong(s->user_cpu_ns),
        PyLong_FromUnsignedLongLong(s->system_cpu_ns),
        PyLong_FromUnsignedLongLong(s->rss_anon),
        PyLong_FromUnsignedLongLong(s->rss_file),
        PyLong_FromUnsignedLongLong(s->rss_shmem),
        PyLong_FromUnsignedLongLong(s->cgroup_current),
        s->cgroup_max == UINT64_MAX ? (Py_INCREF(Py_None), Py_None)
                                    : PyLong_FromUnsignedLongLong(s->cgroup_max),
        utf8_or_none(s->label),
    };
    return filled(seq, values, SAMPLE_FIELDS);
}

static const char *reason_names[] = {"FRST", "NEXT", "PREV", "MSG", "LAST",
                                     "ALOC", "GC",   "OBJ",  "SMPL"};

PyObject *pmt_py_event_new(PyObject *event_type, PyObject *sample_type, const pmt_event *ev)
{
    PyObject *e = PyStructSequence_New((PyTypeObject *)event_type);
    if (!e)
        return NULL;
    /* A sink built against an older library may hand an event without the later fields. */
    int has_site = ev->struct_size >= offsetof(pmt_event, call_node) + sizeof ev->call_node;
    const char *user_file = has_site && ev->user_file ? ev->user_file : "";
    const char *user_function = has_site && ev->user_function ? ev->user_function : "";
    int has_block = ev->struct_size >= offsetof(pmt_event, old_size) + sizeof ev->old_size;
    static const pmt_event none; /* what an older caller's event does not carry */
    const pmt_event *block = has_block ? ev : &none;
    int has_gc = ev->struct_size >= offsetof(pmt_event, gc_duration_ns) + sizeof ev->gc_duration_ns;
    const pmt_event *gc = has_gc ? ev : &none;
    int has_object =
        ev->struct_size >= offsetof(pmt_event, type_destroyed) + sizeof ev->type_destroyed;
    const pmt_event *object = has_object ? ev : &none;
    const char *type = object->type_name ? object->type_name : "";
    int has_sample = ev->struct_size >= offsetof(pmt_event, sample) + sizeof ev->sample &&
                     ev->sample && ev->sample->struct_size >= sizeof(pmt_sample);
    PyObject *values[FIELD_COUNT] = {
        PyUnicode_FromString(pmt_event_kind_name((int)ev->kind)),
        PyUnicode_FromString(ev->reason < sizeof reason_names / sizeof reason_names[0]
                                 ? reason_names[ev->reason]
                                 : "?"),
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
        PyUnicode_DecodeUTF8(user_file, (Py_ssize_t)strlen(user_file), "backslashreplace"),
        PyLong_FromLong(has_site ? ev->user_line : 0),
        PyUnicode_DecodeUTF8(user_function, (Py_ssize_t)strlen(user_function), "backslashreplace"),
        PyLong_FromUnsignedLong(has_site ? ev->call_node : 0),
        PyUnicode_FromString(pmt_allocator_name((int)block->allocator)),
        PyLong_FromUnsignedLongLong(block->address),
        PyLong_FromUnsignedLongLong(block->size),
        PyLong_FromUnsignedLongLong(block->old_address),
        PyLong_FromUnsignedLongLong(block->old_size),
        PyLong_FromLong(gc->gc_generation),
        PyLong_FromUnsignedLongLong(gc->gc_collected),
        PyLong_FromUnsignedLongLong(gc->gc_uncollectable),
        PyLong_FromUnsignedLongLong(gc->gc_duration_ns),
        PyUnicode_DecodeUTF8(type, (Py_ssize_t)strlen(type), "backslashreplace"),
        PyLong_FromLongLong(object->type_live),
        PyLong_FromUnsignedLongLong(object->type_created),
        PyLong_FromUnsignedLongLong(object->type_destroyed),
        has_sample ? sample_new(sample_type, ev->sample) : (Py_INCREF(Py_None), Py_None),
    };
    return filled(e, values, FIELD_COUNT);
}
