/* The filter keyword arguments of _pymemtrace.Tracer: all checked before the tracer or any log
 * file exists, so that bad input raises TypeError or ValueError and leaves nothing behind; then
 * applied to the new tracer. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "binding.h"

/* The glob arguments and their kinds, by index in pmt_py_filters.globs; the first four are at
 * args[0..3], the user-code rules at args[8..9], the object types at args[10..11]. */
enum { GLOBS = 8 };
static const char *const glob_names[GLOBS] = {
    "include_files", "exclude_files",  "include_functions", "exclude_functions",
    "user_files",    "not_user_files", "include_types",     "exclude_types"};
static const pmt_code_filter glob_kinds[GLOBS] = {
    PMT_FILTER_INCLUDE_FILE,     PMT_FILTER_EXCLUDE_FILE, PMT_FILTER_INCLUDE_FUNCTION,
    PMT_FILTER_EXCLUDE_FUNCTION, PMT_FILTER_USER_FILE,    PMT_FILTER_NOT_USER_FILE,
    PMT_FILTER_INCLUDE_TYPE,     PMT_FILTER_EXCLUDE_TYPE};
static const int glob_arg[GLOBS] = {0, 1, 2, 3, 8, 9, 10, 11};

/* type(obj).__name__ (the limited API has no PyTypeObject fields), or "?" */
static PyObject *type_name(PyObject *obj)
{
    PyObject *name = PyObject_GetAttrString((PyObject *)Py_TYPE(obj), "__name__");
    if (!name) {
        PyErr_Clear();
        name = PyUnicode_FromString("?");
    }
    return name;
}

static int type_error(const char *name, const char *wanted, PyObject *obj)
{
    PyObject *got = type_name(obj);
    if (got)
        PyErr_Format(PyExc_TypeError, "%s must be %s, not %U", name, wanted, got);
    Py_XDECREF(got);
    return -1;
}

static int parse_globs(PyObject *obj, const char *name, PyObject **out)
{
    *out = NULL;
    if (!obj || obj == Py_None)
        return 0;
    /* A bare str is a sequence too, of one-letter globs: refused rather than guessed at. */
    if (PyUnicode_Check(obj) || PyBytes_Check(obj) || !PySequence_Check(obj))
        return type_error(name, "a sequence of str globs, e.g. ['*/tests/*']", obj);
    PyObject *tuple = PySequence_Tuple(obj);
    if (!tuple)
        return -1;
    for (Py_ssize_t i = 0; i < PyTuple_Size(tuple); i++) {
        PyObject *item = PyTuple_GetItem(tuple, i);
        char what[64];
        snprintf(what, sizeof what, "%s[%zd]", name, i);
        const char *utf8;
        if (!PyUnicode_Check(item) ? type_error(what, "str", item)
                                   : pmt_py_utf8(item, what, &utf8)) {
            if (PyErr_ExceptionMatches(PyExc_UnicodeError)) { /* a lone surrogate */
                PyErr_Clear();
                PyErr_Format(PyExc_ValueError, "%s cannot be encoded in UTF-8: %R", what, item);
            }
            Py_DECREF(tuple);
            return -1;
        }
    }
    *out = tuple;
    return 0;
}

/* An int within the parameter's bounds (the library's table), or None for its default. A
 * negative default that is also the lowest bound is a sentinel ("no limit"), spelled None in
 * Python, so the int itself must be above it. */
static int parse_param(PyObject *obj, const char *name, pmt_param param, const char *rule,
                       long long *out)
{
    int64_t fallback = 0, lo = 0, hi = 0;
    if (pmt_param_default(param, &fallback) != PMT_OK ||
        pmt_param_bounds(param, &lo, &hi) != PMT_OK)
        return pmt_py_raise(PMT_ENOTSUP, NULL) ? 0 : -1;
    if (fallback < 0 && fallback == lo)
        lo = fallback + 1;
    *out = fallback;
    if (!obj || obj == Py_None)
        return 0;
    if (PyBool_Check(obj) || !PyLong_Check(obj))
        return type_error(name, "int or None", obj);
    int overflow = 0;
    long long value = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (value == -1 && PyErr_Occurred())
        return -1;
    if (overflow || value < lo || value > hi) {
        PyErr_Format(PyExc_ValueError, "%s must be %s, not %R", name, rule, obj);
        return -1;
    }
    *out = value;
    return 0;
}

/* Seconds (int or float, >= 0) as nanoseconds; INT64_MAX for None (where allowed), infinity or
 * anything past what nanoseconds in an int64 can say (about 292 years). */
static int parse_seconds(PyObject *obj, const char *name, int none_allowed, long long *out)
{
    *out = INT64_MAX;
    if (obj == Py_None && none_allowed)
        return 0;
    if (PyBool_Check(obj) || (!PyLong_Check(obj) && !PyFloat_Check(obj)))
        return type_error(
            name, none_allowed ? "a number of seconds or None" : "a number of seconds", obj);
    double seconds = PyFloat_AsDouble(obj);
    if (seconds == -1.0 && PyErr_Occurred())
        return -1;
    if (isnan(seconds) || seconds < 0) {
        PyErr_Format(PyExc_ValueError, "%s must be >= 0 seconds, not %R", name, obj);
        return -1;
    }
    double ns = seconds * 1e9;
    if (ns < 9.2e18)
        *out = (long long)(ns + 0.5);
    return 0;
}

static int parse_window(PyObject *obj, long long *from_ns, long long *until_ns)
{
    *from_ns = 0;
    *until_ns = INT64_MAX;
    if (!obj || obj == Py_None)
        return 0;
    if (PyUnicode_Check(obj) || !PySequence_Check(obj) || PySequence_Size(obj) != 2) {
        if (PyErr_Occurred())
            PyErr_Clear();
        return type_error("time_window",
                          "(start, end) in seconds after the start (end may be "
                          "None)",
                          obj);
    }
    PyObject *start = PySequence_GetItem(obj, 0), *end = start ? PySequence_GetItem(obj, 1) : NULL;
    int rc = end ? 0 : -1;
    if (rc == 0)
        rc = parse_seconds(start, "time_window's start", 0, from_ns);
    if (rc == 0)
        rc = parse_seconds(end, "time_window's end", 1, until_ns);
    if (rc == 0 && *from_ns == INT64_MAX) {
        PyErr_Format(PyExc_ValueError, "time_window's start is too far away: %R", start);
        rc = -1;
    }
    if (rc == 0 && *until_ns <= *from_ns) {
        PyErr_Format(PyExc_ValueError, "time_window must end after it starts, not %R", obj);
        rc = -1;
    }
    Py_XDECREF(start);
    Py_XDECREF(end);
    return rc;
}

void pmt_py_filters_clear(pmt_py_filters *f)
{
    for (size_t k = 0; k < GLOBS; k++)
        Py_CLEAR(f->globs[k]);
}

int pmt_py_filters_parse(PyObject *const args[PMT_PY_FILTER_ARGS], pmt_py_filters *f)
{
    memset(f, 0, sizeof *f);
    for (size_t k = 0; k < GLOBS; k++) {
        if (parse_globs(args[glob_arg[k]], glob_names[k], &f->globs[k]) != 0) {
            pmt_py_filters_clear(f);
            return -1;
        }
    }
    if (parse_param(args[4], "max_depth", PMT_PARAM_MAX_DEPTH,
                    "an int >= 0 (the deepest stack depth kept) or None", &f->max_depth) != 0 ||
        parse_param(args[5], "sample_every", PMT_PARAM_SAMPLE_EVERY,
                    "an int >= 1 (keep 1 event in N)", &f->sample_every) != 0 ||
        parse_window(args[6], &f->time_from_ns, &f->time_until_ns) != 0 ||
        parse_param(args[7], "rss_above", PMT_PARAM_RSS_ABOVE, "a number of bytes >= 0",
                    &f->rss_above) != 0) {
        pmt_py_filters_clear(f);
        return -1;
    }
    return 0;
}

int pmt_py_filters_apply(pmt_tracer *tracer, const pmt_py_filters *f)
{
    int rc = PMT_OK;
    for (size_t k = 0; k < GLOBS && rc == PMT_OK; k++) {
        for (Py_ssize_t i = 0; f->globs[k] && i < PyTuple_Size(f->globs[k]) && rc == PMT_OK; i++) {
            const char *glob = PyUnicode_AsUTF8AndSize(PyTuple_GetItem(f->globs[k], i), NULL);
            rc = pmt_tracer_add_code_filter(tracer, glob_kinds[k], glob);
        }
    }
    const struct {
        pmt_param param;
        long long value;
    } params[] = {
        {PMT_PARAM_MAX_DEPTH, f->max_depth},       {PMT_PARAM_SAMPLE_EVERY, f->sample_every},
        {PMT_PARAM_TIME_FROM_NS, f->time_from_ns}, {PMT_PARAM_TIME_UNTIL_NS, f->time_until_ns},
        {PMT_PARAM_RSS_ABOVE, f->rss_above},
    };
    for (size_t i = 0; i < sizeof params / sizeof *params && rc == PMT_OK; i++)
        rc = pmt_tracer_set_param(tracer, params[i].param, params[i].value);
    return rc;
}
