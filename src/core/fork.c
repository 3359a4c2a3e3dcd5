/* What a tracer's copy does in a child of fork() (PMT_PARAM_ON_FORK, doc/children.md).
 *
 * The child finds out lazily, not in a pthread_atfork() handler walking a registry of live
 * tracers: such a handler runs inside fork(), before the interpreter has repaired its own state,
 * where only async-signal-safe calls are allowed. It could close descriptors, but neither create
 * the child's log (malloc, formatting) nor remove hooks (Python), and the registry would need a
 * lock of its own held across every fork of the process. Instead every way a tracer writes (its
 * hot path, and the API calls, made with the GIL held) first compares the process's fork
 * generation (bumped in the child by the platform's atfork handler: one load) with the one its
 * logs belong to, and the first to differ asks here, with the GIL held, once per fork. */
#include "core/fork.h"

#include "platform/os.h"

/* The parent's destinations are the parent's: what they buffered is written by its copy. */
static void forget_parent_destinations(pmt_tracer *t)
{
    for (size_t i = 0; i < t->sink_count; i++)
        pmt__sink_forget(t->sinks[i]);
}

/* PMT_FORK_STOP, or nothing to follow: no sink is called again but close. Sinks marked failed
 * here are left so: a sink that had failed in the parent stays failed in a following child. */
static void fall_silent(pmt_tracer *t)
{
    for (size_t i = 0; i < t->sink_count; i++)
        t->sinks[i]->failed = 1;
    t->fork_silent = 1;
    t->fork_hooks_off = t->state != PMT_STATE_RUNNING;
}

/* Sinks that forgot the parent's destination get the child's own (a file sink names its child
 * log itself); one that cannot stays silent. Shared sinks (callbacks) carry on as they were. */
static void reopen_sinks(pmt_tracer *t, long child)
{
    for (size_t i = 0; i < t->sink_count; i++) {
        pmt_sink *sink = t->sinks[i];
        if (!sink->ops.forget || sink->failed)
            continue;
        if (pmt__sink_reopen(sink, child) < 0)
            t->sinks_failed++;
    }
}

pmt__fork_verdict pmt__fork_notice(pmt_tracer *t, long *parent_pid)
{
    *parent_pid = t->owner_pid;
    forget_parent_destinations(t);
    /* The parent's monitor has no thread here, and its waiting samples are the parent's. */
    pmt__tracer_set_samples(t, NULL);
    /* A sink that was running in another thread when the parent forked never returns here. */
    t->delivering = 0;
    if (t->on_fork != PMT_FORK_FOLLOW || t->state == PMT_STATE_STOPPED) {
        fall_silent(t);
        return PMT__FORK_DROP;
    }
    t->fork_generation = pmt__fork_counter;
    t->owner_pid = pmt__process_id();
    reopen_sinks(t, t->owner_pid);
    return t->state == PMT_STATE_CREATED ? PMT__FORK_NOT_STARTED : PMT__FORK_NEW_RUN;
}

void pmt__fork_silence(pmt_tracer *t)
{
    if (t->fork_silent || !pmt__tracer_forked(t))
        return;
    forget_parent_destinations(t);
    pmt__tracer_set_samples(t, NULL);
    fall_silent(t);
}
