/* Per-thread stack depths. A tracer sees every thread of its interpreter, and a thread may be
 * seen by several tracers (a Profile and a Trace at once, or tracers of several interpreters it
 * runs in), so each thread keeps a few (run, depth) slots, the most recent first. A thread
 * starts counting at its first event of a run from its real stack depth, so threads that were
 * running before the tracer started, and runs after a pause, get true depths. */
#include "cpython/cpython.h"

#include <stdlib.h>

_Thread_local pmt__thread_depth pmt__thread_depths[PMT__THREAD_DEPTH_SLOTS];

static uint64_t last_run;

uint64_t pmt__thread_new_run(void)
{
    return __atomic_add_fetch(&last_run, 1, __ATOMIC_RELAXED);
}

int32_t *pmt__thread_depth_sync(const pmt__cpy_state *st, int entering)
{
    pmt__thread_depth *slots = pmt__thread_depths;
    size_t found = PMT__THREAD_DEPTH_SLOTS - 1; /* the least recent is replaced */
    int known = 0;
    for (size_t i = 1; i < PMT__THREAD_DEPTH_SLOTS; i++) {
        if (slots[i].run == st->run) {
            found = i;
            known = 1;
            break;
        }
    }
    pmt__thread_depth mine = slots[found];
    if (!known) {
        int was = pmt__own_work_begin(st);
        int32_t frames = pmt__frame_depth();
        pmt__own_work_end(st, was);
        mine.run = st->run;
        mine.depth = frames > 0 && entering ? frames - 1 : frames;
        mine.shadow = NULL; /* a replaced slot's shadow stays on its state's list */
        mine.at = NULL;
        mine.at_line = mine.own_count = 0;
    }
    for (size_t i = found; i > 0; i--)
        slots[i] = slots[i - 1];
    slots[0] = mine;
    return &slots[0].depth;
}

pmt__shadow *pmt__thread_shadow_new(pmt__cpy_state *st)
{
    pmt__shadow *shadow = calloc(1, sizeof *shadow);
    if (!shadow)
        return NULL;
    shadow->thread_id = pmt__os_thread_id();
    shadow->next = st->shadows;
    st->shadows = shadow;
    pmt__thread_depths[0].shadow = shadow;
    return shadow;
}

void pmt__thread_shadows_free(pmt__cpy_state *st)
{
    pmt__calls_forget_shadows(&st->tracer->calls);
    for (pmt__shadow *s = st->shadows, *next; s; s = next) {
        next = s->next;
        free(s->frames);
        free(s);
    }
    st->shadows = NULL;
}

pmt__shadow *pmt__thread_shadow_of(const pmt__cpy_state *st)
{
    for (int i = 0; i < PMT__THREAD_DEPTH_SLOTS; i++)
        if (pmt__thread_depths[i].run == st->run)
            return pmt__thread_depths[i].shadow;
    return NULL;
}
