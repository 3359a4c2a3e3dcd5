/* What a tracer's copy does in a child of fork() (PMT_PARAM_ON_FORK).
 *
 * The child finds out lazily, not in a pthread_atfork() handler walking a registry of live
 * tracers: such a handler runs inside fork(), before the interpreter has repaired its own state,
 * where only async-signal-safe calls are allowed. It could close descriptors, but neither create
 * the child's log (malloc, formatting) nor remove hooks (Python), and the registry would need a
 * lock of its own held across every fork of the process. Instead every way a tracer writes (its
 * hot path, and the API calls, made with the GIL held) first compares the process's fork
 * generation (bumped in the child by os_posix.c's atfork handler: one load) with the one its logs
 * belong to, and the first to differ does the work here, with the GIL held, once per fork. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#include "error.h"
#include "log_file.h"
#include "pipeline.h"
#include "tracer_internal.h"

/* The parent's file sinks are the parent's: what they buffered is written by its copy. */
static void forget_parent_logs(pmt_tracer *t)
{
    for (size_t i = 0; i < t->sink_count; i++)
        if (t->sinks[i]->forget)
            t->sinks[i]->forget(t->sinks[i]->user_data);
}

/* PMT_FORK_STOP, or nothing to follow: no sink is called again but close. The generation is
 * left stale on purpose: the hot path keeps dropping this tracer's events at its first compare
 * until the hooks are removed. */
static void fall_silent(pmt_tracer *t)
{
    for (size_t i = 0; i < t->sink_count; i++)
        t->sinks[i]->failed = 1;
    t->fork_silent = 1;
    t->fork_hooks_off = t->state != PMT_STATE_RUNNING;
}

/* A following child's file sinks get files of their own, begun with info when a run goes on
 * (a created tracer's are begun by its start, with every other sink). A sink that cannot have a
 * file of its own stops; callback sinks carry on. */
static void open_child_logs(pmt_tracer *t, const pmt_run_info *info)
{
    long pid = pmt__process_id();
    for (size_t i = 0; i < t->sink_count; i++) {
        pmt_sink *sink = t->sinks[i];
        if (!sink->forget || sink->failed)
            continue;
        sink->failed = 1;
        if (!sink->reopen || !sink->path)
            continue; /* a caller's descriptor: the parent writes to it too */
        char *name = pmt__log_file_child_name(sink->path, pid);
        char *used = NULL;
        int rc = name ? sink->reopen(sink->user_data, name, &used)
                      : pmt__fail(PMT_ENOMEM, "out of memory for a child's log name");
        free(name);
        if (rc != PMT_OK) {
            t->sinks_failed++;
            continue;
        }
        free(sink->path);
        sink->path = used;
        sink->failed = 0;
        sink->finished = 0;
        if (info && sink->ops.begin && sink->ops.begin(info, sink->user_data) < 0) {
            sink->failed = 1;
            t->sinks_failed++;
        }
    }
}

/* A following child's run starts here, as pmt_tracer_start() starts one. */
static void start_child_run(pmt_tracer *t, const char *file, const char *function, int32_t line,
                            int32_t depth)
{
    long parent = t->owner_pid;
    t->owner_pid = pmt__process_id();
    t->seq = 0;
    t->written = 0;
    t->start_ns = t->clock(t->clock_user_data);
    pmt__pipeline_reset(t);
    /* The parent's last value is not the child's RSS, and a gated provider may not read again
     * for a while. */
    uint64_t rss;
    if (t->rss.read && t->rss.read(t->rss_user_data, &rss) == 0)
        t->last_rss = rss;
    pmt_run_info info;
    pmt__tracer_run_info(t, &info);
    open_child_logs(t, &info);
    pmt__pipeline_write_always(t, PMT_EV_START, PMT_REASON_FIRST, file, function, line, depth,
                               NULL);
    char text[96];
    int n = snprintf(text, sizeof text, "Forked: this is process %ld, a child of process %ld.",
                     t->owner_pid, parent);
    const char *kept = n > 0 ? pmt__strings_intern(&t->strings, text, (size_t)n) : NULL;
    if (kept)
        pmt__pipeline_write_always(t, PMT_EV_MARK, PMT_REASON_MESSAGE, file, function, line, depth,
                                   kept);
    pmt__pipeline_flush(t); /* the child's log is on disk from its first rows */
}

/* The first look of a child's copy at the fork. at_event: the place of the event that noticed
 * it (the hot path, inside a hook), else it is located (an API call). Returns whether the
 * tracer goes on observing. */
static int notice(pmt_tracer *t, int at_event, const char *file, const char *function, int32_t line,
                  int32_t depth)
{
    forget_parent_logs(t);
    /* A sink that was running in another thread when the parent forked never returns here. */
    t->delivering = 0;
    if (t->on_fork != PMT_FORK_FOLLOW || t->state == PMT_STATE_STOPPED) {
        fall_silent(t);
        return 0;
    }
    t->fork_generation = pmt__fork_counter;
    if (t->state == PMT_STATE_CREATED) {
        open_child_logs(t, NULL);
        t->owner_pid = pmt__process_id();
        return 0;
    }
    if (!at_event) {
        file = function = "";
        line = depth = 0;
        t->source->locate(t, t->source_state, &file, &function, &line, &depth);
    }
    start_child_run(t, file, function, line, depth);
    return t->state == PMT_STATE_RUNNING;
}

int pmt__tracer_fork_event(pmt_tracer *t, const char *file, const char *function, int32_t line,
                           int32_t depth)
{
    return !t->fork_silent && notice(t, 1, file, function, line, depth);
}

int pmt__tracer_fork_sync(pmt_tracer *t)
{
    if (!t->fork_silent && pmt__tracer_forked(t))
        notice(t, 0, NULL, NULL, 0, 0);
    if (!t->fork_silent || t->fork_hooks_off)
        return PMT_OK;
    /* Tried once: a hook left behind by a failed removal finds its tracer released at stop. */
    t->fork_hooks_off = 1;
    return t->source->detach(t, t->source_state);
}

void pmt__tracer_fork_silence(pmt_tracer *t)
{
    if (t->fork_silent || !pmt__tracer_forked(t))
        return;
    forget_parent_logs(t);
    fall_silent(t);
}
