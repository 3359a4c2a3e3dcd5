/* The event path from a source to the sinks: numbering, the filter stages (clock, RSS and the
 * trigger among them) and delivery. */
#ifndef PMT_CORE_PIPELINE_H
#define PMT_CORE_PIPELINE_H

#include "core/tracer_internal.h"

/* Writes an event that bypasses the trigger (start, stop, mark) at the given location. */
void pmt__pipeline_write_always(pmt_tracer *t, pmt_event_kind kind, pmt_event_reason reason,
                                const char *file, const char *function, int32_t line, int32_t depth,
                                const char *message);

/* Where and why a run starts: the calling thread's place, and for a following child of fork
 * the parent's process id (0 for pmt_tracer_start()). */
typedef struct pmt__run_origin {
    const char *file, *function;
    int32_t line, depth;
    long parent_pid;
} pmt__run_origin;

/* Begins a run, the one way both pmt_tracer_start() (after the source attached) and a following
 * child of fork do: numbering from 0, the clock origin, the stages' parameters resolved for the
 * hot path, a fresh RSS in a child, the sinks begun with the run's facts, the START event (and
 * in a child a mark naming both processes, flushed at once). */
void pmt__pipeline_start_run(pmt_tracer *t, const pmt__run_origin *origin);

/* Writes the samples the attached monitor handed over and the tracer has not written yet. */
void pmt__pipeline_write_samples(pmt_tracer *t);

/* Gives every live sink with a call_stats op the call aggregation (at stop). */
void pmt__pipeline_call_stats(pmt_tracer *t);

/* Asks every live sink to flush; a failing sink is disabled. */
void pmt__pipeline_flush(pmt_tracer *t);

#endif
