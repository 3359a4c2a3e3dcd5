/* Library errors as Python exceptions: ValueError for bad values, OSError for the system,
 * RuntimeError for states. */
#include <string.h>

#include "binding.h"

PyObject *pmt_py_raise(int rc, const char *path)
{
    const char *msg = pmt_last_error_message();
    switch (rc) {
    case PMT_EINVAL:
    case PMT_EFORMAT:
    case PMT_ETRUNCATED:
        PyErr_SetString(PyExc_ValueError, msg);
        break;
    case PMT_ENOMEM:
        PyErr_NoMemory();
        break;
    case PMT_EIO: {
        int err = pmt_last_os_error();
        PyObject *args = path ? Py_BuildValue("(isO&)", err, msg, PyUnicode_DecodeFSDefault, path)
                              : Py_BuildValue("(is)", err, msg);
        /* The instance made here, with its own type: OSError(errno, ...) is an
         * IsADirectoryError, FileExistsError, ... that `except` must match on every version
         * (3.10/3.11 match the type set with the error, not the instance's). */
        PyObject *exc = args ? PyObject_Call(PyExc_OSError, args, NULL) : NULL;
        Py_XDECREF(args);
        if (exc) {
            PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
            Py_DECREF(exc);
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

int pmt_py_utf8(PyObject *text, const char *what, const char **out)
{
    *out = NULL;
    if (text == Py_None)
        return 0;
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "%s must be str or None", what);
        return -1;
    }
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

int pmt_py_fspath(PyObject *path, PyObject **out_bytes)
{
    *out_bytes = NULL;
    if (!path || path == Py_None)
        return 0;
    return PyUnicode_FSConverter(path, out_bytes) ? 0 : -1;
}
