/* Every tracer parameter once: its default, its bounds and where the tracer keeps it. The C API,
 * the Python binding (pmt_param_default/pmt_param_bounds) and the command line all read this
 * table, and tests/abi/check_param_docs.py checks tracer.h's prose against it. */
#include <stddef.h>

#include "common/error.h"
#include "core/params.h"
#include "core/tracer_internal.h"

/* The kinds a hook can produce: the event mask selects among these; the others are always on. */
const uint64_t pmt__hook_kinds = PMT_EV_BIT(PMT_EV_CALL) | PMT_EV_BIT(PMT_EV_RETURN) |
                                 PMT_EV_BIT(PMT_EV_C_CALL) | PMT_EV_BIT(PMT_EV_C_RETURN) |
                                 PMT_EV_BIT(PMT_EV_C_EXCEPTION) | PMT_EV_BIT(PMT_EV_EXCEPTION) |
                                 PMT_EV_BIT(PMT_EV_LINE) | PMT_EV_MASK_GC | PMT_EV_MASK_OBJECTS;
const uint64_t pmt__always_kinds =
    PMT_EV_BIT(PMT_EV_MARK) | PMT_EV_BIT(PMT_EV_START) | PMT_EV_BIT(PMT_EV_STOP);

typedef struct param_spec {
    pmt_param param;
    int64_t fallback, min, max;
    size_t offset; /* of the int64_t field in pmt_tracer; 0 for the event mask (a uint64_t kept
                      with the always-on kinds) */
} param_spec;

#define FIELD(name) offsetof(pmt_tracer, name)
static const param_spec param_specs[] = {
    {PMT_PARAM_D_RSS_TRIGGER, -1, -1, INT64_MAX, FIELD(trigger_param)},
    {PMT_PARAM_EVENT_MASK, (int64_t)PMT_EV_MASK_PROFILE, 0,
     (int64_t)((UINT64_C(1) << PMT_EV_KIND_COUNT) - 1), 0},
    {PMT_PARAM_RSS_MODE, PMT_RSS_AUTO, PMT_RSS_AUTO, PMT_RSS_NONE, FIELD(rss_mode)},
    {PMT_PARAM_RSS_INTERVAL_NS, 0, 0, INT64_C(10000000000), FIELD(rss_interval_ns)},
    {PMT_PARAM_MAX_DEPTH, -1, -1, INT32_MAX, FIELD(max_depth)},
    {PMT_PARAM_SAMPLE_EVERY, 1, 1, INT64_MAX, FIELD(sample_every)},
    {PMT_PARAM_TIME_FROM_NS, 0, 0, INT64_MAX, FIELD(time_from_ns)},
    {PMT_PARAM_TIME_UNTIL_NS, INT64_MAX, 0, INT64_MAX, FIELD(time_until_ns)},
    {PMT_PARAM_RSS_ABOVE, 0, 0, INT64_MAX, FIELD(rss_above)},
    {PMT_PARAM_THREADS, PMT_THREADS_ALL, PMT_THREADS_ALL, PMT_THREADS_CALLING, FIELD(threads_mode)},
    {PMT_PARAM_ON_FORK, PMT_FORK_STOP, PMT_FORK_STOP, PMT_FORK_FOLLOW, FIELD(on_fork)},
    {PMT_PARAM_CALLS, 1, 0, 2, FIELD(calls_mode)},
    {PMT_PARAM_ALLOCATORS, 0, 0, 62, FIELD(allocators)},
    {PMT_PARAM_ALLOC_MIN_SIZE, 0, 0, INT64_C(1) << 40, FIELD(alloc_min_size)},
    {PMT_PARAM_ALLOC_SAMPLE_BYTES, 0, 0, INT64_C(1) << 40, FIELD(alloc_sample_bytes)},
    {PMT_PARAM_OBJECTS, 0, 0, 2, FIELD(objects_mode)},
};
#undef FIELD
enum { PARAM_COUNT = sizeof param_specs / sizeof *param_specs };

static const param_spec *spec_of(pmt_param param)
{
    for (size_t i = 0; i < PARAM_COUNT; i++)
        if (param_specs[i].param == param)
            return &param_specs[i];
    pmt__fail(PMT_ENOTSUP, "unknown parameter %d", (int)param);
    return NULL;
}

static int64_t *field_of(pmt_tracer *t, const param_spec *spec)
{
    return (int64_t *)(void *)((char *)t + spec->offset);
}

static void store(pmt_tracer *t, const param_spec *spec, int64_t value)
{
    if (spec->param == PMT_PARAM_EVENT_MASK)
        t->event_mask = ((uint64_t)value & pmt__hook_kinds) | pmt__always_kinds;
    else
        *field_of(t, spec) = value;
}

void pmt__params_set_defaults(pmt_tracer *t)
{
    for (size_t i = 0; i < PARAM_COUNT; i++)
        store(t, &param_specs[i], param_specs[i].fallback);
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

int pmt_param_default(pmt_param param, int64_t *out_value)
{
    if (!out_value)
        return pmt__fail(PMT_EINVAL, "pmt_param_default: NULL output");
    const param_spec *spec = spec_of(param);
    if (!spec)
        return PMT_ENOTSUP;
    *out_value = spec->fallback;
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
    store(t, spec, value);
    return PMT_OK;
}

int pmt_tracer_get_param(const pmt_tracer *t, pmt_param param, int64_t *out_value)
{
    if (!t || !out_value)
        return pmt__fail(PMT_EINVAL, "pmt_tracer_get_param: NULL argument");
    const param_spec *spec = spec_of(param);
    if (!spec)
        return PMT_ENOTSUP;
    *out_value = param == PMT_PARAM_EVENT_MASK ? (int64_t)(t->event_mask & pmt__hook_kinds)
                                               : *field_of((pmt_tracer *)t, spec);
    return PMT_OK;
}
