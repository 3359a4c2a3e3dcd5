/* The event path from a source to the sinks: numbering, the filter stages (clock, RSS and the
 * trigger among them) and delivery. */
#ifndef PMT_CORE_PIPELINE_H
#define PMT_CORE_PIPELINE_H

#include "tracer_internal.h"

/* Writes an event that bypasses the trigger (start, stop, mark) at the given location. */
void pmt__pipeline_write_always(pmt_tracer *t, pmt_event_kind kind, pmt_event_reason reason,
                                const char *file, const char *function, int32_t line, int32_t depth,
                                const char *message);

/* Tells every sink the run's facts; a sink whose begin fails is disabled. */
void pmt__pipeline_begin(pmt_tracer *t, const pmt_run_info *info);

/* Resets the filter for a new run and resolves the stages' parameters for the hot path (the
 * time window from t->start_ns, which must be set first). */
void pmt__pipeline_reset(pmt_tracer *t);

/* Asks every live sink to flush; a failing sink is disabled. */
void pmt__pipeline_flush(pmt_tracer *t);

#endif
