/* The seam between a tracer and whatever produces its events: the CPython event source, or a
 * fake in the tests. Never installed. */
#ifndef PMT_CORE_SOURCE_H
#define PMT_CORE_SOURCE_H

#include <stdint.h>

#include <pymemtrace/tracer.h>

struct pmt__shadow; /* core/calls.h */

/* What a tracer needs from its source. Every function gets the source's own object (self, given
 * to pmt__tracer_create_with_source()) so that a source needs no global; the ones about a run
 * also get the tracer and the per-tracer state attach made. All calls happen with the
 * interpreter's GIL held, except enter, which takes it. */
typedef struct pmt__source_ops {
    /* PMT_OK when the calling thread may use the interpreter, else a failure (PMT_ENOTHREAD). */
    int (*check_thread)(void *self);
    /* Install hooks; on the first call *state is NULL and may be set. Emits nothing. */
    int (*attach)(void *self, pmt_tracer *tracer, void **state);
    /* Remove hooks; state stays for a later attach. */
    int (*detach)(void *self, pmt_tracer *tracer, void *state);
    /* Drop every reference into the interpreter and free state (at stop, GIL held). */
    void (*release)(void *self, pmt_tracer *tracer, void *state);
    /* Where the calling thread is now, for start, stop and mark events. */
    void (*locate)(void *self, pmt_tracer *tracer, void *state, const char **file,
                   const char **function, int32_t *line, int32_t *depth);
    /* Optional: the traced runtime, e.g. "CPython 3.12.1", for log headers. */
    const char *(*runtime)(void *self, pmt_tracer *tracer, void *state);
    /* Optional: make the calling thread, whatever it is, safe to emit a mark from (take the
     * GIL); leave undoes it. enter returns PMT_OK or a failure. */
    int (*enter)(void *self, uintptr_t *token);
    void (*leave)(void *self, uintptr_t token);
    /* Optional, for events given with pmt__tracer_event_at(): the line of where/offset. */
    int32_t (*line_at)(void *self, void *state, const void *where, int32_t offset);
    /* Optional: fill a written event's user site (user_file, user_function, user_line) and,
     * when want_path, its call path (call_node); ev's other fields are final, leaving these is
     * "no user site". shadow is the calls the event happened in, its first depth frames, when
     * the pipeline knows them (the event's thread's), else NULL. now: the event is the calling
     * thread's latest (the source may look at the thread's stack); else it is an earlier one (a
     * PREV row), perhaps of another thread. Only for events that are written (#PMT_PARAM_CALLS
     * above 0). */
    void (*site)(void *self, void *state, pmt_event *ev, const struct pmt__shadow *shadow,
                 size_t depth, int now, int want_path);
    /* Optional: the calling thread's shadow of calls (core/calls.h) in this run, or NULL; asked
     * when an event's thread is not the last charged event's. */
    const struct pmt__shadow *(*shadow_here)(void *self, void *state);
    /* Optional: how the attached hooks receive events (pmt_tracer_hook_name()). */
    const char *(*hook_name)(void *self, void *state);
} pmt__source_ops;

/* Creates a tracer whose events come from source, which is called with self. */
int pmt__tracer_create_with_source(pmt_tracer **out, const pmt__source_ops *source, void *self);

#endif
