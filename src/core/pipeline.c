/* The event path: the filter stages in the order tracer.h documents, then the sinks. The stages
 * before the RSS read compare the event with values resolved at start, so that an event they
 * drop costs a few loads and compares: no clock read unless a time window is set, no RSS read. */
#include "core/pipeline.h"

#include <string.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/compiler.h"
#include "core/fork.h"
#include "core/probes.h"
#include "core/run_info.h"
#include "platform/os.h"

/* Resets the filter for a new run and resolves the stages' parameters for the hot path (the
 * time window from t->start_ns, which must be set first). */
static void reset(pmt_tracer *t)
{
    t->current = 0;
    t->previous_valid = 0;
    t->previous_written = 0;
    t->last_written_rss = 0;
    t->depth_limit = t->max_depth < 0 ? INT32_MAX : (int32_t)t->max_depth;
    /* Both bounds are below 2^63 and so is the monotonic clock: no sum here wraps. */
    uint64_t from = (uint64_t)t->time_from_ns, until = (uint64_t)t->time_until_ns;
    t->window_on = t->time_from_ns > 0 || t->time_until_ns != INT64_MAX;
    t->window_start = t->start_ns + from;
    t->window_span = until > from ? until - from : 0;
    t->sample_left = 0;
    pmt__blocks_free(&t->blocks);
    t->allocations_seen = t->allocations_untraced = t->frees_of_null = 0;
    pmt__object_types_free(&t->object_types); /* the source finds its types again */
    t->objects_created = t->objects_destroyed = 0;
    if (!t->alloc_random) /* any odd seed; the start time differs per run and per process */
        t->alloc_random = (t->start_ns ^ (uint64_t)pmt__process_id() << 32) | 1;
    t->alloc_bytes_left = 0;
    t->alloc_site.changes = 0;
}

/* ln(x) for x in (0, 1]: x = m * 2^e with m in [1, 2), ln m = 2 atanh((m - 1) / (m + 1)) by its
 * series (|z| < 1/3: 8 terms are good to 1e-9). Here so that the library needs no libm. */
static double natural_log(double x)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    int e = (int)((bits >> 52) & 0x7FF) - 1023;
    bits = (bits & ~(UINT64_C(0x7FF) << 52)) | (UINT64_C(1023) << 52);
    double m;
    memcpy(&m, &bits, sizeof m);
    double z = (m - 1) / (m + 1), z2 = z * z, term = z, sum = 0;
    for (int k = 1; k <= 15; k += 2, term *= z2)
        sum += term / k;
    return 2 * sum + e * 0.69314718055994530942;
}

/* Byte sampling: the bytes until the next recorded allocation, exponentially distributed with
 * mean alloc_sample_bytes (allocation sizes then thin a Poisson process of bytes: a block of S
 * bytes is recorded with probability 1 - exp(-S/R)). xorshift64*: a few cycles, once per
 * recorded allocation only. */
static int64_t next_sample_gap(pmt_tracer *t)
{
    uint64_t x = t->alloc_random;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    t->alloc_random = x;
    double u = (double)((x * UINT64_C(0x2545F4914F6CDD1D)) >> 11) / 9007199254740992.0; /* [0,1) */
    double gap = -natural_log(1.0 - u) * (double)t->alloc_sample_bytes; /* 1 - u in (0, 1] */
    return gap < 1.0 ? 1 : gap > 9e18 ? INT64_MAX : (int64_t)gap;
}

/* A callback other than write failed just now. */
static void disable_sink(pmt_tracer *t, pmt_sink *sink)
{
    pmt__sink_failed_now(sink);
    t->sinks_failed++;
}

/* Fills the slot's user site (and call path) once; now: the slot holds the calling thread's
 * latest event. */
static void site(pmt_tracer *t, pmt__slot *slot, int now)
{
    if (slot->sited)
        return;
    slot->sited = 1;
    pmt_event *ev = &slot->ev;
    ev->user_file = ev->user_function = "";
    ev->user_line = 0;
    ev->call_node = 0;
    if (!t->calls_mode || !t->source->site)
        return;
    int delivering = t->delivering;
    t->delivering = 1; /* whatever the source runs to find it is not the program's work */
    t->source->site(t->source_self, t->source_state, ev, slot->shadow, slot->shadow_depth, now,
                    t->calls_mode > 1);
    t->delivering = delivering;
}

/* Every live sink writes the event. */
static void to_sinks(pmt_tracer *t, const pmt_event *ev)
{
    for (size_t i = 0; i < t->sink_count; i++) {
        pmt_sink *sink = t->sinks[i];
        if (sink->failed)
            sink->given++; /* one more the log will not hold (pmt_sink_counts.events_lost) */
        else if (pmt__sink_write(sink, ev) < 0)
            t->sinks_failed++;
    }
}

/* Gives the slot's event to the sinks, unless the caller's filter (asked for filtered events
 * only) drops it. Returns whether it was written. */
static int deliver(pmt_tracer *t, pmt__slot *slot, pmt_event_reason reason, int filtered)
{
    pmt_event *ev = &slot->ev;
    if (slot->where) { /* the line, now that the event is written */
        ev->line = t->source->line_at ? t->source->line_at(t->source_self, t->source_state,
                                                           slot->where, slot->offset)
                                      : 0;
        slot->where = NULL;
    }
    ev->reason = reason;
    ev->d_rss = (int64_t)(ev->rss - t->last_written_rss);
    t->delivering = 1; /* what the filter and the sinks do is not the program's work */
    /* An allocation's or an object's site never looks at the stack: it may be inside an
     * allocator, or inside CPython's reference tracer, where no Python object may be made. */
    site(t, slot,
         reason != PMT_REASON_BEFORE && reason != PMT_REASON_ALLOCATION &&
             reason != PMT_REASON_OBJECT);
    if (filtered && t->keep && !t->keep(ev, t->keep_user_data)) {
        t->delivering = 0;
        return 0;
    }
    t->last_written_rss = ev->rss;
    t->last_written_time = ev->time_ns;
    t->written++;
    to_sinks(t, ev);
    t->delivering = 0;
    return 1;
}

static inline uint64_t current_rss(pmt_tracer *t, uint64_t now_ns)
{
    if (t->rss.may_have_changed && !t->rss.may_have_changed(t->rss_user_data, now_ns))
        return t->last_rss;
    uint64_t value;
    if (t->rss.read(t->rss_user_data, &value) == 0)
        t->last_rss = value;
    else
        t->rss_errors++; /* keep the last good value: a tracer never stops the program */
    return t->last_rss;
}

/* The tracer's clock: the monotonic clock unless a test installed its own. */
static inline uint64_t clock_now(pmt_tracer *t)
{
    return PMT__UNLIKELY(t->clock != NULL) ? t->clock(t->clock_user_data) : pmt__monotonic_ns();
}

/* The calling thread's calls, at a thread switch: asked of the source. */
static PMT__NOINLINE const pmt__shadow *other_shadow(pmt_tracer *t)
{
    return t->source->shadow_here ? t->source->shadow_here(t->source_self, t->source_state) : NULL;
}

/* Fills the current slot with everything but the reason and dRSS (and, for an event whose line
 * the source gives later, the line). */
static inline pmt__slot *stamp_into(pmt_tracer *t, pmt__slot *slot, pmt_event_kind kind,
                                    uint64_t seq, uint64_t now, uint64_t rss, const char *file,
                                    const char *function, const void *where, int32_t line_or_offset,
                                    int32_t depth)
{
    pmt_event *ev = &slot->ev;
    ev->kind = (uint32_t)kind;
    ev->depth = depth;
    ev->seq = seq;
    ev->time_ns = now;
    ev->thread_id = pmt__os_thread_id();
    ev->file = file;
    ev->function = function;
    ev->line = line_or_offset;
    ev->rss = rss;
    ev->message = NULL;
    slot->where = where;
    slot->offset = line_or_offset;
    slot->sited = 0;
    /* The calls the event happens in, before its own call or return is charged: those of the
     * last charged event's thread, unless that was another thread. */
    const pmt__shadow *shadow = t->calls.last_shadow;
    if (PMT__UNLIKELY(shadow->thread_id != ev->thread_id))
        shadow = t->calls_mode ? other_shadow(t) : NULL;
    slot->shadow = shadow;
    slot->shadow_depth = shadow ? shadow->depth : 0;
    return slot;
}

static inline pmt__slot *stamp(pmt_tracer *t, pmt_event_kind kind, uint64_t seq, uint64_t now,
                               uint64_t rss, const char *file, const char *function,
                               const void *where, int32_t line_or_offset, int32_t depth)
{
    return stamp_into(t, &t->slots[t->current], kind, seq, now, rss, file, function, where,
                      line_or_offset, depth);
}

/* The current slot becomes the previous one. */
static inline void advance(pmt_tracer *t, int written)
{
    t->previous_valid = 1;
    t->previous_written = written;
    t->current ^= 1;
}

/* The hot path's way out when the tracer is a copy in a child of fork: fork.c decides, a
 * following child's run starts at this event's place. Returns whether the event goes on. */
static PMT__NOINLINE int after_fork(pmt_tracer *t, const char *file, const char *function,
                                    const void *where, int32_t line, int32_t depth)
{
    if (t->fork_silent)
        return 0;
    if (where) /* the child's START row gets the event's line, as a written event would */
        line = t->source->line_at ? t->source->line_at(t->source_self, t->source_state, where, line)
                                  : 0;
    pmt__run_origin origin = {file, function, line, depth, 0};
    switch (pmt__fork_notice(t, &origin.parent_pid)) {
    case PMT__FORK_DROP:
        return 0;
    case PMT__FORK_NEW_RUN:
        pmt__pipeline_start_run(t, &origin);
        return t->state == PMT_STATE_RUNNING;
    case PMT__FORK_NOT_STARTED:
        break;
    }
    return 0;
}

/* A sample's row time: its own, kept between the last written row's and the time of the event
 * the trigger may still write as PREV, so that the rows' times never go back (samples are written
 * before the next event, which may make the one before it a PREV row). The sample itself keeps
 * its exact time. */
static uint64_t row_time(const pmt_tracer *t, uint64_t taken)
{
    if (t->previous_valid && !t->previous_written) {
        uint64_t pending = t->slots[t->current ^ 1].ev.time_ns;
        taken = taken < pending ? taken : pending;
    }
    return taken > t->last_written_time ? taken : t->last_written_time;
}

/* Writes the attached monitor's waiting samples (monitor.h), oldest first, beside the events:
 * numbered, never earlier than the row before, their dRSS against the last written event,
 * which they leave alone (the trigger never sees them). Cold: once per sample, and a label is
 * interned (allocates) here. */
static PMT__NOINLINE void write_samples(pmt_tracer *t)
{
    pmt__slot *slot = &t->sample_slot;
    pmt_event *ev = &slot->ev;
    pmt__queued_sample *e;
    t->delivering = 1; /* what the sinks do is not the program's work */
    while ((e = pmt__sample_queue_peek(t->samples)) != NULL) {
        const pmt_sample *sample = &e->sample;
        ev->kind = PMT_EV_SAMPLE;
        ev->reason = PMT_REASON_SAMPLE;
        ev->depth = 0;
        ev->seq = t->seq++;
        ev->time_ns = row_time(t, sample->time_ns);
        ev->thread_id = e->thread_id;
        ev->file = t->monitor_file;
        ev->function = t->monitor_name;
        ev->line = 0;
        ev->rss = sample->rss;
        ev->d_rss = (int64_t)(sample->rss - t->last_written_rss);
        ev->message = sample->label
                          ? pmt__strings_intern(&t->strings, sample->label, strlen(sample->label))
                          : NULL;
        ev->user_file = ev->user_function = "";
        ev->user_line = 0;
        ev->call_node = 0;
        ev->sample = sample;
        t->last_written_time = ev->time_ns;
        t->samples_written++;
        to_sinks(t, ev);
        ev->sample = NULL;
        pmt__sample_queue_pop(t->samples);
    }
    t->delivering = 0;
}

/* Are samples of an attached monitor waiting? Two loads when a monitor is attached, one
 * otherwise. */
static inline int samples_waiting(pmt_tracer *t)
{
    return PMT__UNLIKELY(t->samples != NULL) && pmt__sample_queue_ready(t->samples) &&
           !t->delivering;
}

void pmt__pipeline_write_samples(pmt_tracer *t)
{
    if (samples_waiting(t) && t->state == PMT_STATE_RUNNING && !t->fork_silent)
        write_samples(t);
}

/* The event path's rare work, behind its one test (tracer_internal.h `attention`): an event
 * while the sinks run is a sink's own work (a Python callback), not the program's, and is
 * dropped; else the samples an attached monitor handed over are written first. Returns
 * whether the event goes on. */
static PMT__NOINLINE int attend(pmt_tracer *t)
{
    if (t->delivering)
        return 0;
    if (pmt__sample_queue_ready(t->samples))
        write_samples(t);
    return 1;
}

/* Both entry points get their own copy (PMT__HOT_INLINE): a compiler that split it out would
 * add a call with an argument on the stack to every event. */
/* selected: the code stage's answer when the source kept it, -1 to look it up here. */
static PMT__HOT_INLINE void event(pmt_tracer *t, pmt_event_kind kind, int selected,
                                  const char *file, const char *function, const void *where,
                                  int32_t line, int32_t depth)
{
    /* The first event of a child of fork, or one that stays silent. */
    if (PMT__UNLIKELY(pmt__tracer_forked(t)) && !after_fork(t, file, function, where, line, depth))
        return;
    /* Before the mask: a tracer that follows calls without writing them (allocations only)
     * still writes the samples. */
    if ((PMT__UNLIKELY(t->attention) && !attend(t)) || !pmt__tracer_wants(t, kind))
        return;
    uint64_t seq = t->seq++;
    if (selected < 0)
        selected =
            !t->code_filter.active || pmt__code_filter_passes(&t->code_filter, file, function);
    if (!selected || depth > t->depth_limit)
        return;
    uint64_t now = 0;
    if (t->window_on) {
        now = clock_now(t);
        if (now - t->window_start >= t->window_span) /* before the start wraps to huge */
            return;
    }
    if (t->sample_left) {
        t->sample_left--;
        return;
    }
    t->sample_left = (uint64_t)t->sample_every - 1;
    if (!t->window_on)
        now = clock_now(t);
    uint64_t rss = current_rss(t, now);
    if (rss < (uint64_t)t->rss_above)
        return;
    pmt__slot *slot = stamp(t, kind, seq, now, rss, file, function, where, line, depth);
    if (PMT__PROBE_WANTED(event))
        pmt__probes_event(t, slot);
    uint64_t change =
        rss >= t->last_written_rss ? rss - t->last_written_rss : t->last_written_rss - rss;
    if (change < t->trigger_bytes) {
        advance(t, 0);
        return;
    }
    if (t->previous_valid && !t->previous_written) {
        /* This event's site first: finding it may learn a line the row before can use. */
        site(t, slot, 1);
        deliver(t, &t->slots[t->current ^ 1], PMT_REASON_BEFORE, 1);
    }
    int written = deliver(t, slot, PMT_REASON_TRIGGER, 1);
    if (PMT__PROBE_WANTED(rss_change))
        pmt__probes_rss_change(slot);
    advance(t, written);
}

void pmt__tracer_event(pmt_tracer *t, pmt_event_kind kind, const char *file, const char *function,
                       int32_t line, int32_t depth)
{
    event(t, kind, -1, file, function, NULL, line, depth);
}

void pmt__tracer_event_selected(pmt_tracer *t, pmt_event_kind kind, int selected, const char *file,
                                const char *function, int32_t line, int32_t depth)
{
    event(t, kind, selected != 0, file, function, NULL, line, depth);
}

void pmt__tracer_event_at(pmt_tracer *t, pmt_event_kind kind, int selected, const char *file,
                          const char *function, const void *where, int32_t offset, int32_t depth)
{
    event(t, kind, selected != 0, file, function, where, offset, depth);
}

/* The code, depth and time-window stages of an allocation or an object (events of the hooks
 * run them inline, in their documented order with 1 in N). */
static inline int place_and_time_pass(pmt_tracer *t, const char *file, const char *function,
                                      int32_t depth, uint64_t now)
{
    return (!t->code_filter.active || pmt__code_filter_passes(&t->code_filter, file, function)) &&
           depth <= t->depth_limit && !(t->window_on && now - t->window_start >= t->window_span);
}

/* The allocation stages for a new block of size bytes: minimum size, then byte sampling. */
static inline int block_selected(pmt_tracer *t, uint64_t size)
{
    if (size < (uint64_t)t->alloc_min_size)
        return 0;
    if (!t->alloc_sample_bytes)
        return 1;
    t->alloc_bytes_left -= size > INT64_MAX ? INT64_MAX : (int64_t)size;
    if (t->alloc_bytes_left > 0)
        return 0;
    t->alloc_bytes_left = next_sample_gap(t);
    return 1;
}

void pmt__tracer_allocation(pmt_tracer *t, const pmt__allocation *a, const char *file,
                            const char *function, int32_t line, int32_t depth)
{
    /* A child of fork starts its run at its next Python event: allocations before that are
     * the parent's tracer's business, not the child's. */
    if (PMT__UNLIKELY(pmt__tracer_forked(t)) || !pmt__tracer_traces_allocator(t, a->allocator))
        return;
    if (PMT__UNLIKELY(t->state != PMT_STATE_RUNNING)) /* starting (its START not written yet) */
        return;
    if (PMT__UNLIKELY(t->attention)) {
        if (t->delivering) { /* the tracer's own work */
            t->allocations_untraced++;
            return;
        }
        /* A monitor's samples: a tracer of allocations alone may see no other event (3.12+). */
        if (pmt__sample_queue_ready(t->samples))
            write_samples(t);
    }
    t->allocations_seen++;
    uint64_t old_size = 0, freed_size = 0;
    unsigned old_allocator = 0;
    int old_known = 0, filtered = 1;
    switch (a->kind) {
    case PMT_EV_FREE:
        if (!a->address) {
            t->frees_of_null++;
            return;
        }
        /* Only the frees of recorded blocks: the others' allocations are not in the log. */
        int recorded = pmt__blocks_remove(&t->blocks, a->address, &freed_size, &old_allocator);
        if (PMT__PROBE_WANTED(free))
            pmt__probes_allocation(a, freed_size, file, line, function);
        if (!recorded)
            return;
        filtered = 0;
        break;
    case PMT_EV_REALLOC:
        old_known = pmt__blocks_remove(&t->blocks, a->old_address, &old_size, &old_allocator);
        if (PMT__PROBE_WANTED(alloc) || PMT__PROBE_WANTED(free) || PMT__PROBE_WANTED(realloc))
            pmt__probes_allocation(a, old_size, file, line, function);
        /* A recorded block stays recorded as it moves; another one is a new allocation. */
        if (!old_known && !block_selected(t, a->size))
            return;
        filtered = !old_known;
        break;
    default:
        if (PMT__PROBE_WANTED(alloc))
            pmt__probes_allocation(a, 0, file, line, function);
        if (!block_selected(t, a->size))
            return;
        break;
    }
    uint64_t seq = t->seq++;
    uint64_t now = clock_now(t);
    /* The code, depth and time stages, as for any event (no 1-in-N: byte sampling is the
     * allocations' own), then RSS above below. */
    if (filtered && !place_and_time_pass(t, file, function, depth, now))
        return;
    uint64_t rss = current_rss(t, now);
    if (filtered && rss < (uint64_t)t->rss_above)
        return;
    pmt__slot *slot =
        stamp_into(t, &t->alloc_slot, a->kind, seq, now, rss, file, function, NULL, line, depth);
    pmt_event *ev = &slot->ev;
    ev->allocator = (uint32_t)a->allocator;
    ev->address = a->address;
    ev->size = a->kind == PMT_EV_FREE ? freed_size : a->size;
    ev->old_address = a->kind == PMT_EV_REALLOC ? a->old_address : 0;
    ev->old_size = old_size;
    if (t->alloc_site.changes == t->calls.changes + 1 && t->alloc_site.file == file &&
        t->alloc_site.function == function && t->alloc_site.line == line &&
        t->alloc_site.shadow == slot->shadow && t->alloc_site.depth == slot->shadow_depth) {
        ev->user_file = t->alloc_site.user_file;
        ev->user_function = t->alloc_site.user_function;
        ev->user_line = t->alloc_site.user_line;
        ev->call_node = t->alloc_site.call_node;
        slot->sited = 1;
    }
    int written = deliver(t, slot, PMT_REASON_ALLOCATION, filtered);
    if (written) {
        t->alloc_site.file = file;
        t->alloc_site.function = function;
        t->alloc_site.line = line;
        t->alloc_site.shadow = slot->shadow;
        t->alloc_site.depth = slot->shadow_depth;
        t->alloc_site.changes = t->calls.changes + 1;
        t->alloc_site.user_file = ev->user_file;
        t->alloc_site.user_function = ev->user_function;
        t->alloc_site.user_line = ev->user_line;
        t->alloc_site.call_node = ev->call_node;
    }
    if (written && a->kind != PMT_EV_FREE)
        pmt__blocks_add(&t->blocks, a->address, a->size, (unsigned)a->allocator);
}

void pmt__tracer_gc(pmt_tracer *t, const pmt__gc *gc, const char *file, const char *function,
                    int32_t line, int32_t depth)
{
    if (pmt__tracer_forked(t) || t->state != PMT_STATE_RUNNING || t->delivering ||
        !pmt__tracer_wants(t, gc->kind))
        return;
    uint64_t seq = t->seq++;
    uint64_t now = clock_now(t), rss;
    /* Before and after the collection, whatever a gate says: read now (a collection is rare). */
    if (t->rss.read(t->rss_user_data, &rss) == 0)
        t->last_rss = rss;
    else
        t->rss_errors++;
    pmt__slot *slot = stamp(t, gc->kind, seq, now, t->last_rss, file, function, NULL, line, depth);
    pmt_event *ev = &slot->ev;
    ev->gc_generation = gc->generation;
    ev->gc_collected = gc->collected;
    ev->gc_uncollectable = gc->uncollectable;
    ev->gc_duration_ns = gc->duration_ns;
    if (PMT__PROBE_WANTED(event))
        pmt__probes_event(t, slot);
    pmt__probes_gc(slot);
    deliver(t, slot, PMT_REASON_GC, 0);
    ev->gc_generation = 0;
    ev->gc_collected = ev->gc_uncollectable = ev->gc_duration_ns = 0;
    advance(t, 1);
}

void pmt__tracer_object(pmt_tracer *t, pmt_event_kind kind, uint64_t address, pmt__type_entry *type,
                        const char *file, const char *function, int32_t line, int32_t depth)
{
    if (!pmt__tracer_count_object(t, kind, type) || !pmt__tracer_wants(t, kind))
        return; /* not counted, or counted only: not an event, not numbered */
    uint64_t seq = t->seq++;
    uint64_t now = clock_now(t);
    if (!place_and_time_pass(t, file, function, depth, now))
        return;
    uint64_t rss = current_rss(t, now);
    if (rss < (uint64_t)t->rss_above)
        return;
    pmt__slot *slot =
        stamp_into(t, &t->object_slot, kind, seq, now, rss, file, function, NULL, line, depth);
    pmt_event *ev = &slot->ev;
    ev->address = address;
    ev->type_name = type->name;
    ev->type_live = (int64_t)(type->created - type->destroyed);
    ev->type_created = ev->type_destroyed = 0;
    deliver(t, slot, PMT_REASON_OBJECT, 1);
}

/* One PMT_EV_OBJECT_COUNT event per counted type that had an object made or destroyed, at the
 * place of the mark or stop that asks for them. */
static void object_counts(pmt_tracer *t, const char *file, const char *function, int32_t line,
                          int32_t depth)
{
    uint64_t now = clock_now(t), rss = current_rss(t, now);
    for (size_t i = 0; i < pmt__object_types_count(&t->object_types); i++) {
        const pmt__type_entry *type = &t->object_types.entries[i];
        if (!type->selected || (!type->created && !type->destroyed))
            continue;
        pmt__slot *slot = stamp_into(t, &t->object_slot, PMT_EV_OBJECT_COUNT, t->seq++, now, rss,
                                     file, function, NULL, line, depth);
        pmt_event *ev = &slot->ev;
        ev->address = 0;
        ev->type_name = type->name;
        ev->type_created = type->created;
        ev->type_destroyed = type->destroyed;
        ev->type_live = (int64_t)(type->created - type->destroyed);
        if (PMT__PROBE_WANTED(event))
            pmt__probes_event(t, slot);
        deliver(t, slot, PMT_REASON_OBJECT, 0);
    }
}

void pmt__pipeline_write_always(pmt_tracer *t, pmt_event_kind kind, pmt_event_reason reason,
                                const char *file, const char *function, int32_t line, int32_t depth,
                                const char *message)
{
    if (samples_waiting(t))
        write_samples(t); /* those taken before a mark or the stop come before it */
    if (kind == PMT_EV_STOP && t->objects_mode)
        object_counts(t, file, function, line, depth); /* the last counts, before the last row */
    uint64_t seq = t->seq++;
    uint64_t now = clock_now(t);
    pmt__slot *slot =
        stamp(t, kind, seq, now, current_rss(t, now), file, function, NULL, line, depth);
    slot->ev.message = message;
    if (PMT__PROBE_WANTED(event))
        pmt__probes_event(t, slot);
    pmt__probes_always(t, slot);
    deliver(t, slot, reason, 0);
    advance(t, 1);
    if (kind == PMT_EV_MARK && t->objects_mode)
        object_counts(t, file, function, line, depth); /* the counts at this mark */
}

/* Begins the sinks that have not been for their current destination (all of them at a start;
 * in a following child, those that reopened); a sink whose begin fails is disabled. */
static void begin_sinks(pmt_tracer *t)
{
    pmt_run_info info;
    pmt__run_info_fill(t, &info);
    for (size_t i = 0; i < t->sink_count; i++) {
        pmt_sink *sink = t->sinks[i];
        if (!sink->failed && !sink->begun && pmt__sink_begin(sink, &info) < 0)
            t->sinks_failed++;
    }
}

void pmt__pipeline_start_run(pmt_tracer *t, const pmt__run_origin *o)
{
    t->owner_pid = pmt__process_id();
    t->seq = 0;
    t->written = 0;
    t->start_ns = clock_now(t);
    reset(t);
    if (o->parent_pid) {
        /* The parent's last value is not the child's RSS, and a gated provider may not read
         * again for a while. */
        uint64_t rss;
        if (t->rss.read && t->rss.read(t->rss_user_data, &rss) == 0)
            t->last_rss = rss;
    }
    t->last_written_time = t->start_ns;
    t->samples_written = 0;
    begin_sinks(t);
    pmt__pipeline_write_always(t, PMT_EV_START, PMT_REASON_FIRST, o->file, o->function, o->line,
                               o->depth, NULL);
    pmt__calls_start(&t->calls, t->last_rss);
    if (t->samples) /* samples taken from now on are the run's */
        pmt__sample_queue_set_open(t->samples, 1);
    if (!o->parent_pid)
        return;
    char text[96];
    int n = snprintf(text, sizeof text, "Forked: this is process %ld, a child of process %ld.",
                     t->owner_pid, o->parent_pid);
    const char *kept = n > 0 ? pmt__strings_intern(&t->strings, text, (size_t)n) : NULL;
    if (kept)
        pmt__pipeline_write_always(t, PMT_EV_MARK, PMT_REASON_MESSAGE, o->file, o->function,
                                   o->line, o->depth, kept);
    pmt__pipeline_flush(t); /* the child's log is on disk from its first rows */
}

typedef struct rows_buffer {
    pmt_call_stats *rows;
    size_t count;
} rows_buffer;

static int keep_row(const pmt_call_stats *row, void *user_data)
{
    rows_buffer *b = user_data;
    b->rows[b->count++] = *row;
    return 0;
}

void pmt__pipeline_call_stats(pmt_tracer *t)
{
    int wanted = 0;
    for (size_t i = 0; i < t->sink_count; i++)
        wanted |= !t->sinks[i]->failed && t->sinks[i]->ops.call_stats != NULL;
    if (!wanted || !t->calls.count)
        return;
    rows_buffer b = {malloc(t->calls.count * sizeof *b.rows), 0};
    if (!b.rows)
        return; /* the log goes without its summary; its events are whole */
    pmt__calls_each(&t->calls, keep_row, &b);
    t->delivering = 1; /* a callback's own calls are not the program's */
    for (size_t i = 0; i < t->sink_count; i++) {
        pmt_sink *sink = t->sinks[i];
        if (!sink->failed && sink->ops.call_stats &&
            sink->ops.call_stats(b.rows, b.count, sink->user_data) < 0)
            disable_sink(t, sink);
    }
    t->delivering = 0;
    free(b.rows);
}

void pmt__pipeline_flush(pmt_tracer *t)
{
    for (size_t i = 0; i < t->sink_count; i++) {
        pmt_sink *sink = t->sinks[i];
        if (!sink->failed && pmt__sink_flush(sink) < 0)
            t->sinks_failed++;
    }
}
