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

/* One node of the call tree: a function reached through its parent's path. */
typedef struct pmt__call_node {
    const void *key; /* the function's key (calls.h: pmt__calls_enter) */
    uint32_t parent; /* the caller's node id, 0 for a root */
    uint32_t flags;  /* PMT_CALL_USER_CODE */
    const char *file, *function;
    int32_t line;
    const void *last_child_key; /* the callee looked up last from here, and its node: */
    uint32_t last_child;        /* repeated calls cost one compare */
    uint64_t calls;
    int64_t total, own, largest;
    uint64_t peak;
} pmt__call_node;

typedef struct pmt__calls {
    pmt__call_node *nodes; /* node id n is nodes[n - 1] */
    size_t count, capacity;
    uint32_t *slots; /* open addressing over (parent, key): node ids, 0 = empty */
    size_t slot_count;
    uint64_t last_rss;               /* RSS at the last event charged, of any thread */
    struct pmt__shadow *last_shadow; /* the shadow of that event's thread (NULL: none yet) */
} pmt__calls;

/* A frame of a thread's shadow stack: what a return needs to charge its call. */
typedef struct pmt__shadow_frame {
    uint32_t node;
    int64_t own;      /* growth seen while it was the thread's innermost call */
    int64_t children; /* total growth of the calls it made */
    uint64_t peak;    /* highest RSS seen inside */
} pmt__shadow_frame;

/* A thread's shadow stack of the calls it entered while traced (frames entered before are not
 * on it: their returns find it empty and are not charged). */
typedef struct pmt__shadow {
    pmt__shadow_frame *frames;
    size_t depth, capacity;
    struct pmt__shadow *next; /* every shadow of a run, for freeing */
} pmt__shadow;

void pmt__calls_free(pmt__calls *calls);

/* A new run (rss: RSS at its start): every node's figures from 0; the nodes stay, so that calls
 * still open on a thread's shadow (a following child of fork) return to valid ids. */
void pmt__calls_start(pmt__calls *calls, uint64_t rss);

/* A call of the function key (file, function, line, flags describe it; key is unique per
 * function, e.g. its code object's entry) on the thread whose shadow this is, at RSS rss (the
 * change since the last event is the caller's). Allocates only for a new call path or a deeper
 * stack than ever; on failure the call is not charged. */
void pmt__calls_enter(pmt__calls *calls, pmt__shadow *shadow, const void *key, const char *file,
                      const char *function, int32_t line, uint32_t flags, uint64_t rss);

/* The return of the innermost call on the shadow, at RSS rss: its own growth and its total (own
 * plus its callees' totals) are added to its node. */
void pmt__calls_leave(pmt__calls *calls, pmt__shadow *shadow, uint64_t rss);

/* Any event on the thread of shadow: the change since the last event is the innermost call's of
 * the thread that had that event. */
static inline void pmt__calls_seen(pmt__calls *calls, pmt__shadow *shadow, uint64_t rss)
{
    int64_t change = (int64_t)(rss - calls->last_rss);
    pmt__shadow *ran = calls->last_shadow ? calls->last_shadow : shadow;
    calls->last_rss = rss;
    calls->last_shadow = shadow;
    if (ran->depth)
        ran->frames[ran->depth - 1].own += change; /* at the bottom of a stack: nobody's */
    if (shadow->depth && rss > shadow->frames[shadow->depth - 1].peak)
        shadow->frames[shadow->depth - 1].peak = rss;
}

/* Each node as a pmt_call_stats, in id order (a parent before its children). Stops at the first
 * non-zero result of fn and returns it. */
int pmt__calls_each(const pmt__calls *calls, pmt_call_stats_fn fn, void *user_data);

#endif
