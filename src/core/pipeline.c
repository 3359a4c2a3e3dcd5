/* The event path: the filter stages in the order tracer.h documents, then the sinks. The stages
 * before the RSS read compare the event with values resolved at start, so that an event they
 * drop costs a few loads and compares: no clock read unless a time window is set, no RSS read. */
#include "core/pipeline.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/compiler.h"
#include "core/fork.h"
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
    site(t, slot, reason != PMT_REASON_BEFORE);
    if (filtered && t->keep && !t->keep(ev, t->keep_user_data)) {
        t->delivering = 0;
        return 0;
    }
    t->last_written_rss = ev->rss;
    t->written++;
    for (size_t i = 0; i < t->sink_count; i++) {
        pmt_sink *sink = t->sinks[i];
        if (sink->failed)
            sink->given++; /* one more the log will not hold (pmt_sink_counts.events_lost) */
        else if (pmt__sink_write(sink, ev) < 0)
            t->sinks_failed++;
    }
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
static inline pmt__slot *stamp(pmt_tracer *t, pmt_event_kind kind, uint64_t seq, uint64_t now,
                               uint64_t rss, const char *file, const char *function,
                               const void *where, int32_t line_or_offset, int32_t depth)
{
    pmt__slot *slot = &t->slots[t->current];
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
    if (!pmt__tracer_wants(t, kind) || t->delivering)
        return; /* a sink's own work (a Python callback) is not the program's */
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
    advance(t, deliver(t, slot, PMT_REASON_TRIGGER, 1));
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

void pmt__pipeline_write_always(pmt_tracer *t, pmt_event_kind kind, pmt_event_reason reason,
                                const char *file, const char *function, int32_t line, int32_t depth,
                                const char *message)
{
    uint64_t seq = t->seq++;
    uint64_t now = clock_now(t);
    pmt__slot *slot =
        stamp(t, kind, seq, now, current_rss(t, now), file, function, NULL, line, depth);
    slot->ev.message = message;
    deliver(t, slot, reason, 0);
    advance(t, 1);
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
    begin_sinks(t);
    pmt__pipeline_write_always(t, PMT_EV_START, PMT_REASON_FIRST, o->file, o->function, o->line,
                               o->depth, NULL);
    pmt__calls_start(&t->calls, t->last_rss);
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
