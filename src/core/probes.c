/* Arguments of the USDT probes from the pipeline's slot, and the public calls about probes. The
 * probes fire whether or not a sink writes the event: they are a consumer of their own. */
#include "core/probes.h"

#include <string.h>

#include <pymemtrace/probes.h>

#include "common/error.h"
#include "platform/os.h"

static const char *text_of(const char *s)
{
    return s ? s : "";
}

void pmt__probes_event(pmt_tracer *t, pmt__slot *slot)
{
    pmt_event *ev = &slot->ev;
    if (slot->where) { /* the line now: deliver() would resolve it the same way */
        ev->line = t->source->line_at ? t->source->line_at(t->source_self, t->source_state,
                                                           slot->where, slot->offset)
                                      : 0;
        slot->where = NULL;
    }
    /* Against the event before it: a consumer summing every event's dRSS gets the growth. */
    const pmt__slot *before = &t->slots[t->current ^ 1];
    uint64_t base = t->previous_valid && slot != before ? before->ev.rss : t->last_written_rss;
    pmt__probe_event(ev->kind, text_of(ev->file), ev->line, text_of(ev->function), ev->rss,
                     (int64_t)(ev->rss - base));
}

void pmt__probes_rss_change(const pmt__slot *slot)
{
    const pmt_event *ev = &slot->ev;
    /* In the user's terms: the nearest frame of the user's code when the tracer knows it. */
    int user = ev->user_file && ev->user_file[0];
    pmt__probe_rss_change(ev->kind, text_of(user ? ev->user_file : ev->file),
                          user ? ev->user_line : ev->line,
                          text_of(user ? ev->user_function : ev->function), ev->rss, ev->d_rss);
}

void pmt__probes_always(pmt_tracer *t, const pmt__slot *slot)
{
    const pmt_event *ev = &slot->ev;
    switch (ev->kind) {
    case PMT_EV_START:
        if (PMT__PROBE_WANTED(tracer_start))
            pmt__probe_tracer_start((uint64_t)(uintptr_t)t, pmt__process_id(), ev->rss,
                                    t->event_mask, (uint64_t)t->allocators);
        break;
    case PMT_EV_STOP:
        if (PMT__PROBE_WANTED(tracer_stop))
            pmt__probe_tracer_stop((uint64_t)(uintptr_t)t, t->seq, t->written, ev->rss);
        break;
    case PMT_EV_MARK:
        if (PMT__PROBE_WANTED(mark))
            pmt__probe_mark(text_of(ev->message), ev->rss, text_of(ev->file), ev->line,
                            text_of(ev->function));
        break;
    default:
        break;
    }
}

void pmt__probes_gc(const pmt__slot *slot)
{
    const pmt_event *ev = &slot->ev;
    if (ev->kind == PMT_EV_GC_START) {
        if (PMT__PROBE_WANTED(gc_start))
            pmt__probe_gc_start(ev->gc_generation, ev->rss);
    } else if (PMT__PROBE_WANTED(gc_done)) {
        pmt__probe_gc_done(ev->gc_generation, ev->gc_collected, ev->gc_uncollectable,
                           ev->gc_duration_ns, ev->rss);
    }
}

void pmt__probes_allocation(const pmt__allocation *a, uint64_t old_size, const char *file,
                            int32_t line, const char *function)
{
    file = text_of(file);
    function = text_of(function);
    uint32_t allocator = (uint32_t)a->allocator;
    switch (a->kind) {
    case PMT_EV_FREE:
        if (PMT__PROBE_WANTED(free))
            pmt__probe_free(allocator, a->address, old_size, file, line, function);
        break;
    case PMT_EV_REALLOC: /* the old block goes, the new one comes, then what joins them */
        if (PMT__PROBE_WANTED(free) && a->old_address)
            pmt__probe_free(allocator, a->old_address, old_size, file, line, function);
        if (PMT__PROBE_WANTED(alloc))
            pmt__probe_alloc(allocator, a->address, a->size, file, line, function);
        if (PMT__PROBE_WANTED(realloc))
            pmt__probe_realloc(allocator, a->address, a->size, a->old_address, old_size);
        break;
    default:
        if (PMT__PROBE_WANTED(alloc))
            pmt__probe_alloc(allocator, a->address, a->size, file, line, function);
        break;
    }
}

void pmt__probes_object(pmt_event_kind kind, uint64_t address, const pmt__type_entry *type,
                        const char *file, int32_t line, const char *function)
{
    int64_t live = (int64_t)(type->created - type->destroyed);
    file = text_of(file);
    function = text_of(function);
    if (kind == PMT_EV_OBJECT_NEW) {
        if (PMT__PROBE_WANTED(object_new))
            pmt__probe_object_new(address, type->name, live, file, line, function);
    } else if (PMT__PROBE_WANTED(object_free)) {
        pmt__probe_object_free(address, type->name, live, file, line, function);
    }
}

PMT_API int pmt_probes_available(void)
{
    return PMT__PROBES_BUILT;
}

PMT_API int pmt_probe_listeners(const char *name, unsigned *listeners)
{
    if (!name || !listeners)
        return pmt__fail(PMT_EINVAL, "pmt_probe_listeners: NULL argument");
    if (!PMT__PROBES_BUILT)
        return pmt__fail(PMT_ENOTSUP, "this libpymemtrace was built without USDT probes");
    const volatile unsigned short *semaphore = pmt__probe_semaphore(name);
    if (!semaphore)
        return pmt__fail(PMT_EINVAL,
                         "'%s' is not a probe (event, rss_change, alloc, free, realloc, "
                         "gc_start, gc_done, mark, tracer_start, tracer_stop, object_new, "
                         "object_free)",
                         name);
    *listeners = *semaphore;
    return PMT_OK;
}
