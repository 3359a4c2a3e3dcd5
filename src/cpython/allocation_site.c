/* Where an allocation (or an object's birth or death) happened, in Python's terms, without
 * walking a frame or calling Python: the code entry and line the thread's last event left in its
 * slot (threads.c). The hooks keep it as events pass: a call enters the callee at its first line;
 * a C call (and on 3.12+ every call, which sys.monitoring then reports for this) moves the caller
 * to the call's line; a line event (Trace) to its line; a return gives the caller back the place
 * its shadow frame kept (core/calls.h). doc/allocations.md says which line that is in each mode. */
#include "cpython/cpython.h"

int pmt__thread_place(const pmt__cpy_state *st, pmt__place *out)
{
    pmt__thread_depth *slot = NULL;
    for (int i = 0; i < PMT__THREAD_DEPTH_SLOTS; i++) {
        if (pmt__thread_depths[i].run == st->run) {
            slot = &pmt__thread_depths[i];
            break;
        }
    }
    if (slot && pmt__own_innermost(slot))
        return 0;
    /* A thread with no event yet in this run: its place is not known (and finding it would
     * call Python inside an allocator). */
    const pmt__code_entry *e = slot ? slot->at : NULL;
    out->file = e ? e->file : "";
    out->function = e ? e->function : "";
    out->line = e ? slot->at_line : 0;
    out->depth = slot ? slot->depth : 0;
    return 1;
}

void pmt__allocation_here(pmt__cpy_state *st, const pmt__allocation *a)
{
    pmt__place place;
    if (!pmt__thread_place(st, &place)) {
        st->tracer->allocations_untraced++; /* the tracer's own Python code */
        return;
    }
    pmt__tracer_allocation(st->tracer, a, place.file, place.function, place.line, place.depth);
}
