/* Python 3.10 and 3.11: a profile function (calls, returns, C calls) and/or a trace function
 * (lines, exceptions), installed as C functions with PyEval_SetProfile/PyEval_SetTrace where the
 * island (legacy_ceval.c) has them, else as C builtins with sys.setprofile/sys.settrace (the
 * limited API's way, through CPython's Python-level trampoline). Both hooks are per thread: the
 * calling thread gets them at attach, threads started later through threading.setprofile/
 * settrace (a C builtin that, with the island, swaps itself for the C function at the thread's
 * first event), and threads already running cannot be reached (documented with
 * PMT_THREADS_ALL). A thread keeps the hook after detach until its next call: the hook then
 * removes itself from that thread. */
#include "common/error.h"
#include "cpython/cpython.h"

enum legacy_what {
    W_CALL,
    W_EXCEPTION,
    W_LINE,
    W_RETURN,
    W_C_CALL,
    W_C_EXCEPTION,
    W_C_RETURN,
    W_OPCODE
};
static const char *const what_names[8] = {"call",   "exception",   "line",     "return",
                                          "c_call", "c_exception", "c_return", "opcode"};

/* The event string is always the same object per kind, but not always the one interning the
 * name gives (3.11 passes its static strings): compare pointers, and on a miss compare text once
 * and remember the object CPython passes, so that every later event is a pointer compare. */
static int what_of(pmt__cpy_state *st, PyObject *what)
{
    /* The kinds a profile or trace function sees most, first. */
    static const int order[8] = {W_CALL, W_RETURN,    W_C_CALL, W_C_RETURN,
                                 W_LINE, W_EXCEPTION, W_OPCODE, W_C_EXCEPTION};
    for (int i = 0; i < 8; i++)
        if (what == st->what[order[i]])
            return order[i];
    for (int i = 0; i < 8; i++) {
        if (PyUnicode_Check(what) && PyUnicode_CompareWithASCIIString(what, what_names[i]) == 0) {
            PyObject *old = st->what[i];
            Py_INCREF(what);
            st->what[i] = what;
            Py_XDECREF(old);
            return i;
        }
    }
    return -1;
}

static int wants_trace_hook(const pmt_tracer *t)
{
    return pmt__tracer_wants(t, PMT_EV_LINE) || pmt__tracer_wants(t, PMT_EV_EXCEPTION);
}

/* C events only come through sys.setprofile. Calls and returns come through sys.settrace too:
 * a tracer that needs the trace hook takes them from there and leaves the thread's profile
 * function to a Profile running at the same time. */
static int wants_profile_hook(const pmt_tracer *t)
{
    if (pmt__tracer_wants(t, PMT_EV_C_CALL) || pmt__tracer_wants(t, PMT_EV_C_RETURN) ||
        pmt__tracer_wants(t, PMT_EV_C_EXCEPTION))
        return 1;
    /* Allocations are charged to calls and C calls: the profile hook follows both. */
    return pmt__tracer_tracks_places(t) ||
           (!wants_trace_hook(t) &&
            (pmt__tracer_wants(t, PMT_EV_CALL) || pmt__tracer_wants(t, PMT_EV_RETURN)));
}

/* 3.11 delivers a KeyboardInterrupt at a frame's RESUME, before the profile function heard of
 * the call, yet reports the frame's return: such a return (value None, f_lasti at or before the
 * first RESUME) is not reported, and the depth stays right. Only returns of None pay for the
 * f_lasti lookup; 3.10 has no RESUME and never does. */
static int left_before_entry(pmt__cpy_state *st, pmt__code_entry *e, PyObject *frame,
                             PyObject *code, PyObject *arg)
{
    if (arg != Py_None || st->resume_opcode <= 0 || !st->f_lasti)
        return 0;
    PyObject *lasti = PyObject_GetAttr(frame, st->f_lasti); /* an interned name: no str made */
    long offset = lasti ? PyLong_AsLong(lasti) : -1;
    Py_XDECREF(lasti);
    if (PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    return pmt__code_before_entry(st, e, code, offset);
}

/* The frame's line, for an event the code filter keeps: the others are dropped before their line
 * matters, and PyFrame_GetLineNumber walks a table. */
static int32_t line_if(int selected, PyObject *frame)
{
    return selected ? PyFrame_GetLineNumber((PyFrameObject *)frame) : 0;
}

/* One hook serves both roles; frames_too says whether it also keeps the depth (the profile hook
 * does when installed, else the trace hook). */
static void handle(pmt__cpy_state *st, PyObject *frame, int what, PyObject *arg, int frames_too)
{
    pmt_tracer *t = st->tracer;
    static const pmt_event_kind c_kinds[] = {[W_C_CALL] = PMT_EV_C_CALL,
                                             [W_C_RETURN] = PMT_EV_C_RETURN,
                                             [W_C_EXCEPTION] = PMT_EV_C_EXCEPTION};
    /* sys.setprofile reports C calls whatever the mask: those it does not want cost no lookup
     * (a C call still says where its caller is when allocations are traced). */
    int place = what == W_C_CALL && pmt__tracer_tracks_places(t);
    if ((what == W_C_CALL || what == W_C_RETURN || what == W_C_EXCEPTION) &&
        !pmt__tracer_wants(t, c_kinds[what]) && !place)
        return;
    PyCodeObject *code = PyFrame_GetCode((PyFrameObject *)frame);
    if (!code)
        return;
    pmt__code_entry *e = pmt__code_entry_of(st, (PyObject *)code);
    Py_DECREF(code); /* the frame keeps it alive */
    if (!e)
        return;
    switch (what) {
    case W_CALL: {
        if (!frames_too)
            return;
        int32_t depth = ++*pmt__depth_here(st, 1);
        if (e->ignored) {
            pmt__own_enter(st, depth);
            return;
        }
        pmt__tracer_event_selected(t, PMT_EV_CALL, pmt__entry_selected(e), e->file, e->function,
                                   e->first_line, depth);
        pmt__place_call(st, e, pmt__charge_enter(st, e));
        return;
    }
    case W_RETURN: {
        if (!frames_too)
            return;
        int was = pmt__own_work_begin(st);
        int before = left_before_entry(st, e, frame, (PyObject *)code, arg);
        pmt__own_work_end(st, was);
        if (before)
            return;
        int32_t *counter = pmt__depth_here(st, 0);
        if (e->ignored)
            pmt__own_leave(st);
        if (!e->ignored && pmt__tracer_wants(t, PMT_EV_RETURN))
            pmt__tracer_event_selected(t, PMT_EV_RETURN, pmt__entry_selected(e), e->file,
                                       e->function, PyFrame_GetLineNumber((PyFrameObject *)frame),
                                       *counter);
        if (!e->ignored)
            pmt__charge_leave(st);
        if (*counter > 0)
            (*counter)--;
        return;
    }
    case W_LINE:
    case W_EXCEPTION: {
        pmt_event_kind kind = what == W_LINE ? PMT_EV_LINE : PMT_EV_EXCEPTION;
        int selected = pmt__entry_selected(e);
        if (e->ignored || !pmt__tracer_wants(t, kind))
            return;
        int32_t depth = *pmt__depth_here(st, 0);
        int32_t line = line_if(selected || pmt__tracer_tracks_places(t), frame);
        if (what == W_LINE)
            pmt__place_line(st, e, line);
        pmt__tracer_event_selected(t, kind, selected, e->file, e->function, line, depth);
        return;
    }
    case W_C_CALL:
    case W_C_RETURN:
    case W_C_EXCEPTION: {
        pmt_event_kind kind = c_kinds[what];
        if (e->ignored)
            return;
        pmt__code_entry *callee = pmt__c_function_entry_of(st, arg);
        int selected = callee && pmt__c_event_selected(e, callee);
        int32_t depth = *pmt__depth_here(st, 0);
        /* The caller's line for allocations: from its offset table where the island has the
         * frame's offset (3.11), a cheap lookup at every C call. */
        int32_t line = place ? pmt__frame_line(st, e, frame) : line_if(selected, frame);
        if (place)
            pmt__here(e, line);
        if (callee && pmt__tracer_wants(t, kind))
            pmt__tracer_event_selected(t, kind, selected, e->file, callee->function, line, depth);
        return;
    }
    default:
        return;
    }
}

static int call_sys(const char *name, PyObject *arg);

/* sys.getprofile() or sys.gettrace(): a new reference, NULL on error (cleared). */
static PyObject *current_hook(const char *get_name)
{
    PyObject *get = PySys_GetObject(get_name); /* borrowed */
    PyObject *current = get ? PyObject_CallNoArgs(get) : NULL;
    if (!current)
        PyErr_Clear();
    return current;
}

/* Is hook one of ours: a hook function whose self is this tracer's hook_self, or, for a C-level
 * hook (sys.getprofile() returns the object it was installed with), hook_self itself? */
static int is_ours(PyObject *hook, PyObject *hook_self)
{
    return hook && (hook == hook_self ||
                    (PyCFunction_Check(hook) && PyCFunction_GetSelf(hook) == hook_self));
}

/* A thread whose hook outlived its tracer's run (detached from another thread) drops it, unless
 * the thread's hook is no longer ours (sys.getprofile/gettrace is someone else's). */
static void remove_stale_hook(PyObject *self, const char *get_name, const char *set_name)
{
    PyObject *current = current_hook(get_name);
    if (is_ours(current, self))
        call_sys(set_name, Py_None);
    Py_XDECREF(current);
    PyErr_Clear();
}

/* The C-level profile and trace functions (the island): what is a PyTrace_* value, which is the
 * legacy_what enum; arg is NULL where the sys.setprofile trampoline passes None (a return while
 * an exception unwinds the frame, say). */
static int profile_func(PyObject *self, PyObject *frame, int what, PyObject *arg)
{
    pmt__cpy_state *st = pmt__state_of(self);
    arg = arg ? arg : Py_None;
    if (pmt__state_active(st))
        handle(st, frame, what, arg, 1);
    else if (!st->running)
        remove_stale_hook(self, "getprofile", "setprofile");
    return 0;
}

static int trace_func(PyObject *self, PyObject *frame, int what, PyObject *arg)
{
    pmt__cpy_state *st = pmt__state_of(self);
    arg = arg ? arg : Py_None;
    if (!st->running)
        remove_stale_hook(self, "gettrace", "settrace");
    else if (pmt__state_active(st))
        handle(st, frame, what, arg, st->profile_hook == NULL);
    return 0;
}

/* sys.setprofile(hook): hook(frame, event, arg); the result is ignored. With the island it is
 * only a new thread's first hook (threading.setprofile): it hands the thread to profile_func. */
static PyObject *profile_hook(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    pmt__cpy_state *st = pmt__state_of(self);
    if (nargs == 3 && pmt__state_active(st)) {
        if (st->ceval_hooks)
            pmt__ceval_set_profile(profile_func, self);
        handle(st, args[0], what_of(st, args[1]), args[2], 1);
    } else if (!st || !st->running) {
        remove_stale_hook(self, "getprofile", "setprofile");
    }
    Py_RETURN_NONE;
}

/* sys.settrace(hook): the result becomes the frame's local trace function, so return the hook
 * itself to keep receiving line events. */
static PyObject *trace_hook(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    pmt__cpy_state *st = pmt__state_of(self);
    if (nargs != 3 || !st || !st->running) {
        remove_stale_hook(self, "gettrace", "settrace");
        Py_RETURN_NONE;
    }
    if (pmt__state_active(st)) {
        handle(st, args[0], what_of(st, args[1]), args[2], st->profile_hook == NULL);
        if (st->ceval_hooks) { /* a new thread's first event: trace_func from now on */
            pmt__ceval_set_trace(trace_func, self);
            Py_RETURN_NONE;
        }
    }
    Py_INCREF(st->trace_hook);
    return st->trace_hook;
}

#define FASTCALL(f) ((PyCFunction)(void (*)(void))(f))
static PyMethodDef profile_def = {"pymemtrace_profile", FASTCALL(profile_hook), METH_FASTCALL,
                                  NULL};
static PyMethodDef trace_def = {"pymemtrace_trace", FASTCALL(trace_hook), METH_FASTCALL, NULL};

static int call_sys(const char *name, PyObject *arg)
{
    PyObject *fn = PySys_GetObject(name); /* borrowed */
    if (!fn) {
        PyErr_Format(PyExc_RuntimeError, "sys.%s is missing", name);
        return -1;
    }
    PyObject *r = PyObject_CallFunctionObjArgs(fn, arg, NULL);
    Py_XDECREF(r);
    return r ? 0 : -1;
}

/* Frames already running when settrace is installed never got a local trace function: give them
 * one (value = the hook; a frame with a debugger's local trace function keeps it) or take ours
 * back (value = None, only where it is ours). */
static void set_frames_trace(pmt__cpy_state *st, PyObject *value)
{
    PyObject *frame = (PyObject *)PyEval_GetFrame();
    Py_XINCREF(frame);
    while (frame) {
        PyObject *current = PyObject_GetAttrString(frame, "f_trace");
        if (!current)
            PyErr_Clear();
        if (value != Py_None ? current == Py_None : current == st->trace_hook) {
            if (PyObject_SetAttrString(frame, "f_trace", value) != 0)
                PyErr_Clear();
        }
        Py_XDECREF(current);
        PyObject *back = PyObject_GetAttrString(frame, "f_back");
        Py_DECREF(frame);
        frame = back && back != Py_None ? back : NULL;
        if (!back)
            PyErr_Clear();
        else if (back == Py_None)
            Py_DECREF(back);
    }
}

/* threading.setprofile/settrace(value): the hook of threads started from now on. */
static int call_threading(const char *name, PyObject *value)
{
    PyObject *threading = PyImport_ImportModule("threading");
    PyObject *r = threading ? PyObject_CallMethod(threading, name, "O", value) : NULL;
    Py_XDECREF(threading);
    Py_XDECREF(r);
    return r ? 0 : -1;
}

/* The calling thread's hook before attach, kept to give back at detach when it is a callable
 * (a debugger's trace function; cProfile's profiler object is not one and cannot be). */
static PyObject *saved_hook(pmt__cpy_state *st, const char *get_name)
{
    PyObject *prev = current_hook(get_name);
    if (prev && prev != Py_None && !is_ours(prev, st->hook_self) && PyCallable_Check(prev))
        return prev;
    Py_XDECREF(prev);
    return NULL;
}

int pmt__legacy_attach(pmt__cpy_state *st)
{
    if (!st->what[0]) {
        for (int i = 0; i < 8; i++) {
            st->what[i] = PyUnicode_InternFromString(what_names[i]);
            if (!st->what[i])
                return pmt__fail(PMT_EPYTHON, "out of memory interning event names");
        }
    }
    if (!st->f_lasti && !(st->f_lasti = PyUnicode_InternFromString("f_lasti")))
        PyErr_Clear(); /* returns of None are then never taken for a missed entry */
    st->ceval_hooks = pmt__ceval_hooks_available(st->hexversion);
    pmt_tracer *t = st->tracer;
    if (wants_profile_hook(t) && !st->profile_hook) {
        st->profile_hook = PyCFunction_NewEx(&profile_def, st->hook_self, NULL);
        if (!st->profile_hook)
            return pmt__fail(PMT_EPYTHON, "cannot create the profile hook");
    }
    if (wants_trace_hook(t) && !st->trace_hook) {
        st->trace_hook = PyCFunction_NewEx(&trace_def, st->hook_self, NULL);
        if (!st->trace_hook)
            return pmt__fail(PMT_EPYTHON, "cannot create the trace hook");
    }
    Py_CLEAR(st->saved_profile);
    Py_CLEAR(st->saved_trace);
    if (st->profile_hook)
        st->saved_profile = saved_hook(st, "getprofile");
    if (st->trace_hook)
        st->saved_trace = saved_hook(st, "gettrace");
    /* threading first: it runs Python code, which a hook installed already would see while the
     * tracer is not running yet, and take as stale. */
    if (st->all_threads && st->profile_hook && call_threading("setprofile", st->profile_hook))
        return pmt__fail(PMT_EPYTHON, "threading.setprofile failed");
    if (st->all_threads && st->trace_hook && call_threading("settrace", st->trace_hook)) {
        if (st->profile_hook)
            call_threading("setprofile", Py_None);
        return pmt__fail(PMT_EPYTHON, "threading.settrace failed");
    }
    if (st->profile_hook && st->ceval_hooks)
        pmt__ceval_set_profile(profile_func, st->hook_self);
    else if (st->profile_hook && call_sys("setprofile", st->profile_hook) != 0) {
        if (st->all_threads) {
            call_threading("setprofile", Py_None);
            call_threading("settrace", Py_None);
        }
        return pmt__fail(PMT_EPYTHON, "sys.setprofile failed");
    }
    if (st->trace_hook && st->ceval_hooks) {
        /* A C-level trace function sees the lines of every frame, running ones included. */
        st->running = 1;
        pmt__ceval_set_trace(trace_func, st->hook_self);
    } else if (st->trace_hook) {
        st->running = 1; /* the hook must answer from the first frame it is given */
        set_frames_trace(st, st->trace_hook);
        if (call_sys("settrace", st->trace_hook) != 0) {
            st->running = 0;
            if (st->profile_hook)
                call_sys("setprofile", Py_None);
            if (st->all_threads) {
                call_threading("setprofile", Py_None);
                call_threading("settrace", Py_None);
            }
            return pmt__fail(PMT_EPYTHON, "sys.settrace failed");
        }
    }
    return PMT_OK;
}

/* Gives the calling thread's hook back to what it was before attach, if the hook is still ours;
 * returns 1 when someone took it away during the run (another tool, or CPython removing a hook
 * that failed at the recursion limit), 0 otherwise, -1 on error. */
static int give_back(pmt__cpy_state *st, const char *get_name, const char *set_name,
                     PyObject **saved)
{
    PyObject *current = current_hook(get_name);
    int rc = 1;
    if (is_ours(current, st->hook_self))
        rc = call_sys(set_name, *saved ? *saved : Py_None);
    Py_XDECREF(current);
    Py_CLEAR(*saved);
    return rc;
}

int pmt__legacy_detach(pmt__cpy_state *st)
{
    int rc = 0, lost = 0;
    /* This thread's hooks first: threading's setters are Python code, which our hook, no
     * longer running, would take as stale and remove before we could check it. */
    if (st->profile_hook) {
        int r = give_back(st, "getprofile", "setprofile", &st->saved_profile);
        lost |= r == 1;
        rc |= r < 0;
    }
    if (st->trace_hook) {
        int r = give_back(st, "gettrace", "settrace", &st->saved_trace);
        lost |= r == 1;
        rc |= r < 0;
        if (!st->ceval_hooks)
            set_frames_trace(st, Py_None);
    }
    if (st->all_threads && st->profile_hook)
        rc |= call_threading("setprofile", Py_None);
    if (st->all_threads && st->trace_hook)
        rc |= call_threading("settrace", Py_None);
    if (lost)
        pmt__tracer_note(st->tracer,
                         "pymemtrace: this thread's profile or trace hook was replaced or removed "
                         "during the run (another profiler or debugger, or CPython at the "
                         "recursion limit): events after that are missing from this log");
    return rc == 0 ? PMT_OK : pmt__fail(PMT_EPYTHON, "cannot remove the profile/trace hook");
}

void pmt__legacy_release(pmt__cpy_state *st)
{
    Py_CLEAR(st->saved_profile);
    Py_CLEAR(st->saved_trace);
    Py_CLEAR(st->profile_hook);
    Py_CLEAR(st->trace_hook);
    for (int i = 0; i < 8; i++)
        Py_CLEAR(st->what[i]);
    Py_CLEAR(st->f_lasti);
}
