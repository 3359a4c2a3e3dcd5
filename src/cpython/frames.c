/* Walking the calling thread's Python stack: only at start, resume, stop and marks, and for a
 * written event's user site when what the tracer keeps per thread does not have it. */
#include "cpython/cpython.h"

/* Is frames_direct.c's island there (looked up once)? */
static int direct(void)
{
    static int answer = -1; /* GIL held: one thread at a time */
    if (answer < 0)
        answer = pmt__frames_direct(PyLong_AsLong(PySys_GetObject("hexversion")));
    return answer;
}

/* New reference to frame.f_back, or NULL at the bottom. */
static PyObject *back_of(PyObject *frame)
{
    if (direct())
        return pmt__frame_back_direct(frame);
    PyObject *back = PyObject_GetAttrString(frame, "f_back");
    if (!back) {
        PyErr_Clear();
        return NULL;
    }
    if (back == Py_None) {
        Py_DECREF(back);
        return NULL;
    }
    return back;
}

int32_t pmt__frame_depth(void)
{
    int32_t depth = 0;
    PyObject *frame = (PyObject *)PyEval_GetFrame(); /* borrowed */
    Py_XINCREF(frame);
    while (frame) {
        depth++;
        PyObject *back = back_of(frame);
        Py_DECREF(frame);
        frame = back;
    }
    return depth;
}

pmt__code_entry *pmt__frame_locate(pmt__cpy_state *st, const char **file, const char **function,
                                   int32_t *line)
{
    PyObject *frame = (PyObject *)PyEval_GetFrame();
    Py_XINCREF(frame);
    while (frame) {
        PyCodeObject *code = PyFrame_GetCode((PyFrameObject *)frame);
        pmt__code_entry *e = code ? pmt__code_entry_of(st, (PyObject *)code) : NULL;
        Py_XDECREF(code);
        if (e && !e->ignored) {
            *file = e->file;
            *function = e->function;
            *line = PyFrame_GetLineNumber((PyFrameObject *)frame);
            Py_DECREF(frame);
            return e;
        }
        PyObject *back = back_of(frame);
        Py_DECREF(frame);
        frame = back;
    }
    return NULL;
}

/* The line a frame of entry e's code is at: from the code's offset table when the island gives
 * the frame's offset, else through the limited API. */
int32_t pmt__frame_line(pmt__cpy_state *st, pmt__code_entry *e, PyObject *frame)
{
    long offset = direct() ? pmt__frame_offset_direct(frame) : -1;
    if (offset >= 0)
        return pmt__code_line_at(st, e, e->ref1, offset);
    return PyFrame_GetLineNumber((PyFrameObject *)frame);
}

int32_t pmt__frame_line_of(pmt__cpy_state *st, pmt__code_entry *e)
{
    PyObject *frame = (PyObject *)PyEval_GetFrame();
    Py_XINCREF(frame);
    while (frame) {
        PyCodeObject *running = PyFrame_GetCode((PyFrameObject *)frame);
        Py_XDECREF(running); /* only compared */
        if ((PyObject *)running == e->ref1) {
            int32_t line = pmt__frame_line(st, e, frame);
            Py_DECREF(frame);
            return line;
        }
        PyObject *back = back_of(frame);
        Py_DECREF(frame);
        frame = back;
    }
    return 0;
}

int pmt__frame_user(pmt__cpy_state *st, const char **file, const char **function, int32_t *line)
{
    PyObject *frame = (PyObject *)PyEval_GetFrame();
    Py_XINCREF(frame);
    while (frame) {
        PyCodeObject *code = PyFrame_GetCode((PyFrameObject *)frame);
        pmt__code_entry *e = code ? pmt__code_entry_of(st, (PyObject *)code) : NULL;
        Py_XDECREF(code);
        if (e && e->user) {
            *file = e->file;
            *function = e->function;
            *line = pmt__frame_line(st, e, frame);
            Py_DECREF(frame);
            return 1;
        }
        PyObject *back = back_of(frame);
        Py_DECREF(frame);
        frame = back;
    }
    return 0;
}
