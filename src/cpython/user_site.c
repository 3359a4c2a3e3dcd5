/* A written event's user site: the nearest frame of the user's code on its thread's stack
 * (doc/user-terms.md). Only written events come here, and what the tracer keeps per thread as
 * events pass answers most of them without looking at a frame: the event's own file says whether
 * its frame is the user's (remembered per file), the call aggregation's shadow stack says which
 * call below is (a flag per call path). Only the line a user's frame waits at needs its frame;
 * it is looked up once per call it waits for and kept in that call's shadow frame. */
#include "cpython/cpython.h"

/* The Python function an event ran in: a C event's is its caller's, the innermost call on the
 * shadow when that is the caller's file. */
static const char *python_function(const pmt__calls *calls, const pmt_event *ev,
                                   const pmt__shadow *shadow, size_t depth)
{
    if (ev->kind != PMT_EV_C_CALL && ev->kind != PMT_EV_C_RETURN && ev->kind != PMT_EV_C_EXCEPTION)
        return ev->function;
    uint32_t node = shadow && depth ? shadow->frames[depth - 1].node : 0;
    if (node && calls->nodes[node - 1].file == ev->file)
        return calls->nodes[node - 1].function;
    return "";
}

/* The line the user's frame at index user of the shadow waits at. */
static int32_t waiting_line(pmt__cpy_state *st, pmt__shadow *shadow, size_t depth, long user,
                            int now)
{
    const pmt__call_node *n = &st->tracer->calls.nodes[shadow->frames[user].node - 1];
    pmt__shadow_frame *callee = (size_t)user + 1 < depth ? &shadow->frames[user + 1] : NULL;
    if (callee && callee->caller_line)
        return callee->caller_line;
    if (!now) /* an earlier event: the frame may have moved on since */
        return n->line;
    int32_t line = pmt__frame_line_of(st, (pmt__code_entry *)(uintptr_t)n->key);
    if (!line)
        return n->line;
    if (callee)
        callee->caller_line = line;
    return line;
}

void pmt__user_site(pmt__cpy_state *st, pmt_event *ev, const pmt__shadow *known, size_t depth,
                    int now, int want_path)
{
    const pmt__calls *calls = &st->tracer->calls;
    pmt__shadow *shadow = (pmt__shadow *)(uintptr_t)known;
    if (!shadow && now && (shadow = pmt__thread_shadow_of(st)) != NULL)
        depth = shadow->depth; /* the thread's latest event: its calls are as they are now */
    if (shadow && want_path && depth)
        ev->call_node = shadow->frames[depth - 1].node;
    const char *function = ev->file[0] ? python_function(calls, ev, shadow, depth) : "";
    if (function[0] && pmt__user_file(st, ev->file)) {
        ev->user_file = ev->file;
        ev->user_function = function;
        ev->user_line = ev->line;
        return;
    }
    long user = shadow ? pmt__calls_user_frame(calls, shadow, depth) : -1;
    if (user >= 0) {
        const pmt__call_node *n = &calls->nodes[shadow->frames[user].node - 1];
        ev->user_file = n->file;
        ev->user_function = n->function;
        ev->user_line = waiting_line(st, shadow, depth, user, now);
        return;
    }
    /* No call of the user's entered while traced: one from before the start, if any, which
     * stays where it is while the first call lasts. */
    pmt__shadow_frame *first = shadow && depth ? &shadow->frames[0] : NULL;
    if (first && first->caller_line) {
        if (first->caller_line > 0) {
            ev->user_file = shadow->below_file;
            ev->user_function = shadow->below_function;
            ev->user_line = first->caller_line;
        }
        return;
    }
    if (!now)
        return;
    int found = pmt__frame_user(st, &ev->user_file, &ev->user_function, &ev->user_line);
    if (first) {
        shadow->below_file = ev->user_file;
        shadow->below_function = ev->user_function;
        first->caller_line = found && ev->user_line > 0 ? ev->user_line : -1;
    }
}
