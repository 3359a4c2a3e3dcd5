/* The tracer's life cycle and collaborators. Parameters are in params.c, the event path in
 * pipeline.c, what a copy does in a child of fork in fork.c. */
#define _GNU_SOURCE /* strdup */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/struct_copy.h"
#include "core/fork.h"
#include "core/params.h"
#include "core/pipeline.h"
#include "core/rss_none.h"
#include "core/tracer_internal.h"
#include "platform/os.h"
#include "platform/rss_os.h"

static int sync_fork(pmt_tracer *t);

int pmt__tracer_create_with_source(pmt_tracer **out, const pmt__source_ops *source, void *self)
{
    if (!out || !source)
        return pmt__fail(PMT_EINVAL, "pmt_tracer_create: out is NULL");
    *out = NULL;
    pmt_tracer *t = calloc(1, sizeof *t);
    if (!t)
        return pmt__fail(PMT_ENOMEM, "out of memory for a tracer");
    t->state = PMT_STATE_CREATED;
    pmt__params_set_defaults(t);
    t->source = source;
    t->source_self = self;
    t->fork_generation = pmt__fork_generation(); /* installs the handler that counts forks */
    t->owner_pid = pmt__process_id();
    t->slots[0].ev.struct_size = t->slots[1].ev.struct_size = sizeof(pmt_event);
    t->alloc_slot.ev.struct_size = sizeof(pmt_event);
    t->object_slot.ev.struct_size = sizeof(pmt_event);
    t->sample_slot.ev.struct_size = sizeof(pmt_event);
    pmt__strings_init(&t->strings);
    pmt__calls_start(&t->calls, 0); /* charges nobody until a run starts */
    *out = t;
    return PMT_OK;
}

int pmt__tracer_set_own_code_prefix(pmt_tracer *t, const char *prefix)
{
    char *copy = prefix ? strdup(prefix) : NULL;
    if (prefix && !copy)
        return pmt__fail(PMT_ENOMEM, "out of memory for a path prefix");
    free(t->own_code_prefix);
    t->own_code_prefix = copy;
    return PMT_OK;
}

void pmt__tracer_set_clock(pmt_tracer *t, uint64_t (*clock)(void *), void *user_data)
{
    t->clock = clock;
    t->clock_user_data = user_data;
}

static void release_rss_provider(pmt_tracer *t)
{
    if (t->rss.release)
        t->rss.release(t->rss_user_data);
    t->rss.release = NULL;
}

void pmt_tracer_destroy(pmt_tracer *t)
{
    if (!t)
        return;
    pmt__fork_silence(t);
    if (t->state == PMT_STATE_RUNNING || t->state == PMT_STATE_PAUSED)
        pmt_tracer_stop(t);
    for (size_t i = 0; i < t->sink_count; i++)
        pmt__sink_free(t->sinks[i]);
    free(t->sinks);
    release_rss_provider(t);
    pmt__strings_free(&t->strings);
    pmt__calls_free(&t->calls);
    pmt__blocks_free(&t->blocks);
    pmt__object_types_free(&t->object_types);
    pmt__tracer_set_samples(t, NULL);
    pmt__code_filter_free(&t->code_filter);
    free(t->filters);
    free(t->own_code_prefix);
    free(t);
}

const char *pmt_tracer_rss_provider_name(const pmt_tracer *t)
{
    if (!t || !t->rss.read || t->state == PMT_STATE_CREATED)
        return NULL;
    return t->rss.name ? t->rss.name : "custom";
}

int pmt_tracer_call_stats(const pmt_tracer *t, pmt_call_stats_fn fn, void *user_data)
{
    if (!t || !fn)
        return pmt__fail(PMT_EINVAL, "pmt_tracer_call_stats: NULL tracer or function");
    return pmt__calls_each(&t->calls, fn, user_data);
}

int pmt_tracer_object_counts(const pmt_tracer *t, pmt_type_count_fn fn, void *user_data)
{
    if (!t || !fn)
        return pmt__fail(PMT_EINVAL, "pmt_tracer_object_counts: NULL tracer or function");
    for (size_t i = 0; i < pmt__object_types_count(&t->object_types); i++) {
        const pmt__type_entry *type = &t->object_types.entries[i];
        if (!type->selected || (!type->created && !type->destroyed))
            continue;
        pmt_type_count row = {sizeof row, type->name, type->created, type->destroyed,
                              (int64_t)(type->created - type->destroyed)};
        int rc = fn(&row, user_data);
        if (rc != 0)
            return rc;
    }
    return PMT_OK;
}

const char *pmt_tracer_hook_name(const pmt_tracer *t)
{
    if (!t || !t->source_state || !t->source->hook_name ||
        (t->state != PMT_STATE_RUNNING && t->state != PMT_STATE_PAUSED))
        return NULL;
    return t->source->hook_name(t->source_self, t->source_state);
}

int pmt_tracer_get_stat(const pmt_tracer *t, pmt_stat stat, uint64_t *out_value)
{
    if (!t || !out_value)
        return pmt__fail(PMT_EINVAL, "pmt_tracer_get_stat: NULL argument");
    switch (stat) {
    case PMT_STAT_EVENTS_SEEN:
        *out_value = t->seq;
        return PMT_OK;
    case PMT_STAT_EVENTS_WRITTEN:
        *out_value = t->written;
        return PMT_OK;
    case PMT_STAT_OBJECTS_CREATED:
        *out_value = t->objects_created;
        return PMT_OK;
    case PMT_STAT_OBJECTS_DESTROYED:
        *out_value = t->objects_destroyed;
        return PMT_OK;
    case PMT_STAT_SAMPLES_WRITTEN:
        *out_value = t->samples_written;
        return PMT_OK;
    case PMT_STAT_SAMPLES_LOST:
        *out_value = t->samples ? atomic_load(&t->samples->lost) : 0;
        return PMT_OK;
    case PMT_STAT_SINKS_FAILED:
        *out_value = t->sinks_failed;
        return PMT_OK;
    case PMT_STAT_RSS_ERRORS:
        *out_value = t->rss_errors;
        return PMT_OK;
    case PMT_STAT_ALLOCATIONS_SEEN:
        *out_value = t->allocations_seen;
        return PMT_OK;
    case PMT_STAT_ALLOCATIONS_UNTRACED:
        *out_value = t->allocations_untraced;
        return PMT_OK;
    case PMT_STAT_BLOCKS_LIVE:
        *out_value = t->blocks.count;
        return PMT_OK;
    case PMT_STAT_BLOCK_BYTES_LIVE:
        *out_value = t->blocks.bytes;
        return PMT_OK;
    case PMT_STAT_FREES_OF_NULL:
        *out_value = t->frees_of_null;
        return PMT_OK;
    case PMT_STAT_EVENTS_LOST: {
        uint64_t lost = 0;
        for (size_t i = 0; i < t->sink_count; i++) {
            pmt_sink_counts counts = {.struct_size = sizeof counts};
            if (pmt_sink_counts_get(t->sinks[i], &counts) == PMT_OK)
                lost += counts.events_lost;
        }
        *out_value = lost;
        return PMT_OK;
    }
    }
    return pmt__fail(PMT_ENOTSUP, "unknown counter %d", (int)stat);
}

int pmt_tracer_state_of(const pmt_tracer *t)
{
    if (!t)
        return pmt__fail(PMT_EINVAL, "pmt_tracer_state_of: tracer is NULL");
    return t->state;
}

int pmt_tracer_set_rss_provider(pmt_tracer *t, const pmt_rss_provider *provider, void *user_data)
{
    if (!t || !provider)
        return pmt__fail(PMT_EINVAL, "pmt_tracer_set_rss_provider: NULL tracer or provider");
    pmt_rss_provider copy = PMT_RSS_PROVIDER_INIT;
    int rc = PMT__STRUCT_COPY(&copy, provider, offsetof(pmt_rss_provider, may_have_changed),
                              "pmt_rss_provider");
    if (rc != PMT_OK)
        return rc;
    if (!copy.read)
        return pmt__fail(PMT_EINVAL, "pmt_rss_provider: read is required");
    if (t->state != PMT_STATE_CREATED)
        return pmt__fail(PMT_ESTATE, "the RSS provider is fixed once the tracer has started");
    release_rss_provider(t);
    t->rss = copy;
    t->rss_user_data = user_data;
    return PMT_OK;
}

int pmt_tracer_add_sink(pmt_tracer *t, pmt_sink *sink)
{
    if (!t || !sink)
        return pmt__fail(PMT_EINVAL, "pmt_tracer_add_sink: NULL tracer or sink");
    if (sink->owned)
        return pmt__fail(PMT_EINVAL, "the sink already belongs to a tracer");
    if (t->state != PMT_STATE_CREATED)
        return pmt__fail(PMT_ESTATE, "sinks are fixed once the tracer has started");
    sync_fork(t); /* a parent's sinks are dealt with before the child's joins */
    pmt_sink **grown = realloc(t->sinks, (t->sink_count + 1) * sizeof *grown);
    if (!grown)
        return pmt__fail(PMT_ENOMEM, "out of memory adding a sink");
    t->sinks = grown;
    t->sinks[t->sink_count++] = sink;
    sink->owned = 1;
    return PMT_OK;
}

int pmt_tracer_add_code_filter(pmt_tracer *t, pmt_code_filter kind, const char *glob)
{
    if (!t)
        return pmt__fail(PMT_EINVAL, "pmt_tracer_add_code_filter: tracer is NULL");
    if (t->state != PMT_STATE_CREATED)
        return pmt__fail(PMT_ESTATE, "filters are fixed once the tracer has started");
    return pmt__code_filter_add(&t->code_filter, (int)kind, glob);
}

int pmt_tracer_set_filter(pmt_tracer *t, pmt_event_filter keep, void *user_data)
{
    if (!t)
        return pmt__fail(PMT_EINVAL, "pmt_tracer_set_filter: tracer is NULL");
    if (t->state != PMT_STATE_CREATED)
        return pmt__fail(PMT_ESTATE, "filters are fixed once the tracer has started");
    t->keep = keep;
    t->keep_user_data = keep ? user_data : NULL;
    return PMT_OK;
}

/* The calling thread's place, for events no hook reports (start, stop, marks). */
static pmt__run_origin here(pmt_tracer *t)
{
    pmt__run_origin o = {"", "", 0, 0, 0};
    t->source->locate(t->source_self, t, t->source_state, &o.file, &o.function, &o.line, &o.depth);
    return o;
}

/* Writes an always-written event at the interpreter's current location. */
static void write_here(pmt_tracer *t, pmt_event_kind kind, pmt_event_reason reason,
                       const char *message)
{
    pmt__run_origin o = here(t);
    pmt__pipeline_write_always(t, kind, reason, o.file, o.function, o.line, o.depth, message);
}

void pmt__tracer_note(pmt_tracer *t, const char *text)
{
    const char *kept = pmt__strings_intern(&t->strings, text, strlen(text));
    if (kept)
        write_here(t, PMT_EV_MARK, PMT_REASON_MESSAGE, kept);
}

/* Deals with a fork at an API call (GIL held, outside any hook): a following child's run starts
 * at the calling thread's place; a silent child's tracer removes its hooks, once. PMT_OK, or the
 * failure of that removal. */
static int sync_fork(pmt_tracer *t)
{
    if (!t->fork_silent && pmt__tracer_forked(t)) {
        pmt__run_origin origin = {"", "", 0, 0, 0};
        if (pmt__fork_notice(t, &origin.parent_pid) == PMT__FORK_NEW_RUN) {
            long parent = origin.parent_pid;
            origin = here(t);
            origin.parent_pid = parent;
            pmt__pipeline_start_run(t, &origin);
        }
    }
    if (!t->fork_silent || t->fork_hooks_off)
        return PMT_OK;
    /* Tried once: a hook left behind by a failed removal finds its tracer released at stop. */
    t->fork_hooks_off = 1;
    return t->source->detach(t->source_self, t, t->source_state);
}

/* The preamble of every life-cycle call: a tracer in one of the states (PMT_STATE_* bits), a
 * thread that may use the interpreter (for marks, enter makes any thread one; *token is what
 * leave needs), and a fork dealt with. PMT_OK, or the failure to return. */
#define STATES(a, b) (1u << (a) | 1u << (b))
static int guard(pmt_tracer *t, const char *call, unsigned states, const char *state_error,
                 uintptr_t *token)
{
    if (!t)
        return pmt__fail(PMT_EINVAL, "%s: tracer is NULL", call);
    int entered = token && t->source->enter;
    /* Start, stop, pause and resume hold the GIL and change the state: they read it first. A
     * mark may come from any thread: it reads it once it holds the interpreter (or finds none
     * to enter, finalized: then nothing can change it). */
    if (!entered && !((1u << t->state) & states))
        return pmt__fail(PMT_ESTATE, "%s", state_error);
    int rc =
        entered ? t->source->enter(t->source_self, token) : t->source->check_thread(t->source_self);
    int holding = entered && rc == PMT_OK;
    if (entered && !((1u << t->state) & states))
        rc = pmt__fail(PMT_ESTATE, "%s", state_error);
    if (rc == PMT_OK)
        rc = sync_fork(t);
    if (rc != PMT_OK && holding && t->source->leave)
        t->source->leave(t->source_self, *token);
    return rc;
}

int pmt_tracer_start(pmt_tracer *t)
{
    int rc = guard(t, "pmt_tracer_start", STATES(PMT_STATE_CREATED, PMT_STATE_CREATED),
                   "the tracer was already started", NULL);
    if (rc != PMT_OK)
        return rc;
    if (t->fork_silent) { /* created by the parent of this fork: nothing to observe here */
        t->state = PMT_STATE_RUNNING;
        return PMT_OK;
    }
    if (!(t->event_mask & pmt__hook_kinds) && !t->allocators && !t->objects_mode)
        return pmt__fail(PMT_EINVAL, "the tracer observes nothing: its event mask selects no "
                                     "event a hook produces and it traces no allocator and "
                                     "counts no object");
    if ((t->event_mask & PMT_EV_MASK_OBJECTS) && !t->objects_mode)
        return pmt__fail(PMT_EINVAL, "object events need PMT_PARAM_OBJECTS to choose the types "
                                     "counted");
    t->trigger_bytes =
        t->trigger_param < 0 ? (uint64_t)pmt__page_size() : (uint64_t)t->trigger_param;
    if (!t->rss.read) {
        rc = t->rss_mode == PMT_RSS_NONE
                 ? pmt__rss_none_provider(&t->rss, &t->rss_user_data)
                 : pmt__rss_os_provider((pmt_rss_mode)t->rss_mode, (uint64_t)t->rss_interval_ns,
                                        &t->rss, &t->rss_user_data);
        if (rc != PMT_OK)
            return rc;
    }
    char *filters = pmt__filters_describe(t);
    if (!filters)
        return pmt__fail(PMT_ENOMEM, "out of memory describing the filters");
    free(t->filters); /* a start that failed may have made one with other parameters */
    t->filters = filters;
    rc = t->source->attach(t->source_self, t, &t->source_state);
    if (rc != PMT_OK)
        return rc;
    /* Constant for the run: the pipeline's stamp never touches it. */
    t->slots[0].ev.interpreter_id = t->slots[1].ev.interpreter_id = t->interpreter_id;
    pmt__run_origin origin = here(t);
    pmt__pipeline_start_run(t, &origin);
    t->state = PMT_STATE_RUNNING;
    return PMT_OK;
}

int pmt_tracer_pause(pmt_tracer *t)
{
    int rc = guard(t, "pmt_tracer_pause", STATES(PMT_STATE_RUNNING, PMT_STATE_RUNNING),
                   "only a running tracer can be paused", NULL);
    if (rc == PMT_OK && !t->fork_silent)
        rc = t->source->detach(t->source_self, t, t->source_state);
    if (rc != PMT_OK)
        return rc;
    t->state = PMT_STATE_PAUSED;
    if (!t->fork_silent)
        pmt__pipeline_flush(t);
    return PMT_OK;
}

int pmt_tracer_resume(pmt_tracer *t)
{
    int rc = guard(t, "pmt_tracer_resume", STATES(PMT_STATE_PAUSED, PMT_STATE_PAUSED),
                   "only a paused tracer can be resumed", NULL);
    if (rc == PMT_OK && !t->fork_silent) /* a silent child's hooks stay off */
        rc = t->source->attach(t->source_self, t, &t->source_state);
    if (rc != PMT_OK)
        return rc;
    /* Events while paused were not seen: the next event must not be preceded by a PREV row
     * for an event from before the pause. */
    t->previous_written = 1;
    t->state = PMT_STATE_RUNNING;
    return PMT_OK;
}

/* Allocation tracing's counts, as the log's last mark (pymemtrace.allocations reads it). */
static void note_allocations(pmt_tracer *t)
{
    char text[256];
    snprintf(text, sizeof text,
             "pymemtrace allocations: seen %llu, untraced %llu, free(NULL) %llu, live blocks "
             "%llu, live bytes %llu",
             (unsigned long long)t->allocations_seen, (unsigned long long)t->allocations_untraced,
             (unsigned long long)t->frees_of_null, (unsigned long long)t->blocks.count,
             (unsigned long long)t->blocks.bytes);
    pmt__tracer_note(t, text);
}

int pmt_tracer_stop(pmt_tracer *t)
{
    int rc = guard(t, "pmt_tracer_stop", STATES(PMT_STATE_RUNNING, PMT_STATE_PAUSED),
                   "only a running or paused tracer can be stopped", NULL);
    if (rc == PMT_OK && !t->fork_silent && t->state == PMT_STATE_RUNNING)
        rc = t->source->detach(t->source_self, t, t->source_state);
    if (rc != PMT_OK)
        return rc;
    if (!t->fork_silent) { /* a silent child's hooks were removed by the sync: no row, no flush */
        if (t->allocators)
            note_allocations(t);
        write_here(t, PMT_EV_STOP, PMT_REASON_LAST, NULL);
        if (t->samples) /* the run's last row is written: samples after it are no one's */
            pmt__sample_queue_set_open(t->samples, 0);
        pmt__pipeline_call_stats(t);
        pmt__pipeline_flush(t);
    }
    if (t->source_state)
        t->source->release(t->source_self, t, t->source_state);
    t->source_state = NULL;
    t->state = PMT_STATE_STOPPED;
    return PMT_OK;
}

int pmt__tracer_take_samples(pmt_tracer *t, pmt__sample_queue *q)
{
    unsigned states = 1u << PMT_STATE_CREATED | 1u << PMT_STATE_RUNNING | 1u << PMT_STATE_PAUSED;
    int rc = guard(t, "pmt_monitor_add_tracer", states,
                   "pmt_monitor_add_tracer: the tracer has stopped", NULL);
    if (rc != PMT_OK)
        return rc;
    if (t->samples && !pmt__sample_queue_finished(t->samples))
        return pmt__fail(PMT_EBUSY, "the tracer takes the samples of another monitor already");
    t->monitor_file = pmt__strings_intern(&t->strings, "", 0);
    t->monitor_name = pmt__strings_intern(&t->strings, "<monitor>", 9);
    if (!t->monitor_file || !t->monitor_name)
        return pmt__fail(PMT_ENOMEM, "out of memory attaching a monitor");
    if (t->samples) /* a stopped monitor's: its last samples first */
        pmt__pipeline_write_samples(t);
    pmt__tracer_set_samples(t, q);
    if (t->state != PMT_STATE_CREATED && !t->fork_silent)
        pmt__sample_queue_set_open(q, 1); /* the run is on */
    return PMT_OK;
}

int pmt_tracer_mark(pmt_tracer *t, const char *text)
{
    if (t && !text)
        return pmt__fail(PMT_EINVAL, "pmt_tracer_mark: text is NULL");
    uintptr_t token = 0;
    int rc = guard(t, "pmt_tracer_mark", STATES(PMT_STATE_RUNNING, PMT_STATE_PAUSED),
                   "marks need a running or paused tracer", &token);
    if (rc != PMT_OK)
        return rc;
    const char *kept = NULL;
    if (!t->fork_silent) {
        kept = pmt__strings_intern(&t->strings, text, strlen(text));
        if (kept) {
            write_here(t, PMT_EV_MARK, PMT_REASON_MESSAGE, kept);
            pmt__pipeline_call_stats(t); /* a log cut after a mark still has the figures so far */
            pmt__pipeline_flush(t);
        }
    }
    if (t->source->enter && t->source->leave)
        t->source->leave(t->source_self, token);
    return kept || t->fork_silent ? PMT_OK : pmt__fail(PMT_ENOMEM, "out of memory keeping a mark");
}

int pmt_tracer_after_fork(pmt_tracer *t)
{
    if (!t)
        return pmt__fail(PMT_EINVAL, "pmt_tracer_after_fork: tracer is NULL");
    if (!pmt__tracer_forked(t))
        return PMT_OK; /* the process that created it, or a following child that has noticed */
    int rc = t->source->check_thread(t->source_self);
    return rc == PMT_OK ? sync_fork(t) : rc;
}
