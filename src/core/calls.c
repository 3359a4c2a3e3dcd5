/* The call tree and its RSS figures (calls.h). Nodes are keyed by (parent node, callee key):
 * each call path is a node, so a function's figures can be read per path (a call tree, collapsed
 * stacks) or summed per function, its own growth charged to whichever caller a report chooses. */
#include "core/calls.h"

#include <stdlib.h>
#include <string.h>

static size_t slot_of(uint32_t parent, const void *key, size_t mask)
{
    uint64_t h = ((uint64_t)(uintptr_t)key ^ (uint64_t)parent << 40) * 0x9E3779B97F4A7C15u;
    return (size_t)(h >> 32) & mask;
}

static int grow_slots(pmt__calls *c)
{
    size_t count = c->slot_count ? c->slot_count * 2 : 1024;
    uint32_t *slots = calloc(count, sizeof *slots);
    if (!slots)
        return -1;
    for (uint32_t id = 1; id <= c->count; id++) {
        const pmt__call_node *n = &c->nodes[id - 1];
        size_t i = slot_of(n->parent, n->key, count - 1);
        while (slots[i])
            i = (i + 1) & (count - 1);
        slots[i] = id;
    }
    free(c->slots);
    c->slots = slots;
    c->slot_count = count;
    return 0;
}

/* The node of key called from parent, made on first sight; 0 when out of memory. */
static uint32_t node_of(pmt__calls *c, uint32_t parent, const void *key, const char *file,
                        const char *function, int32_t line, uint32_t flags)
{
    if ((c->count + 1) * 2 > c->slot_count && grow_slots(c) != 0)
        return 0;
    size_t mask = c->slot_count - 1, i = slot_of(parent, key, mask);
    for (; c->slots[i]; i = (i + 1) & mask) {
        const pmt__call_node *n = &c->nodes[c->slots[i] - 1];
        if (n->key == key && n->parent == parent)
            return c->slots[i];
    }
    if (c->count == c->capacity) {
        size_t capacity = c->capacity ? c->capacity * 2 : 256;
        pmt__call_node *nodes = realloc(c->nodes, capacity * sizeof *nodes);
        if (!nodes)
            return 0;
        c->nodes = nodes;
        c->capacity = capacity;
    }
    pmt__call_node *n = &c->nodes[c->count];
    memset(n, 0, sizeof *n);
    n->key = key;
    n->parent = parent;
    n->flags = flags;
    n->file = file;
    n->function = function;
    n->line = line;
    n->largest = INT64_MIN;
    c->slots[i] = (uint32_t)++c->count;
    return c->slots[i];
}

/* What pmt__calls_seen charges to before a run's first event: nobody. */
static pmt__shadow nobody;

void pmt__calls_enter_slow(pmt__calls *c, pmt__shadow *shadow, const void *key,
                           pmt__call_memo *memo, const char *file, const char *function,
                           int32_t line, uint32_t flags, uint64_t rss)
{
    /* pmt__calls_enter has charged the change since the last event already. */
    uint32_t parent = shadow->depth ? shadow->frames[shadow->depth - 1].node : 0;
    uint32_t node;
    if (memo->node && memo->parent == parent)
        node = memo->node;
    else if (memo->node2 && memo->parent2 == parent)
        node = memo->node2;
    else if (parent && c->nodes[parent - 1].key == key)
        node = parent; /* a direct recursion: folded into the caller's node */
    else
        node = node_of(c, parent, key, file, function, line, flags);
    if (node && node != parent && node != memo->node) /* a recursion keeps the outer place */
        *memo = (pmt__call_memo){parent, node, memo->parent, memo->node};
    if (shadow->depth == shadow->capacity) {
        size_t capacity = shadow->capacity ? shadow->capacity * 2 : 64;
        pmt__shadow_frame *frames = realloc(shadow->frames, capacity * sizeof *frames);
        if (!frames)
            return; /* the call is not charged; its return finds the frame below */
        shadow->frames = frames;
        shadow->capacity = capacity;
    }
    /* A node that could not be made (0) keeps the stack's shape: its return charges nothing. */
    shadow->frames[shadow->depth++] =
        (pmt__shadow_frame){node, node && node == parent, 0, 0, rss, 0, 0, 0, NULL};
}

long pmt__calls_user_frame(const pmt__calls *c, pmt__shadow *shadow, size_t depth)
{
    pmt__shadow_frame *frames = shadow->frames;
    long found = -1, stop = (long)depth - 1;
    for (; stop >= 0; stop--) {
        const pmt__shadow_frame *f = &frames[stop];
        if (f->user_at) {
            found = f->user_at > 0 ? f->user_at - 1 : -1;
            break;
        }
        if (f->node && (c->nodes[f->node - 1].flags & PMT_CALL_USER_CODE)) {
            found = stop;
            break;
        }
    }
    for (long i = stop < 0 ? 0 : stop; i < (long)depth; i++)
        frames[i].user_at = found >= 0 ? (int32_t)found + 1 : -1;
    return found;
}

int pmt__calls_each(const pmt__calls *c, pmt_call_stats_fn fn, void *user_data)
{
    for (uint32_t id = 1; id <= c->count; id++) {
        const pmt__call_node *n = &c->nodes[id - 1];
        pmt_call_stats row;
        memset(&row, 0, sizeof row);
        row.struct_size = sizeof row;
        row.node = id;
        row.parent = n->parent;
        row.flags = n->flags;
        row.file = n->file;
        row.function = n->function;
        row.line = n->line;
        row.calls = n->calls;
        row.total = n->total;
        row.own = n->own;
        row.largest = n->calls ? n->largest : 0;
        row.peak_rss = n->peak;
        int rc = fn(&row, user_data);
        if (rc)
            return rc;
    }
    return 0;
}

void pmt__calls_forget_shadows(pmt__calls *c)
{
    c->last_shadow = &nobody;
}

void pmt__calls_start(pmt__calls *c, uint64_t rss)
{
    c->last_rss = rss;
    c->last_shadow = &nobody;
    for (size_t i = 0; i < c->count; i++) {
        pmt__call_node *n = &c->nodes[i];
        n->calls = 0;
        n->total = n->own = 0;
        n->largest = INT64_MIN;
        n->peak = 0;
    }
}

void pmt__calls_free(pmt__calls *c)
{
    free(c->nodes);
    free(c->slots);
    memset(c, 0, sizeof *c);
}
