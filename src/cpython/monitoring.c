/* Python 3.12+: events from sys.monitoring, with C functions as callbacks (the cheapest public
 * hook: ~300 instructions per event against ~780 for the legacy profile shim). sys.monitoring
 * is a Python-level module, so it is driven through attribute calls: the limited API has no C
 * API for it. Callbacks receive (code, instruction offset): line numbers come from a per-code
 * table built once, never from PyFrame_GetLineNumber (~950 instructions on 3.12). */
#include "common/error.h"
#include "cpython/cpython.h"

enum monitored {
    M_PY_START,
    M_PY_RESUME,
    M_PY_THROW,
    M_PY_RETURN,
    M_PY_YIELD,
    M_PY_UNWIND,
    M_CALL,
    M_C_RETURN,
    M_C_RAISE,
    M_LINE,
    M_RAISE,
    M_COUNT
};

static const char *const event_names[M_COUNT] = {
    "PY_START", "PY_RESUME", "PY_THROW", "PY_RETURN", "PY_YIELD", "PY_UNWIND",
    "CALL",     "C_RETURN",  "C_RAISE",  "LINE",      "RAISE",
};

/* The instruction offset of an event, args[1]: the pipeline turns it into a line (through the
 * source's line_at) only for an event it writes. */
static int32_t offset_of(PyObject *const *args)
{
    return (int32_t)PyLong_AsLong(args[1]);
}

/* Every frame entry: a call, a generator resume, a throw() into a generator. */
static PyObject *on_enter(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    pmt__cpy_state *st = pmt__state_of(self);
    if (nargs < 2 || !pmt__state_active(st))
        Py_RETURN_NONE;
    int32_t depth = ++*pmt__depth_here(st, 1);
    pmt__code_entry *e = pmt__code_entry_of(st, args[0]);
    if (!e)
        Py_RETURN_NONE;
    if (e->ignored) {
        pmt__own_enter(st, depth);
        Py_RETURN_NONE;
    }
    if (pmt__tracer_wants(st->tracer, PMT_EV_CALL))
        pmt__tracer_event_at(st->tracer, PMT_EV_CALL, pmt__entry_selected(e), e->file, e->function,
                             e, offset_of(args), depth);
    pmt__place_call(st, e, pmt__charge_enter(st, e));
    Py_RETURN_NONE;
}

/* Every frame exit: return, yield, unwinding by an exception. */
static PyObject *on_leave(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    pmt__cpy_state *st = pmt__state_of(self);
    if (nargs < 2 || !pmt__state_active(st))
        Py_RETURN_NONE;
    int32_t *counter = pmt__depth_here(st, 0);
    int32_t depth = *counter;
    if (depth > 0)
        (*counter)--;
    pmt__code_entry *e = pmt__code_entry_of(st, args[0]);
    if (!e)
        Py_RETURN_NONE;
    if (e->ignored) {
        pmt__own_leave(st);
        Py_RETURN_NONE;
    }
    if (pmt__tracer_wants(st->tracer, PMT_EV_RETURN))
        pmt__tracer_event_at(st->tracer, PMT_EV_RETURN, pmt__entry_selected(e), e->file,
                             e->function, e, offset_of(args), depth);
    pmt__charge_leave(st);
    Py_RETURN_NONE;
}

/* PY_UNWIND: an exception leaves a frame. A frame can be left this way without its entry ever
 * reported (3.13 delivers a KeyboardInterrupt at a frame's first instruction, before PY_START),
 * so an exception leaving at or before the first RESUME has the frames counted: the exit of a
 * frame whose entry was missed is not reported. Only that rare case walks the stack (frame
 * objects' f_back is not the event order for generators, so it is no general oracle). */
static PyObject *on_unwind(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    pmt__cpy_state *st = pmt__state_of(self);
    if (nargs < 2 || !pmt__state_active(st))
        Py_RETURN_NONE;
    pmt__code_entry *e = pmt__code_entry_of(st, args[0]);
    if (!e || !pmt__code_before_entry(st, e, args[0], PyLong_AsLong(args[1])))
        return on_leave(self, args, nargs);
    int32_t *counter = pmt__depth_here(st, 0);
    int was = pmt__own_work_begin(st);
    int32_t frames = pmt__frame_depth(); /* the frame being left is still on the stack */
    pmt__own_work_end(st, was);
    if (frames > 0 && *counter == frames - 1)
        Py_RETURN_NONE; /* never entered as far as the log knows */
    return on_leave(self, args, nargs);
}

/* CALL, C_RETURN and C_RAISE: (code, offset, callable, arg0). CALL fires for every callable;
 * only C functions and method descriptors are reported, as the legacy profiler did. */
static void c_event(PyObject *self, PyObject *const *args, Py_ssize_t nargs, pmt_event_kind kind)
{
    pmt__cpy_state *st = pmt__state_of(self);
    if (nargs < 3 || !pmt__state_active(st))
        return;
    /* With allocations traced, every call (of Python code too) says where its caller is. */
    int place = kind == PMT_EV_C_CALL && pmt__tracer_tracks_places(st->tracer);
    if (!place && !pmt__tracer_wants(st->tracer, kind))
        return;
    pmt__code_entry *caller = pmt__code_entry_of(st, args[0]);
    if (!caller || caller->ignored)
        return;
    if (place) {
        pmt__depth_here(st, 0);
        pmt__here(caller, pmt__code_line_at(st, caller, args[0], PyLong_AsLong(args[1])));
        if (!pmt__tracer_wants(st->tracer, kind))
            return;
    }
    pmt__code_entry *callee = pmt__c_function_entry_of(st, args[2]);
    if (!callee)
        return;
    pmt__tracer_event_at(st->tracer, kind, pmt__c_event_selected(caller, callee), caller->file,
                         callee->function, caller, offset_of(args), *pmt__depth_here(st, 0));
}

static PyObject *on_call(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    c_event(self, args, nargs, PMT_EV_C_CALL);
    Py_RETURN_NONE;
}

static PyObject *on_c_return(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    c_event(self, args, nargs, PMT_EV_C_RETURN);
    Py_RETURN_NONE;
}

static PyObject *on_c_raise(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    c_event(self, args, nargs, PMT_EV_C_EXCEPTION);
    Py_RETURN_NONE;
}

/* Some tracer returned DISABLE for a line: those locations stay off for that tool id until
 * sys.monitoring.restart_events(), which the next attach calls, whatever its filters. */
static int lines_disabled;

/* LINE: (code, line number). */
static PyObject *on_line(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    pmt__cpy_state *st = pmt__state_of(self);
    if (nargs < 2 || !pmt__state_active(st))
        Py_RETURN_NONE;
    pmt__code_entry *e = pmt__code_entry_of(st, args[0]);
    if (e && (e->ignored || !pmt__entry_selected(e)) && st->disable) {
        /* Lines of the tracer's own code, or of code the file/function filters exclude, are
         * never reported: switched off at this location for this tool (not numbered, unlike
         * dropped calls and returns, which keep the depth). */
        lines_disabled = 1;
        Py_INCREF(st->disable);
        return st->disable;
    }
    if (e && !e->ignored) {
        int32_t depth = *pmt__depth_here(st, 0), line = (int32_t)PyLong_AsLong(args[1]);
        pmt__place_line(st, e, line);
        pmt__tracer_event_selected(st->tracer, PMT_EV_LINE, pmt__entry_selected(e), e->file,
                                   e->function, line, depth);
    }
    Py_RETURN_NONE;
}

/* RAISE: (code, offset, exception). */
static PyObject *on_raise(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    pmt__cpy_state *st = pmt__state_of(self);
    if (nargs < 2 || !pmt__state_active(st))
        Py_RETURN_NONE;
    pmt__code_entry *e = pmt__code_entry_of(st, args[0]);
    if (e && !e->ignored)
        pmt__tracer_event_at(st->tracer, PMT_EV_EXCEPTION, pmt__entry_selected(e), e->file,
                             e->function, e, offset_of(args), *pmt__depth_here(st, 0));
    Py_RETURN_NONE;
}

#define FASTCALL(f) ((PyCFunction)(void (*)(void))(f))
static PyMethodDef hook_defs[M_COUNT] = {
    {"pymemtrace_py_start", FASTCALL(on_enter), METH_FASTCALL, NULL},
    {"pymemtrace_py_resume", FASTCALL(on_enter), METH_FASTCALL, NULL},
    {"pymemtrace_py_throw", FASTCALL(on_enter), METH_FASTCALL, NULL},
    {"pymemtrace_py_return", FASTCALL(on_leave), METH_FASTCALL, NULL},
    {"pymemtrace_py_yield", FASTCALL(on_leave), METH_FASTCALL, NULL},
    {"pymemtrace_py_unwind", FASTCALL(on_unwind), METH_FASTCALL, NULL},
    {"pymemtrace_call", FASTCALL(on_call), METH_FASTCALL, NULL},
    {"pymemtrace_c_return", FASTCALL(on_c_return), METH_FASTCALL, NULL},
    {"pymemtrace_c_raise", FASTCALL(on_c_raise), METH_FASTCALL, NULL},
    {"pymemtrace_line", FASTCALL(on_line), METH_FASTCALL, NULL},
    {"pymemtrace_raise", FASTCALL(on_raise), METH_FASTCALL, NULL},
};

/* Which sys.monitoring events the tracer's mask needs. Frame entries and exits are always
 * needed: they keep the depth. */
static int needed(const pmt_tracer *t, enum monitored m)
{
    switch (m) {
    case M_CALL:
        return pmt__tracer_wants(t, PMT_EV_C_CALL) || pmt__tracer_wants(t, PMT_EV_C_RETURN) ||
               pmt__tracer_wants(t, PMT_EV_C_EXCEPTION) || pmt__tracer_tracks_places(t);
    case M_C_RETURN:
    case M_C_RAISE:
        return pmt__tracer_wants(t, PMT_EV_C_CALL) || pmt__tracer_wants(t, PMT_EV_C_RETURN) ||
               pmt__tracer_wants(t, PMT_EV_C_EXCEPTION);
    case M_LINE:
        return pmt__tracer_wants(t, PMT_EV_LINE);
    case M_RAISE:
        return pmt__tracer_wants(t, PMT_EV_EXCEPTION);
    default:
        return 1;
    }
}

static PyObject *monitoring_module(void)
{
    PyObject *sys = PyImport_ImportModule("sys");
    if (!sys)
        return NULL;
    PyObject *mon = PyObject_GetAttrString(sys, "monitoring");
    Py_DECREF(sys);
    return mon;
}

/* The first free tool id of those no standard tool claims (3, 4), then PROFILER_ID (2) last:
 * cProfile and profile take 2 and refuse to start without it. */
static int free_tool_id(PyObject *mon)
{
    static const int candidates[] = {3, 4, 2};
    PyObject *owners[3] = {NULL, NULL, NULL};
    int found = -1;
    for (size_t i = 0; i < sizeof candidates / sizeof *candidates && found < 0; i++) {
        owners[i] = PyObject_CallMethod(mon, "get_tool", "i", candidates[i]);
        if (!owners[i])
            break;
        if (owners[i] == Py_None)
            found = candidates[i];
    }
    if (found < 0 && owners[2]) /* all taken: say by whom, and what to do */
        PyErr_Format(PyExc_RuntimeError,
                     "no sys.monitoring tool id is free for pymemtrace: 3 is held by %R, 4 by %R, "
                     "2 by %R (sys.monitoring.get_tool). At most three tracers of this library "
                     "run at once on Python 3.12+ (each Profile or Trace takes one), and "
                     "profilers, debuggers and coverage take ids too: stop one of them first",
                     owners[0], owners[1], owners[2]);
    for (size_t i = 0; i < 3; i++)
        Py_XDECREF(owners[i]);
    return found;
}

static int register_all(pmt__cpy_state *st, PyObject *mon)
{
    PyObject *events = PyObject_GetAttrString(mon, "events");
    if (!events)
        return -1;
    long set = 0;
    int rc = 0;
    for (int m = 0; m < M_COUNT && rc == 0; m++) {
        if (!needed(st->tracer, (enum monitored)m))
            continue;
        PyObject *value = PyObject_GetAttrString(events, event_names[m]);
        long bit = value ? PyLong_AsLong(value) : -1;
        Py_XDECREF(value);
        if (bit < 0 && PyErr_Occurred()) {
            rc = -1;
            break;
        }
        if (!st->monitor_hooks[m]) {
            st->monitor_hooks[m] = PyCFunction_NewEx(&hook_defs[m], st->hook_self, NULL);
            if (!st->monitor_hooks[m]) {
                rc = -1;
                break;
            }
        }
        PyObject *old = PyObject_CallMethod(mon, "register_callback", "ilO", st->tool_id, bit,
                                            st->monitor_hooks[m]);
        if (!old)
            rc = -1;
        Py_XDECREF(old);
        set |= bit;
    }
    Py_DECREF(events);
    if (rc == 0) {
        PyObject *r = PyObject_CallMethod(mon, "set_events", "il", st->tool_id, set);
        if (!r)
            rc = -1;
        Py_XDECREF(r);
    }
    return rc;
}

static int unregister_all(pmt__cpy_state *st, PyObject *mon)
{
    PyObject *r = PyObject_CallMethod(mon, "set_events", "ii", st->tool_id, 0);
    Py_XDECREF(r);
    PyObject *events = r ? PyObject_GetAttrString(mon, "events") : NULL;
    for (int m = 0; events && m < M_COUNT; m++) {
        if (!st->monitor_hooks[m])
            continue;
        PyObject *value = PyObject_GetAttrString(events, event_names[m]);
        PyObject *old = value ? PyObject_CallMethod(mon, "register_callback", "iOO", st->tool_id,
                                                    value, Py_None)
                              : NULL;
        Py_XDECREF(value);
        Py_XDECREF(old);
    }
    Py_XDECREF(events);
    PyObject *freed = PyObject_CallMethod(mon, "free_tool_id", "i", st->tool_id);
    Py_XDECREF(freed);
    st->tool_id = -1;
    return PyErr_Occurred() ? -1 : 0;
}

int pmt__monitoring_attach(pmt__cpy_state *st)
{
    PyObject *mon = monitoring_module();
    if (!mon)
        return pmt__fail(PMT_EPYTHON, "sys.monitoring is not available");
    if (!st->disable) {
        st->disable = PyObject_GetAttrString(mon, "DISABLE");
        if (!st->disable)
            PyErr_Clear(); /* lines of excluded code are then dropped one by one */
    }
    if (lines_disabled) {
        PyObject *r = PyObject_CallMethod(mon, "restart_events", NULL);
        if (r)
            lines_disabled = 0;
        Py_XDECREF(r);
        PyErr_Clear();
    }
    int id = free_tool_id(mon);
    int rc = -1;
    if (id >= 0) {
        PyObject *r = PyObject_CallMethod(mon, "use_tool_id", "is", id, "pymemtrace");
        if (r) {
            st->tool_id = id;
            rc = register_all(st, mon);
            if (rc != 0) {
                PyObject *type, *value, *tb;
                PyErr_Fetch(&type, &value, &tb);
                unregister_all(st, mon);
                PyErr_Restore(type, value, tb);
            }
        }
        Py_XDECREF(r);
    }
    Py_DECREF(mon);
    if (rc == 0)
        return PMT_OK;
    return pmt__fail(PMT_EPYTHON, id < 0 ? "no sys.monitoring tool id is free for pymemtrace"
                                         : "cannot register sys.monitoring callbacks");
}

int pmt__monitoring_detach(pmt__cpy_state *st)
{
    if (st->tool_id < 0)
        return PMT_OK;
    PyObject *mon = monitoring_module();
    if (!mon)
        return pmt__fail(PMT_EPYTHON, "sys.monitoring is not available");
    int rc = unregister_all(st, mon);
    Py_DECREF(mon);
    return rc == 0 ? PMT_OK : pmt__fail(PMT_EPYTHON, "cannot unregister sys.monitoring callbacks");
}
