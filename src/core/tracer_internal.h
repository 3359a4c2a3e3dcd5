/* The tracer's private layout, shared by the core files and the event source. Never installed. */
#ifndef PMT_CORE_TRACER_INTERNAL_H
#define PMT_CORE_TRACER_INTERNAL_H

#include <pymemtrace/tracer.h>

#include "common/strings.h"
#include "core/blocks.h"
#include "core/calls.h"
#include "core/filter.h"
#include "core/object_types.h"
#include "core/sample_queue.h"
#include "core/sink_internal.h"
#include "core/source.h"
#include "platform/os.h"

/* An event as the pipeline keeps it until it is written, or not: what is only needed for a
 * written event (its line) is kept in the source's terms and resolved at delivery. */
typedef struct pmt__slot {
    pmt_event ev;
    const void *where; /* the source's place of the event (source ops line_at); NULL: ev.line */
    int32_t offset;
    int sited; /* the user site is filled (source ops site) */
    /* The call aggregation's shadow of the last charged thread and its depth at the event: the
     * event's own when that thread is the event's, so that a row written one event late (PREV)
     * still finds the calls it happened in. */
    const pmt__shadow *shadow;
    size_t shadow_depth;
} pmt__slot;

struct pmt_tracer {
    int state; /* pmt_tracer_state */

    /* Parameters. */
    int64_t trigger_param;
    uint64_t trigger_bytes; /* resolved at start: -1 becomes the page size */
    uint64_t event_mask;
    int64_t rss_mode;
    int64_t rss_interval_ns;
    int64_t threads_mode;   /* pmt_threads_mode */
    int64_t interpreter_id; /* set by the source at attach */
    int64_t max_depth;      /* -1: no limit */
    int64_t sample_every;   /* 1: every event */
    int64_t time_from_ns;   /* the window, relative to start; INT64_MAX: no end */
    int64_t time_until_ns;
    int64_t rss_above;
    int64_t calls_mode; /* PMT_PARAM_CALLS: 0 off, 1 aggregation and user sites, 2 call paths */
    int64_t allocators; /* PMT_PARAM_ALLOCATORS: PMT_ALLOCATOR_BIT()s */
    int64_t alloc_min_size;
    int64_t alloc_sample_bytes; /* 0: every allocation */
    int64_t objects_mode;       /* PMT_PARAM_OBJECTS: 0 off, 1 heap types, 2 every type */
    pmt__code_filter code_filter;
    pmt_event_filter keep; /* the caller's filter, or NULL */
    void *keep_user_data;
    char *filters; /* the stages in words (pmt_run_info.filters), made at start */

    /* Collaborators. */
    pmt_rss_provider rss;
    void *rss_user_data;
    uint64_t (*clock)(void *user_data); /* NULL: the monotonic clock, called directly */
    void *clock_user_data;
    pmt_sink **sinks;
    size_t sink_count;
    const pmt__source_ops *source;
    void *source_self; /* the source's own object, passed to each of its ops */
    void *source_state;
    pmt__strings strings;
    pmt__calls calls; /* the call aggregation (calls.c), fed by the source at calls and returns */
    char *own_code_prefix; /* files starting with this are the tracer's own: never reported */

    /* The filter's state: the event being built and the one before it, so that the event
     * before a trigger can be written with its own values. */
    pmt__slot slots[2];
    int current;
    int previous_valid;
    int previous_written;
    /* The event path's one test for its rare work: attention is nonzero while sinks run or
     * while a monitor is attached (C11 anonymous members: one 8-byte load tests both). */
    union {
        uint64_t attention;
        struct {
            int delivering;       /* sinks are running: events they cause are not traced */
            int monitor_attached; /* samples may wait in `samples` */
        };
    };
    uint64_t last_rss;         /* last value read from the provider */
    uint64_t last_written_rss; /* RSS of the last event delivered to the sinks */
    /* The stages' parameters as the hot path reads them, resolved at start. */
    uint64_t start_ns;     /* the clock at start: the time window's origin */
    int32_t depth_limit;   /* INT32_MAX: none */
    int window_on;         /* the window is not [0, no end) */
    uint64_t window_start; /* clock value where the window opens */
    uint64_t window_span;  /* its length; an event passes when now - window_start < this */
    uint64_t sample_left;  /* events still to drop before the 1-in-N stage keeps one */

    /* Allocation tracing (pmt__tracer_allocation): its own slot, so that an allocation written
     * between two events leaves the trigger's ring of two alone. */
    pmt__slot alloc_slot;
    pmt__blocks blocks;       /* the recorded blocks not yet freed */
    int64_t alloc_bytes_left; /* byte sampling: bytes until the next recorded allocation */
    /* The last allocation's user site and what it depended on: the next one at the same place,
     * with no call or return between, has the same (most come in runs). */
    struct {
        const char *file, *function;
        int32_t line;
        const pmt__shadow *shadow;
        size_t depth;
        uint64_t changes; /* calls.changes + 1 then; 0: nothing kept */
        const char *user_file, *user_function;
        int32_t user_line;
        uint32_t call_node;
    } alloc_site;
    uint64_t alloc_random; /* its generator's state */

    /* Object lifetimes (pmt__tracer_object): the counts per type, and a slot of their own. */
    pmt__object_types object_types;
    pmt__slot object_slot;

    /* The attached monitor's samples (pmt_monitor_add_tracer), written by the event path at the
     * next event: NULL when none is attached. A slot of their own: they leave the trigger's ring
     * and last_written_rss alone. */
    pmt__sample_queue *samples;
    pmt__slot sample_slot;
    const char *monitor_file, *monitor_name; /* the samples' place, interned at attach */
    uint64_t last_written_time; /* a sample's row is never earlier than the row before */
    uint64_t samples_written;

    /* Fork (fork.c). */
    int64_t on_fork;          /* pmt_fork_mode */
    uint64_t fork_generation; /* pmt__fork_generation() of the process the sinks write for */
    int fork_silent;          /* a child of fork that does not follow: writes nothing, ever */
    int fork_hooks_off;       /* ... and whose hooks are removed (or were never attached) */
    long owner_pid;           /* the process the logs are written for */

    /* Counters. */
    uint64_t seq;
    uint64_t written;
    uint64_t sinks_failed;
    uint64_t rss_errors;
    uint64_t allocations_seen;
    uint64_t allocations_untraced; /* made while the tracer ran, or where it cannot record */
    uint64_t frees_of_null;
    uint64_t objects_created, objects_destroyed; /* of the counted types */
};

/* Writes a message (a MARK) at the calling thread's location: the source tells the log about
 * something it could not trace (its hook was taken away). GIL held. */
void pmt__tracer_note(pmt_tracer *tracer, const char *text);

/* Declares the files of the tracer's own wrapper code (e.g. the Python package's directory):
 * their events keep depths right but are never reported. */
int pmt__tracer_set_own_code_prefix(pmt_tracer *tracer, const char *prefix);

/* Attaches q (NULL: lets go of the attached queue's reference): samples and monitor_attached
 * change together here only, so that the event path's `attention` word stays true. */
static inline void pmt__tracer_set_samples(pmt_tracer *tracer, pmt__sample_queue *q)
{
    pmt__sample_queue_release(tracer->samples);
    tracer->samples = q;
    tracer->monitor_attached = q != NULL;
}

/* Takes the samples a monitor pushes into q (monitor.c, pmt_monitor_add_tracer): the tracer
 * holds one of q's references from now on. Before the tracer stops; GIL held. */
int pmt__tracer_take_samples(pmt_tracer *tracer, pmt__sample_queue *q);

/* Replaces the clock (tests use a fake one). */
void pmt__tracer_set_clock(pmt_tracer *tracer, uint64_t (*clock)(void *), void *user_data);

/* The hot path: one observed event. file and function must be interned (live as long as the
 * tracer). Allocates nothing, formats nothing; a dropped event costs a few loads and compares
 * plus the RSS provider. */
void pmt__tracer_event(pmt_tracer *tracer, pmt_event_kind kind, const char *file,
                       const char *function, int32_t line, int32_t depth);

/* The same, for a source that keeps the code stage's answer per code object: selected is that
 * answer (pmt__tracer_code_selected(), asked once), so the pipeline does not look it up. An
 * event that is not selected must still come here: it is numbered. */
void pmt__tracer_event_selected(pmt_tracer *tracer, pmt_event_kind kind, int selected,
                                const char *file, const char *function, int32_t line,
                                int32_t depth);

/* The same again, with the line left to the source: where and offset are the source's own terms
 * for the event's place (a code object's entry and an instruction offset), turned into a line by
 * its line_at op only if the event is written, so that the many events no stage writes never
 * pay for a line-table lookup. where must stay valid for the run. */
void pmt__tracer_event_at(pmt_tracer *tracer, pmt_event_kind kind, int selected, const char *file,
                          const char *function, const void *where, int32_t offset, int32_t depth);

/* An allocator call, as an allocation source reports it. */
typedef struct pmt__allocation {
    pmt_event_kind kind; /* PMT_EV_ALLOC, PMT_EV_REALLOC or PMT_EV_FREE */
    pmt_allocator allocator;
    uint64_t address;     /* the new block's for a realloc */
    uint64_t size;        /* ALLOC, REALLOC: the (new) size; FREE: ignored (the table knows it) */
    uint64_t old_address; /* REALLOC: the block resized */
} pmt__allocation;

/* The hot path of allocation events: the allocation stages (allocator, minimum size, byte
 * sampling, the block table), then the code, depth and time stages and the caller's filter, and
 * the sinks; no trigger. Allocations made while the tracer is at work (delivering) are counted,
 * never recorded. GIL held. */
void pmt__tracer_allocation(pmt_tracer *tracer, const pmt__allocation *a, const char *file,
                            const char *function, int32_t line, int32_t depth);

/* A garbage collection's start or end, as the source reports it. */
typedef struct pmt__gc {
    pmt_event_kind kind; /* PMT_EV_GC_START or PMT_EV_GC_DONE */
    int32_t generation;
    uint64_t collected, uncollectable, duration_ns; /* GC_DONE */
} pmt__gc;

/* A garbage collection event: written whenever its kind is in the event mask (no stage but the
 * mask, no trigger), with the RSS read now (before the collection for a start, after it for an
 * end), at the given place. GIL held. */
void pmt__tracer_gc(pmt_tracer *tracer, const pmt__gc *gc, const char *file, const char *function,
                    int32_t line, int32_t depth);

/* An object of a counted type made (PMT_EV_OBJECT_NEW) or about to be destroyed
 * (PMT_EV_OBJECT_DELETE), as the source reports it with its type's entry (object_types.h):
 * counted, then written when its kind is in the event mask and it passes the code, depth, time
 * and RSS stages and the caller's filter (no trigger). Objects made while the tracer is at work
 * (delivering) are not counted. GIL held; never calls Python. */
void pmt__tracer_object(pmt_tracer *tracer, pmt_event_kind kind, uint64_t address,
                        pmt__type_entry *type, const char *file, const char *function, int32_t line,
                        int32_t depth);

/* The count alone (pmt__tracer_object's first step), inline for the source's reference
 * callback, which runs for every object made or destroyed, counted or not: the call when the
 * object kinds are not in the event mask. Returns whether the object was counted. */
static inline int pmt__tracer_count_object(pmt_tracer *tracer, pmt_event_kind kind,
                                           pmt__type_entry *type)
{
    if (tracer->fork_generation != pmt__fork_counter || tracer->state != PMT_STATE_RUNNING ||
        tracer->delivering || !type->selected)
        return 0;
    if (kind == PMT_EV_OBJECT_NEW) {
        type->created++;
        tracer->objects_created++;
    } else {
        type->destroyed++;
        tracer->objects_destroyed++;
    }
    return 1;
}

/* Does the source need to know where each thread runs (an allocation's or an object's place)? */
static inline int pmt__tracer_tracks_places(const pmt_tracer *tracer)
{
    return tracer->allocators != 0 || (tracer->event_mask & PMT_EV_MASK_OBJECTS) != 0;
}

/* Is this allocator traced (PMT_PARAM_ALLOCATORS)? */
static inline int pmt__tracer_traces_allocator(const pmt_tracer *tracer, pmt_allocator a)
{
    return (tracer->allocators >> a) & 1;
}

/* The code stage's answer for events at file/function: 1 = they pass. Runs the globs (slow):
 * ask once per code object and keep the answer; the filters are fixed once the tracer has
 * started, and names live as long as the tracer, so it stays right for the run. */
int pmt__tracer_code_selected(pmt_tracer *tracer, const char *file, const char *function);

/* The same per axis, for events whose file and function come from different code objects (a C
 * call: the caller's file, the callee's name): PMT__CODE_FILE_OK and/or PMT__CODE_FUNCTION_OK
 * (filter.h). An event passes when its file's answer has the first and its function's the
 * second. */
int pmt__tracer_code_axes(pmt_tracer *tracer, const char *file, const char *function);

/* Is file the user's code for the call aggregation? The tracer's user-code globs decide, else
 * default_user (the source's rules). Runs globs: once per code object. */
int pmt__tracer_user_code(pmt_tracer *tracer, const char *file, int default_user);

/* Is this a copy of the tracer in a child of fork that has not dealt with it (or a silent
 * one)? One load and compare: the hot path asks at every event. */
static inline int pmt__tracer_forked(const pmt_tracer *tracer)
{
    return tracer->fork_generation != pmt__fork_counter;
}

/* Is kind observed by this tracer? Lets a source skip work for masked kinds. */
static inline int pmt__tracer_wants(const pmt_tracer *tracer, pmt_event_kind kind)
{
    return (tracer->event_mask >> kind) & 1u;
}

#endif
