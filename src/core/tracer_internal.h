/* The tracer's private layout, shared by the core files and the event source. Never installed. */
#ifndef PMT_CORE_TRACER_INTERNAL_H
#define PMT_CORE_TRACER_INTERNAL_H

#include <pymemtrace/tracer.h>

#include "strings.h"

/* What a tracer needs from whatever produces its events (the CPython event source, or a fake in
 * the tests). All calls happen with the interpreter's GIL held. */
typedef struct pmt__source_ops {
    /* PMT_OK when the calling thread may use the interpreter, else a failure (PMT_ENOTHREAD). */
    int (*check_thread)(void);
    /* Install hooks; on the first call *state is NULL and may be set. Emits nothing. */
    int (*attach)(pmt_tracer *tracer, void **state);
    /* Remove hooks; state stays for a later attach. */
    int (*detach)(pmt_tracer *tracer, void *state);
    /* Drop every reference into the interpreter and free state (at stop, GIL held). */
    void (*release)(pmt_tracer *tracer, void *state);
    /* Where the calling thread is now, for start, stop and mark events. */
    void (*locate)(pmt_tracer *tracer, void *state, const char **file, const char **function,
                   int32_t *line, int32_t *depth);
    /* Optional: the traced runtime, e.g. "CPython 3.12.1", for log headers. */
    const char *(*runtime)(pmt_tracer *tracer, void *state);
    /* Optional: make the calling thread, whatever it is, safe to emit a mark from (take the
     * GIL); leave undoes it. enter returns PMT_OK or a failure. */
    int (*enter)(uintptr_t *token);
    void (*leave)(uintptr_t token);
} pmt__source_ops;

struct pmt_sink {
    pmt_sink_ops ops;
    void *user_data;
    char *path;   /* file sinks only; owned */
    int owned;    /* handed to a tracer */
    int failed;   /* a callback failed: no more calls but close */
    int finished; /* finish (or the final flush) has run */
};

struct pmt_tracer {
    int state; /* pmt_tracer_state */

    /* Parameters. */
    int64_t trigger_param;
    uint64_t trigger_bytes; /* resolved at start: -1 becomes the page size */
    uint64_t event_mask;
    int64_t rss_mode;
    int64_t rss_interval_ns;
    int64_t threads_mode;   /* pmt_threads_mode */
    int64_t interpreter_id; /* set by the source at attach */

    /* Collaborators. */
    pmt_rss_provider rss;
    void *rss_user_data;
    uint64_t (*clock)(void *user_data);
    void *clock_user_data;
    pmt_sink **sinks;
    size_t sink_count;
    const pmt__source_ops *source;
    void *source_state;
    pmt__strings strings;
    char *own_code_prefix; /* files starting with this are the tracer's own: never reported */

    /* The filter's state: the event being built and the one before it, so that the event
     * before a trigger can be written with its own values. */
    pmt_event slots[2];
    int current;
    int previous_valid;
    int previous_written;
    int delivering;            /* sinks are running: events they cause are not traced */
    uint64_t last_rss;         /* last value read from the provider */
    uint64_t last_written_rss; /* RSS of the last event delivered to the sinks */

    /* Counters. */
    uint64_t seq;
    uint64_t written;
    uint64_t sinks_failed;
    uint64_t rss_errors;
};

/* Frees a sink: flush, close, free (the tracer's own sinks and unowned ones alike). */
void pmt__sink_free(pmt_sink *sink);

/* Creates a tracer whose events come from source (tests pass a fake). */
int pmt__tracer_create_with_source(pmt_tracer **out, const pmt__source_ops *source);

/* Declares the files of the tracer's own wrapper code (e.g. the Python package's directory):
 * their events keep depths right but are never reported. */
int pmt__tracer_set_own_code_prefix(pmt_tracer *tracer, const char *prefix);

/* Replaces the clock (tests use a fake one). */
void pmt__tracer_set_clock(pmt_tracer *tracer, uint64_t (*clock)(void *), void *user_data);

/* The hot path: one observed event. file and function must be interned (live as long as the
 * tracer). Allocates nothing, formats nothing; a dropped event costs a few loads and compares
 * plus the RSS provider. */
void pmt__tracer_event(pmt_tracer *tracer, pmt_event_kind kind, const char *file,
                       const char *function, int32_t line, int32_t depth);

/* Is kind observed by this tracer? Lets a source skip work for masked kinds. */
static inline int pmt__tracer_wants(const pmt_tracer *tracer, pmt_event_kind kind)
{
    return (tracer->event_mask >> kind) & 1u;
}

#endif
