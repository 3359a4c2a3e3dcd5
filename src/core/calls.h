/* The in-process call aggregation (calls.c), in the spirit of DTrace's @ aggregations: RSS growth
 * per call path, total and own, kept as events pass so that a run that writes no row still
 * answers "which of my functions grew the process".
 *
 * RSS is the process's, so each change is charged once: at every event, the change since the
 * last event (of any thread) goes to the own growth of the innermost call of the thread that
 * had that last event. Under the GIL that thread ran on from its event until it let the GIL go,
 * so it is the one most likely to have caused the change: a thread that returns from waiting
 * (join, a lock, I/O) is not charged for what another thread grew meanwhile. A call's total is
 * its own plus its callees' totals. */
#ifndef PMT_CORE_CALLS_H
#define PMT_CORE_CALLS_H

#include <stddef.h>
#include <stdint.h>

#include <pymemtrace/tracer.h>

/* One node of the call tree: a function reached through its parent's path. A function that calls
 * itself directly stays in its node (folded): its calls count every level, its total the
 * outermost calls only, so that a deep recursion is one node, not one per level. */
typedef struct pmt__call_node {
    const void *key; /* the function's key (calls.h: pmt__calls_enter) */
    uint32_t parent; /* the caller's node id, 0 for a root */
    uint32_t flags;  /* PMT_CALL_USER_CODE */
    const char *file, *function;
    int32_t line;
    uint64_t calls;
    int64_t total, own;
    int64_t largest; /* INT64_MIN until the first return */
    uint64_t peak;
} pmt__call_node;

typedef struct pmt__calls {
    pmt__call_node *nodes; /* node id n is nodes[n - 1] */
    size_t count, capacity;
    uint32_t *slots; /* open addressing over (parent, key): node ids, 0 = empty */
    size_t slot_count;
    uint64_t last_rss; /* RSS at the last event charged, of any thread */
    /* Bumped by the source at each call and return while allocations are traced: a stack may
     * have changed, so the pipeline's last allocation site is stale (pmt__tracer_allocation). */
    uint64_t changes;
    struct pmt__shadow *last_shadow; /* the shadow of that event's thread (an empty one at first) */
} pmt__calls;

/* What a callee remembers of its last two calls' places: from which node, into which node. Kept
 * by whoever owns the callee's key (the CPython source: in the code object's entry), so that a
 * function called again from one of the last two places finds its node with a compare or two,
 * however many different functions its caller calls in between (two: a generator resumed from
 * its consumer and a function recursing through it alternate between two places). */
typedef struct pmt__call_memo {
    uint32_t parent, node;   /* the most recent place; node 0: nothing remembered */
    uint32_t parent2, node2; /* the one before */
} pmt__call_memo;

/* A frame of a thread's shadow stack: what a return needs to charge its call. */
typedef struct pmt__shadow_frame {
    uint32_t node;
    uint32_t folded;  /* a direct recursion: the caller's node again, its total is the caller's */
    int64_t own;      /* growth seen while it was the thread's innermost call */
    int64_t children; /* total growth of the calls it made */
    uint64_t peak;    /* highest RSS at its entry, its callees' returns and its return */
    /* The line its caller waits at, once a written event needed it (user sites): 0 = not yet.
     * It stays right for the call's life, the caller being suspended in it. The first frame's
     * is that of the nearest user's frame below the shadow, -1 if none (pmt__shadow.below_*). */
    int32_t caller_line;
    /* Index + 1 of the nearest frame at or below it whose function is the user's, -1 if none,
     * 0 until a written event asked (pmt__calls_user_frame): right for the call's life. */
    int32_t user_at;
    /* The event source's note of where the caller was when it made the call, given back at the
     * return (the CPython source: the code entry and line allocations are charged to). Set by
     * the source after the call is entered, when it keeps them; not initialised here. */
    int32_t back_line;
    void *back;
} pmt__shadow_frame;

/* A thread's shadow stack of the calls it entered while traced (frames entered before are not
 * on it: their returns find it empty and are not charged). */
typedef struct pmt__shadow {
    pmt__shadow_frame *frames;
    size_t depth, capacity;
    uint64_t thread_id; /* the OS thread it belongs to (pmt_event.thread_id) */
    /* The user's frame below the first call (entered before the tracer started), once a written
     * event needed it; right while frames[0].caller_line (its line; -1: there is none) is set,
     * which a new first call resets. */
    const char *below_file, *below_function;
    struct pmt__shadow *next; /* every shadow of a run, for freeing */
} pmt__shadow;

void pmt__calls_free(pmt__calls *calls);

/* A new run (rss: RSS at its start): every node's figures from 0; the nodes stay, so that calls
 * still open on a thread's shadow (a following child of fork) return to valid ids. */
void pmt__calls_start(pmt__calls *calls, uint64_t rss);

/* The threads' shadow stacks are about to be freed: the next change is nobody's. */
void pmt__calls_forget_shadows(pmt__calls *calls);

/* Any event on the thread of shadow at RSS rss: the change since the last event is the innermost
 * call's of the thread that had that event. */
static inline void pmt__calls_seen(pmt__calls *calls, pmt__shadow *shadow, uint64_t rss)
{
    pmt__shadow *ran = calls->last_shadow;
    if (ran->depth) /* at the bottom of a stack: nobody's */
        ran->frames[ran->depth - 1].own += (int64_t)(rss - calls->last_rss);
    calls->last_rss = rss;
    calls->last_shadow = shadow;
}

/* The slow half of pmt__calls_enter: the node of a callee not called last from its parent (made
 * on first sight), a deeper stack than ever. */
void pmt__calls_enter_slow(pmt__calls *calls, pmt__shadow *shadow, const void *key,
                           pmt__call_memo *memo, const char *file, const char *function,
                           int32_t line, uint32_t flags, uint64_t rss);

/* A call of the function key (file, function, line, flags describe it; key is unique per
 * function, e.g. its code object's entry; memo is its pmt__call_memo) on the thread whose shadow
 * this is, at RSS rss (the change since the last event is the caller's). Allocates only for a
 * new call path or a deeper stack than ever; on failure the call is not charged. Inline: a call
 * from where the function was called last costs a few loads, compares and stores. */
static inline void pmt__calls_enter(pmt__calls *calls, pmt__shadow *shadow, const void *key,
                                    pmt__call_memo *memo, const char *file, const char *function,
                                    int32_t line, uint32_t flags, uint64_t rss)
{
    pmt__calls_seen(calls, shadow, rss);
    size_t depth = shadow->depth;
    uint32_t parent = depth ? shadow->frames[depth - 1].node : 0;
    /* Called from where it was last, or by itself (its node is the caller's): folded. */
    if (depth < shadow->capacity) {
        uint32_t node = 0;
        if (memo->parent == parent || memo->node == parent)
            node = memo->node;
        else if (memo->parent2 == parent && memo->node2)
            node = memo->node2;
        if (node) {
            /* Field by field: back and back_line are the source's (it sets them when it keeps
             * them), so that a source that does not pays no store for them. */
            pmt__shadow_frame *f = &shadow->frames[depth];
            f->node = node;
            f->folded = node == parent;
            f->own = f->children = 0;
            f->peak = rss;
            f->caller_line = f->user_at = 0;
            shadow->depth = depth + 1;
            return;
        }
    }
    pmt__calls_enter_slow(calls, shadow, key, memo, file, function, line, flags, rss);
}

/* The return of the innermost call on the shadow, at RSS rss: its own growth and its total (own
 * plus its callees' totals) are added to its node. */
static inline void pmt__calls_leave(pmt__calls *calls, pmt__shadow *shadow, uint64_t rss)
{
    pmt__calls_seen(calls, shadow, rss);
    if (!shadow->depth)
        return; /* a frame entered before the tracer started */
    pmt__shadow_frame *f = &shadow->frames[--shadow->depth];
    int64_t total = f->own + f->children;
    uint64_t peak = rss > f->peak ? rss : f->peak;
    if (f->node) {
        pmt__call_node *n = &calls->nodes[f->node - 1];
        n->calls++;
        n->total += f->folded ? 0 : total; /* counted in the outer call's total */
        n->own += f->own;
        if (total > n->largest)
            n->largest = total;
        if (peak > n->peak)
            n->peak = peak;
    }
    if (shadow->depth) {
        pmt__shadow_frame *caller = f - 1;
        caller->children += total;
        if (peak > caller->peak)
            caller->peak = peak;
    }
}

/* The innermost of the first depth frames of shadow whose function is the user's
 * (PMT_CALL_USER_CODE), as an index into shadow->frames; -1 when none is. Learns the answer for
 * each frame it passes, so that the next ask stops at the first frame that knows. */
long pmt__calls_user_frame(const pmt__calls *calls, pmt__shadow *shadow, size_t depth);

/* Each node as a pmt_call_stats, in id order (a parent before its children). Stops at the first
 * non-zero result of fn and returns it. */
int pmt__calls_each(const pmt__calls *calls, pmt_call_stats_fn fn, void *user_data);

#endif
