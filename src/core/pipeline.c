#include "pipeline.h"

#include "../os/os.h"

void pmt__pipeline_reset(pmt_tracer *t)
{
    t->current = 0;
    t->previous_valid = 0;
    t->previous_written = 0;
    t->last_written_rss = 0;
}

static void disable_sink(pmt_tracer *t, pmt_sink *sink)
{
    sink->failed = 1;
    t->sinks_failed++;
}

static void deliver(pmt_tracer *t, pmt_event *ev, pmt_event_reason reason)
{
    ev->reason = reason;
    ev->d_rss = (int64_t)(ev->rss - t->last_written_rss);
    t->last_written_rss = ev->rss;
    t->written++;
    t->delivering = 1;
    for (size_t i = 0; i < t->sink_count; i++) {
        pmt_sink *sink = t->sinks[i];
        if (!sink->failed && sink->ops.write(ev, sink->user_data) < 0)
            disable_sink(t, sink);
    }
    t->delivering = 0;
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

/* Fills the current slot with everything but the reason and dRSS. */
static inline pmt_event *stamp(pmt_tracer *t, pmt_event_kind kind, const char *file,
                               const char *function, int32_t line, int32_t depth)
{
    pmt_event *ev = &t->slots[t->current];
    ev->kind = (uint32_t)kind;
    ev->depth = depth;
    ev->seq = t->seq++;
    ev->time_ns = t->clock(t->clock_user_data);
    ev->thread_id = pmt__os_thread_id();
    ev->file = file;
    ev->function = function;
    ev->line = line;
    ev->rss = current_rss(t, ev->time_ns);
    ev->message = NULL;
    return ev;
}

/* The current slot becomes the previous one. */
static inline void advance(pmt_tracer *t, int written)
{
    t->previous_valid = 1;
    t->previous_written = written;
    t->current ^= 1;
}

void pmt__tracer_event(pmt_tracer *t, pmt_event_kind kind, const char *file, const char *function,
                       int32_t line, int32_t depth)
{
    if (!pmt__tracer_wants(t, kind) || t->delivering)
        return; /* a sink's own work (a Python callback) is not the program's */
    pmt_event *ev = stamp(t, kind, file, function, line, depth);
    uint64_t change = ev->rss >= t->last_written_rss ? ev->rss - t->last_written_rss
                                                     : t->last_written_rss - ev->rss;
    if (change < t->trigger_bytes) {
        advance(t, 0);
        return;
    }
    if (t->previous_valid && !t->previous_written)
        deliver(t, &t->slots[t->current ^ 1], PMT_REASON_BEFORE);
    deliver(t, ev, PMT_REASON_TRIGGER);
    advance(t, 1);
}

void pmt__pipeline_write_always(pmt_tracer *t, pmt_event_kind kind, pmt_event_reason reason,
                                const char *file, const char *function, int32_t line, int32_t depth,
                                const char *message)
{
    pmt_event *ev = stamp(t, kind, file, function, line, depth);
    ev->message = message;
    deliver(t, ev, reason);
    advance(t, 1);
}

void pmt__pipeline_begin(pmt_tracer *t, const pmt_run_info *info)
{
    for (size_t i = 0; i < t->sink_count; i++) {
        pmt_sink *sink = t->sinks[i];
        if (!sink->failed && sink->ops.begin && sink->ops.begin(info, sink->user_data) < 0)
            disable_sink(t, sink);
    }
}

void pmt__pipeline_flush(pmt_tracer *t)
{
    for (size_t i = 0; i < t->sink_count; i++) {
        pmt_sink *sink = t->sinks[i];
        if (!sink->failed && sink->ops.flush && sink->ops.flush(sink->user_data) < 0)
            disable_sink(t, sink);
    }
}
