/* The tracer's life cycle, parameters and collaborators. The event path is in pipeline.c. */
#define _GNU_SOURCE /* strdup */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <pymemtrace/version.h>

#include "../os/os.h"
#include "../rss/rss_internal.h"
#include "error.h"
#include "pipeline.h"
#include "tracer_internal.h"

static const uint64_t all_hook_kinds = PMT_EV_BIT(PMT_EV_CALL) | PMT_EV_BIT(PMT_EV_RETURN) |
                                       PMT_EV_BIT(PMT_EV_C_CALL) | PMT_EV_BIT(PMT_EV_C_RETURN) |
                                       PMT_EV_BIT(PMT_EV_C_EXCEPTION) |
                                       PMT_EV_BIT(PMT_EV_EXCEPTION) | PMT_EV_BIT(PMT_EV_LINE);
static const uint64_t always_kinds =
    PMT_EV_BIT(PMT_EV_MARK) | PMT_EV_BIT(PMT_EV_START) | PMT_EV_BIT(PMT_EV_STOP);

static uint64_t monotonic_clock(void *user_data)
{
    (void)user_data;
    return pmt__monotonic_ns();
}

int pmt__tracer_create_with_source(pmt_tracer **out, const pmt__source_ops *source)
{
    if (!out || !source)
        return pmt__fail(PMT_EINVAL, "pmt_tracer_create: out is NULL");
    *out = NULL;
    pmt_tracer *t = calloc(1, sizeof *t);
    if (!t)
        return pmt__fail(PMT_ENOMEM, "out of memory for a tracer");
    t->state = PMT_STATE_CREATED;
    t->trigger_param = -1;
    t->max_depth = -1;
    t->sample_every = 1;
    t->time_until_ns = INT64_MAX;
    t->event_mask = PMT_EV_MASK_PROFILE | always_kinds;
    t->clock = monotonic_clock;
    t->source = source;
    t->fork_generation = pmt__fork_generation(); /* installs the handler that counts forks */
    t->owner_pid = pmt__process_id();
    t->slots[0].struct_size = t->slots[1].struct_size = sizeof(pmt_event);
    pmt__strings_init(&t->strings);
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
    pmt__tracer_fork_silence(t);
    if (t->state == PMT_STATE_RUNNING || t->state == PMT_STATE_PAUSED)
        pmt_tracer_stop(t);
    for (size_t i = 0; i < t->sink_count; i++)
        pmt__sink_free(t->sinks[i]);
    free(t->sinks);
    release_rss_provider(t);
    pmt__strings_free(&t->strings);
    pmt__code_filter_free(&t->code_filter);
    free(t->filters);
    free(t->own_code_prefix);
    free(t);
}

/* Every parameter once: its bounds and where the tracer keeps it (an int64_t field; the event
 * mask, kept as uint64_t with the always-on kinds, is handled apart). */
typedef struct param_spec {
    pmt_param param;
    int64_t min, max;
    size_t offset; /* of the int64_t field in pmt_tracer; 0 for the event mask */
} param_spec;

#define FIELD(name) offsetof(pmt_tracer, name)
static const param_spec param_specs[] = {
    {PMT_PARAM_D_RSS_TRIGGER, -1, INT64_MAX, FIELD(trigger_param)},
    {PMT_PARAM_EVENT_MASK, 1, (int64_t)((UINT64_C(1) << PMT_EV_KIND_COUNT) - 1), 0},
    {PMT_PARAM_RSS_MODE, PMT_RSS_AUTO, PMT_RSS_NONE, FIELD(rss_mode)},
    {PMT_PARAM_RSS_INTERVAL_NS, 0, INT64_C(10000000000), FIELD(rss_interval_ns)},
    {PMT_PARAM_MAX_DEPTH, -1, INT32_MAX, FIELD(max_depth)},
    {PMT_PARAM_SAMPLE_EVERY, 1, INT64_MAX, FIELD(sample_every)},
    {PMT_PARAM_TIME_FROM_NS, 0, INT64_MAX, FIELD(time_from_ns)},
    {PMT_PARAM_TIME_UNTIL_NS, 0, INT64_MAX, FIELD(time_until_ns)},
    {PMT_PARAM_RSS_ABOVE, 0, INT64_MAX, FIELD(rss_above)},
    {PMT_PARAM_THREADS, PMT_THREADS_ALL, PMT_THREADS_CALLING, FIELD(threads_mode)},
    {PMT_PARAM_ON_FORK, PMT_FORK_STOP, PMT_FORK_FOLLOW, FIELD(on_fork)},
};
#undef FIELD

static const param_spec *spec_of(pmt_param param)
{
    for (size_t i = 0; i < sizeof param_specs / sizeof *param_specs; i++)
        if (param_specs[i].param == param)
            return &param_specs[i];
    pmt__fail(PMT_ENOTSUP, "unknown parameter %d", (int)param);
    return NULL;
}

static int64_t *field_of(pmt_tracer *t, const param_spec *spec)
{
    return (int64_t *)(void *)((char *)t + spec->offset);
}

static int64_t field_value(const pmt_tracer *t, const param_spec *spec)
{
    return *(const int64_t *)(const void *)((const char *)t + spec->offset);
}

int pmt_param_bounds(pmt_param param, int64_t *out_min, int64_t *out_max)
{
    if (!out_min || !out_max)
        return pmt__fail(PMT_EINVAL, "pmt_param_bounds: NULL output");
    const param_spec *spec = spec_of(param);
    if (!spec)
        return PMT_ENOTSUP;
    *out_min = spec->min;
    *out_max = spec->max;
    return PMT_OK;
}

int pmt_tracer_set_param(pmt_tracer *t, pmt_param param, int64_t value)
{
    if (!t)
        return pmt__fail(PMT_EINVAL, "pmt_tracer_set_param: tracer is NULL");
    const param_spec *spec = spec_of(param);
    if (!spec)
        return PMT_ENOTSUP;
    if (t->state != PMT_STATE_CREATED)
        return pmt__fail(PMT_ESTATE, "parameters are fixed once the tracer has started");
    if (value < spec->min || value > spec->max)
        return pmt__fail(PMT_EINVAL, "parameter %d: %lld is outside [%lld, %lld]", (int)param,
                         (long long)value, (long long)spec->min, (long long)spec->max);
    if (param != PMT_PARAM_EVENT_MASK) {
        *field_of(t, spec) = value;
        return PMT_OK;
    }
    if (((uint64_t)value & all_hook_kinds) == 0)
        return pmt__fail(PMT_EINVAL, "event mask 0x%llx selects no observable event",
                         (unsigned long long)value);
    t->event_mask = ((uint64_t)value & all_hook_kinds) | always_kinds;
    return PMT_OK;
}

int pmt_tracer_get_param(const pmt_tracer *t, pmt_param param, int64_t *out_value)
{
    if (!t || !out_value)
        return pmt__fail(PMT_EINVAL, "pmt_tracer_get_param: NULL argument");
    const param_spec *spec = spec_of(param);
    if (!spec)
        return PMT_ENOTSUP;
    *out_value = param == PMT_PARAM_EVENT_MASK ? (int64_t)(t->event_mask & all_hook_kinds)
                                               : field_value(t, spec);
    return PMT_OK;
}

const char *pmt_tracer_rss_provider_name(const pmt_tracer *t)
{
    if (!t || !t->rss.read || t->state == PMT_STATE_CREATED)
        return NULL;
    return t->rss.name ? t->rss.name : "custom";
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
    case PMT_STAT_SINKS_FAILED:
        *out_value = t->sinks_failed;
        return PMT_OK;
    case PMT_STAT_RSS_ERRORS:
        *out_value = t->rss_errors;
        return PMT_OK;
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
    if (provider->struct_size < offsetof(pmt_rss_provider, may_have_changed) ||
        provider->struct_size > sizeof(pmt_rss_provider))
        return pmt__fail(PMT_EVERSION, "pmt_rss_provider: unknown struct_size %u",
                         (unsigned)provider->struct_size);
    if (!provider->read)
        return pmt__fail(PMT_EINVAL, "pmt_rss_provider: read is required");
    if (t->state != PMT_STATE_CREATED)
        return pmt__fail(PMT_ESTATE, "the RSS provider is fixed once the tracer has started");
    release_rss_provider(t);
    pmt_rss_provider copy = PMT_RSS_PROVIDER_INIT;
    memcpy(&copy, provider, provider->struct_size);
    copy.struct_size = sizeof copy;
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
    pmt__tracer_fork_sync(t); /* a parent's sinks are dealt with before the child's joins */
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

/* Writes an always-written event at the interpreter's current location. */
static void write_here(pmt_tracer *t, pmt_event_kind kind, pmt_event_reason reason,
                       const char *message)
{
    const char *file = "", *function = "";
    int32_t line = 0, depth = 0;
    t->source->locate(t, t->source_state, &file, &function, &line, &depth);
    pmt__pipeline_write_always(t, kind, reason, file, function, line, depth, message);
}

void pmt__tracer_note(pmt_tracer *t, const char *text)
{
    const char *kept = pmt__strings_intern(&t->strings, text, strlen(text));
    if (kept)
        write_here(t, PMT_EV_MARK, PMT_REASON_MESSAGE, kept);
}

void pmt__tracer_run_info(pmt_tracer *t, pmt_run_info *out)
{
    const char *runtime = t->source->runtime ? t->source->runtime(t, t->source_state) : NULL;
    pmt_run_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    info.event_mask = t->event_mask;
    info.d_rss_trigger = t->trigger_bytes;
    info.start_time_ns = t->start_ns;
    info.start_realtime_ns = pmt__realtime_ns();
    info.process_id = pmt__process_id();
    info.library_version = pmt_version_string();
    info.rss_provider = t->rss.name ? t->rss.name : "custom";
    info.rss_accuracy = t->rss.accuracy ? t->rss.accuracy : "as its provider says";
    info.runtime = runtime ? runtime : "unknown";
    info.filters = t->filters;
    info.interpreter_id = t->interpreter_id;
    *out = info;
}

static void begin_sinks(pmt_tracer *t)
{
    pmt_run_info info;
    pmt__tracer_run_info(t, &info);
    pmt__pipeline_begin(t, &info);
}

int pmt_tracer_start(pmt_tracer *t)
{
    if (!t)
        return pmt__fail(PMT_EINVAL, "pmt_tracer_start: tracer is NULL");
    if (t->state != PMT_STATE_CREATED)
        return pmt__fail(PMT_ESTATE, "the tracer was already started");
    int rc = t->source->check_thread();
    if (rc == PMT_OK)
        rc = pmt__tracer_fork_sync(t);
    if (rc != PMT_OK)
        return rc;
    if (t->fork_silent) { /* created by the parent of this fork: nothing to observe here */
        t->state = PMT_STATE_RUNNING;
        return PMT_OK;
    }
    t->owner_pid = pmt__process_id();
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
    t->start_ns = t->clock(t->clock_user_data);
    pmt__pipeline_reset(t);
    rc = t->source->attach(t, &t->source_state);
    if (rc != PMT_OK)
        return rc;
    /* Constant for the run: the pipeline's stamp never touches it. */
    t->slots[0].interpreter_id = t->slots[1].interpreter_id = t->interpreter_id;
    begin_sinks(t);
    write_here(t, PMT_EV_START, PMT_REASON_FIRST, NULL);
    t->state = PMT_STATE_RUNNING;
    return PMT_OK;
}

int pmt_tracer_pause(pmt_tracer *t)
{
    if (!t)
        return pmt__fail(PMT_EINVAL, "pmt_tracer_pause: tracer is NULL");
    if (t->state != PMT_STATE_RUNNING)
        return pmt__fail(PMT_ESTATE, "only a running tracer can be paused");
    int rc = t->source->check_thread();
    if (rc == PMT_OK)
        rc = pmt__tracer_fork_sync(t);
    if (rc == PMT_OK && t->fork_silent) {
        t->state = PMT_STATE_PAUSED;
        return PMT_OK;
    }
    if (rc == PMT_OK)
        rc = t->source->detach(t, t->source_state);
    if (rc != PMT_OK)
        return rc;
    t->state = PMT_STATE_PAUSED;
    pmt__pipeline_flush(t);
    return PMT_OK;
}

int pmt_tracer_resume(pmt_tracer *t)
{
    if (!t)
        return pmt__fail(PMT_EINVAL, "pmt_tracer_resume: tracer is NULL");
    if (t->state != PMT_STATE_PAUSED)
        return pmt__fail(PMT_ESTATE, "only a paused tracer can be resumed");
    int rc = t->source->check_thread();
    if (rc == PMT_OK)
        rc = pmt__tracer_fork_sync(t);
    if (rc == PMT_OK && t->fork_silent) { /* its hooks stay off */
        t->state = PMT_STATE_RUNNING;
        return PMT_OK;
    }
    if (rc == PMT_OK)
        rc = t->source->attach(t, &t->source_state);
    if (rc != PMT_OK)
        return rc;
    /* Events while paused were not seen: the next event must not be preceded by a PREV row
     * for an event from before the pause. */
    t->previous_written = 1;
    t->state = PMT_STATE_RUNNING;
    return PMT_OK;
}

int pmt_tracer_stop(pmt_tracer *t)
{
    if (!t)
        return pmt__fail(PMT_EINVAL, "pmt_tracer_stop: tracer is NULL");
    if (t->state != PMT_STATE_RUNNING && t->state != PMT_STATE_PAUSED)
        return pmt__fail(PMT_ESTATE, "only a running or paused tracer can be stopped");
    int rc = t->source->check_thread();
    if (rc == PMT_OK)
        rc = pmt__tracer_fork_sync(t);
    if (rc == PMT_OK && t->fork_silent) { /* hooks removed by the sync: no row, no flush */
        if (t->source_state)
            t->source->release(t, t->source_state);
        t->source_state = NULL;
        t->state = PMT_STATE_STOPPED;
        return PMT_OK;
    }
    if (rc == PMT_OK && t->state == PMT_STATE_RUNNING)
        rc = t->source->detach(t, t->source_state);
    if (rc != PMT_OK)
        return rc;
    write_here(t, PMT_EV_STOP, PMT_REASON_LAST, NULL);
    pmt__pipeline_flush(t);
    t->source->release(t, t->source_state);
    t->source_state = NULL;
    t->state = PMT_STATE_STOPPED;
    return PMT_OK;
}

int pmt_tracer_mark(pmt_tracer *t, const char *text)
{
    if (!t || !text)
        return pmt__fail(PMT_EINVAL, "pmt_tracer_mark: NULL tracer or text");
    if (t->state != PMT_STATE_RUNNING && t->state != PMT_STATE_PAUSED)
        return pmt__fail(PMT_ESTATE, "marks need a running or paused tracer");
    uintptr_t token = 0;
    int rc = t->source->enter ? t->source->enter(&token) : t->source->check_thread();
    if (rc != PMT_OK)
        return rc;
    rc = pmt__tracer_fork_sync(t);
    if (rc != PMT_OK || t->fork_silent) {
        if (t->source->enter && t->source->leave)
            t->source->leave(token);
        return rc;
    }
    const char *kept = pmt__strings_intern(&t->strings, text, strlen(text));
    if (kept) {
        write_here(t, PMT_EV_MARK, PMT_REASON_MESSAGE, kept);
        pmt__pipeline_flush(t);
    }
    if (t->source->enter && t->source->leave)
        t->source->leave(token);
    return kept ? PMT_OK : pmt__fail(PMT_ENOMEM, "out of memory keeping a mark");
}

int pmt_tracer_after_fork(pmt_tracer *t)
{
    if (!t)
        return pmt__fail(PMT_EINVAL, "pmt_tracer_after_fork: tracer is NULL");
    if (!pmt__tracer_forked(t))
        return PMT_OK; /* the process that created it, or a following child that has noticed */
    int rc = t->source->check_thread();
    return rc == PMT_OK ? pmt__tracer_fork_sync(t) : rc;
}
