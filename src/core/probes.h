/* The pipeline's side of the USDT probes (platform/probes.h): what each probe is given, taken
 * from the event being built. The pipeline tests PMT__PROBE_WANTED inline and calls these only
 * when a consumer is attached, so none of this runs for a probe nobody listens to. */
#ifndef PMT_CORE_PROBES_H
#define PMT_CORE_PROBES_H

#include "core/tracer_internal.h"
#include "platform/probes.h"

/* The `event` probe for the slot's event (its line resolved now when the source gives it
 * later); its dRSS is against the event before it in the pipeline's ring. */
void pmt__probes_event(pmt_tracer *t, pmt__slot *slot);

/* The `rss_change` probe: the slot's event passed the trigger and was delivered (it carries its
 * dRSS against the last written event and its user site, the probe's place when known). */
void pmt__probes_rss_change(const pmt__slot *slot);

/* The probes of an event written always: `tracer_start`, `tracer_stop` or `mark`. */
void pmt__probes_always(pmt_tracer *t, const pmt__slot *slot);

/* `gc_start` or `gc_done`. */
void pmt__probes_gc(const pmt__slot *slot);

/* `alloc`, `free` and `realloc` for an allocation the hooks reported (a realloc fires `free` of
 * the old block, `alloc` of the new one, then `realloc`); old_size: the freed or moved block's
 * size when the tracer recorded it, else 0. */
void pmt__probes_allocation(const pmt__allocation *a, uint64_t old_size, const char *file,
                            int32_t line, const char *function);

/* `object_new` or `object_free` for an object of a counted type (CPython 3.13+), after its
 * count: live is its type's net count then; the place is the thread's Python line, "" and 0
 * when the source could not say. */
void pmt__probes_object(pmt_event_kind kind, uint64_t address, const pmt__type_entry *type,
                        const char *file, int32_t line, const char *function);

/* Is a consumer attached to either object probe? */
#define PMT__PROBES_OBJECTS_WANTED()                                                               \
    (PMT__PROBE_WANTED(object_new) || PMT__PROBE_WANTED(object_free))

#endif
