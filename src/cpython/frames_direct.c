/* The second island outside the limited API: PyFrame_GetBack (3.9+) and PyFrame_GetLasti
 * (3.11+), resolved at run time, for the frame walks of user sites (frames.c).
 *
 * Why: a written event whose user's frame waits for a library call needs that frame's line,
 * found by walking up from the current frame. Through the limited API each step is
 * getattr(frame, "f_back") (~1040 instructions on 3.12) and the line PyFrame_GetLineNumber
 * (~1650); with these two functions a step is a call of a few instructions and the line comes
 * from the code's offset table the source keeps anyway (code_cache.c). Measured on
 * bench/sparse.py, Profile(0) on 3.12 (bench/results): see ARCHITECTURE.md.
 *
 * How it stays safe for the one .abi3.so: nothing is linked; both are looked up with dlsym() in
 * the running process (the interpreter, or libpython in an embedding application), GetLasti
 * only on 3.11+, whose byte offsets are those co_lines() gives. Missing either, frames.c walks
 * through the limited API as before. */
#define _GNU_SOURCE
#include <dlfcn.h>

#include "cpython/cpython.h"

typedef PyObject *(*get_back_fn)(PyObject *frame);
typedef int (*get_lasti_fn)(PyObject *frame);

static get_back_fn get_back;
static get_lasti_fn get_lasti;
static int looked_up;

static void look_up(long hexversion)
{
    if (looked_up) /* GIL held: one thread at a time */
        return;
    get_back = (get_back_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "PyFrame_GetBack");
    if (hexversion >= 0x030B0000)
        get_lasti = (get_lasti_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "PyFrame_GetLasti");
    looked_up = 1;
}

int pmt__frames_direct(long hexversion)
{
    look_up(hexversion);
    return get_back != NULL;
}

PyObject *pmt__frame_back_direct(PyObject *frame)
{
    return get_back(frame);
}

long pmt__frame_offset_direct(PyObject *frame)
{
    return get_lasti ? get_lasti(frame) : -1;
}
