/* Shared by the files of the _pymemtrace extension (limited API 3.10). */
#ifndef PMT_BINDING_H
#define PMT_BINDING_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <pymemtrace/pymemtrace.h>

typedef struct module_state {
    PyObject *tracer_type;
    PyObject *reader_type;
    PyObject *block_type; /* pymemtrace.testing's blocks */
    PyObject *monitor_type;
    PyObject *event_type;  /* a struct sequence: light, immutable, attribute access */
    PyObject *sample_type; /* likewise: Event.sample of a SAMPLE event */
} module_state;

/* tracer_object.c: one pmt_call_stats row appended to the list user_data as a tuple (node,
 * parent, flags, file, function, line, calls, total, own, largest, peak_rss); -1 with the Python
 * error set when that fails. */
int pmt_py_append_call_row(const pmt_call_stats *row, void *user_data);

/* errors.c */
/* Raises the Python exception matching a library error; returns NULL. */
PyObject *pmt_py_raise(int rc, const char *path);
/* UTF-8 of a str (None gives NULL), refusing embedded NULs: C strings would cut there. */
int pmt_py_utf8(PyObject *text, const char *what, const char **out);
/* A path argument (str, bytes, os.PathLike, or None) as a new bytes object or NULL. */
int pmt_py_fspath(PyObject *path, PyObject **out_bytes);

/* filters.c: the filter keyword arguments of Tracer, in this order. */
#define PMT_PY_FILTER_ARGS                                                                         \
    12 /* include_files .. exclude_functions, max_depth, sample_every,                             \
          time_window, rss_above, user_files, not_user_files, include_types, exclude_types */
typedef struct pmt_py_filters {
    PyObject *globs[8]; /* tuples of str (checked), or NULL: the 4 filters, the 2 user rules, the
                           2 object type lists */
    long long max_depth, sample_every, time_from_ns, time_until_ns, rss_above;
} pmt_py_filters;
/* Checks the arguments (NULL = not given); 0, or -1 with TypeError/ValueError set. */
int pmt_py_filters_parse(PyObject *const args[PMT_PY_FILTER_ARGS], pmt_py_filters *out);
/* Gives them to a tracer that has not started: a pmt_status. */
int pmt_py_filters_apply(pmt_tracer *tracer, const pmt_py_filters *filters);
void pmt_py_filters_clear(pmt_py_filters *filters);

/* event_object.c */
PyObject *pmt_py_event_type_new(void);
PyObject *pmt_py_sample_type_new(void);
/* A new Event for a library event. */
PyObject *pmt_py_event_new(PyObject *event_type, PyObject *sample_type, const pmt_event *ev);

/* tracer_object.c: the library tracer of a _pymemtrace.Tracer (any other object: NULL with
 * TypeError set). */
pmt_tracer *pmt_py_tracer_of(PyObject *module_object, PyObject *object);

/* summary.c: the report's one pass over the rest of a binary log (LogReader.summarize). */
PyObject *pmt_py_summarize(pmt_reader *reader, PyObject *event_type, PyObject *sample_type,
                           Py_ssize_t points);

/* tracer_object.c, reader_object.c */
extern PyType_Spec pmt_py_tracer_spec;
extern PyType_Spec pmt_py_reader_spec;
extern PyType_Spec pmt_py_monitor_spec; /* monitor_object.c */
PyObject *pmt_py_dump_text(PyObject *module, PyObject *const *args, Py_ssize_t nargs);

/* testing_object.c: pymemtrace.testing's blocks and their factories (module functions). */
extern PyType_Spec pmt_py_block_spec;
PyObject *pmt_py_c_malloc(PyObject *module, PyObject *size);
PyObject *pmt_py_raw_malloc(PyObject *module, PyObject *size);
PyObject *pmt_py_malloc(PyObject *module, PyObject *size);

/* The module state reachable from an instance of one of the module's types. */
static inline module_state *pmt_py_state_of(PyObject *self)
{
    PyObject *module = PyType_GetModule(Py_TYPE(self));
    return module ? (module_state *)PyModule_GetState(module) : NULL;
}

#endif
