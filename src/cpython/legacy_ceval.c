/* The one island outside the limited API: on CPython 3.10 and 3.11, PyEval_SetProfile and
 * PyEval_SetTrace, resolved at run time.
 *
 * Why: the limited API's way in, sys.setprofile/sys.settrace with a C builtin, makes CPython call
 * the hook through a Python-level trampoline (argument tuple of frame, event name, arg; a
 * vectorcall; the recursion check): ~930 instructions per event on 3.11 for a hook that only
 * counts, against ~780 when the same C function is installed with PyEval_SetProfile. It also
 * makes the hook overflow at the recursion limit one level before the program would.
 *
 * How it stays safe for the one .abi3.so: nothing here is linked; the two functions are looked up
 * with dlsym() in the running process (the interpreter, or libpython for an embedding
 * application), only on 3.10 and 3.11, whose Py_tracefunc signature and PyTrace_* values (0-7,
 * the order of legacy.c's enum) these versions share. When they are missing, or
 * PYMEMTRACE_LEGACY_HOOKS=sys is set, legacy.c installs its hooks with sys.setprofile/settrace,
 * as before. Removing a hook never needs them: sys.setprofile(None) clears a C-level hook too. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "cpython/cpython.h"

typedef void (*set_hook_fn)(pmt__tracefunc func, PyObject *obj);

static set_hook_fn set_profile, set_trace;
static int looked_up;

int pmt__ceval_hooks_available(long hexversion)
{
    if (hexversion < 0x030A0000 || hexversion >= 0x030C0000)
        return 0;
    const char *choice = getenv("PYMEMTRACE_LEGACY_HOOKS");
    if (choice && strcmp(choice, "sys") == 0)
        return 0;
    if (!looked_up) { /* GIL held: one thread at a time */
        set_profile = (set_hook_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "PyEval_SetProfile");
        set_trace = (set_hook_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "PyEval_SetTrace");
        looked_up = 1;
    }
    return set_profile && set_trace;
}

void pmt__ceval_set_profile(pmt__tracefunc func, PyObject *obj)
{
    set_profile(func, obj);
}

void pmt__ceval_set_trace(pmt__tracefunc func, PyObject *obj)
{
    set_trace(func, obj);
}
