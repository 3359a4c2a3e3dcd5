/**
 * @file tracer.h
 * @brief The tracer: watches one Python interpreter and sends its events through a filter to
 *        sinks.
 *
 * Typical use from an application that embeds Python, with the GIL held:
 * @code
 * pmt_tracer *t; pmt_sink *log;
 * pmt_tracer_create(&t);
 * pmt_tracer_set_param(t, PMT_PARAM_D_RSS_TRIGGER, -1);    // one page
 * pmt_sink_text_open(&log, "trace.log", NULL);
 * pmt_tracer_add_sink(t, log);                             // t owns log now
 * pmt_tracer_start(t);                                     // the interpreter this thread holds
 * PyRun_SimpleString("work()");
 * pmt_tracer_stop(t);
 * printf("%s\n", pmt_sink_path(log));
 * pmt_tracer_destroy(t);                                   // closes the log
 * @endcode
 *
 * @par Filters
 * Events pass a fixed order of filter stages (kind mask, code globs, maximum depth, time window,
 * 1 in N, RSS above, dRSS trigger, the caller's filter) before the sinks; event numbers count
 * every observed event, whichever stage drops it. doc/filters.md is the reference.
 *
 * @par Fork
 * A tracer belongs to the process that created it: in a child of fork() its copy never writes
 * the parent's logs, and #PMT_PARAM_ON_FORK says whether it falls silent or follows into logs of
 * the child's own. doc/children.md is the reference.
 *
 * @par Threads
 * A tracer sees every thread of its interpreter by default (#PMT_PARAM_THREADS). start, stop,
 * pause and resume are called with the GIL held; pmt_tracer_mark() may be called from any
 * thread and takes the GIL itself. Sinks are called with the GIL held, one event at a time.
 * doc/threads.md is the reference.
 *
 * @par Parameters
 * Each parameter's documentation ends with its default and bounds, as pmt_param_default() and
 * pmt_param_bounds() return them (a test compares the two).
 */
#ifndef PYMEMTRACE_TRACER_H
#define PYMEMTRACE_TRACER_H

#include <stdint.h>

#include <pymemtrace/event.h>
#include <pymemtrace/export.h>
#include <pymemtrace/rss.h>
#include <pymemtrace/sink.h>

PMT_BEGIN_DECLS

/** @brief An opaque tracer. */
typedef struct pmt_tracer pmt_tracer;

/**
 * @brief Tracer parameters, set with pmt_tracer_set_param(). Values are pinned; new
 *        parameters are only appended. Parameters are fixed once the tracer has started.
 */
typedef enum pmt_param {
    /**
     * Which events pass to the sinks by |RSS change| (bytes): -1 means one page, 0 means every
     * event, N > 0 means an event is written when |RSS - RSS of the last written event| >= N.
     * When events were skipped before a written one, the event just before it is written first
     * (#PMT_REASON_BEFORE). Start, stop and mark events are always written and never preceded
     * by such a row. Default: -1. Bounds: [-1, INT64_MAX].
     */
    PMT_PARAM_D_RSS_TRIGGER = 1,
    /**
     * Which event kinds to observe: an OR of PMT_EV_BIT(kind). Only kinds a hook can produce
     * count (CALL .. LINE); START, STOP and MARK are always on. 0 writes no Python event, for a
     * tracer of allocations only (#PMT_PARAM_ALLOCATORS): calls are still followed to charge
     * them, at less cost; pmt_tracer_start() refuses (#PMT_EINVAL) a tracer that would observe
     * nothing. Default: #PMT_EV_MASK_PROFILE. Bounds: [0, 2^PMT_EV_KIND_COUNT - 1].
     */
    PMT_PARAM_EVENT_MASK = 2,
    /**
     * How the default RSS provider reads RSS: a #pmt_rss_mode. A mode the process cannot use
     * makes pmt_tracer_start() fail with #PMT_ENOTSUP (AUTO falls back instead). Ignored when
     * pmt_tracer_set_rss_provider() installed a provider.
     * Default: #PMT_RSS_AUTO. Bounds: [#PMT_RSS_AUTO, #PMT_RSS_NONE].
     */
    PMT_PARAM_RSS_MODE = 3,
    /**
     * #PMT_RSS_INTERVAL: the longest time a value is reused; #PMT_RSS_FAULT_GATE: the longest
     * time without a re-read. Nanoseconds; 0 means 100000 for the interval and 1000000 for the
     * fault gate. Default: 0. Bounds: [0, 10^10].
     */
    PMT_PARAM_RSS_INTERVAL_NS = 4,
    /**
     * Filter stage "maximum depth": events whose depth (pmt_event.depth, the number of Python
     * frames on the thread's stack, the event's own included) is above this are dropped.
     * -1 means no limit. Default: -1. Bounds: [-1, INT32_MAX].
     */
    PMT_PARAM_MAX_DEPTH = 5,
    /**
     * Filter stage "1 in N": of the events that passed the stages before it, the first and
     * then every Nth is kept (1, N+1, 2N+1, ...). 1 keeps all. Default: 1.
     * Bounds: [1, INT64_MAX].
     */
    PMT_PARAM_SAMPLE_EVERY = 6,
    /**
     * Filter stage "time window", its start: events earlier than this many nanoseconds after
     * pmt_tracer_start() are dropped. Default: 0. Bounds: [0, INT64_MAX].
     */
    PMT_PARAM_TIME_FROM_NS = 7,
    /**
     * Filter stage "time window", its end: events this many nanoseconds or more after
     * pmt_tracer_start() are dropped. INT64_MAX means no end; a window that ends before it
     * starts drops every event. Default: INT64_MAX. Bounds: [0, INT64_MAX].
     */
    PMT_PARAM_TIME_UNTIL_NS = 8,
    /**
     * Filter stage "RSS above": only events whose RSS is at least this many bytes pass.
     * 0 passes all. Default: 0. Bounds: [0, INT64_MAX].
     */
    PMT_PARAM_RSS_ABOVE = 9,
    /**
     * Which threads are traced: a #pmt_threads_mode (doc/threads.md).
     * Default: #PMT_THREADS_ALL. Bounds: [#PMT_THREADS_ALL, #PMT_THREADS_CALLING].
     */
    PMT_PARAM_THREADS = 10,
    /**
     * What the tracer does in a child of fork(): a #pmt_fork_mode (doc/children.md).
     * Default: #PMT_FORK_STOP. Bounds: [#PMT_FORK_STOP, #PMT_FORK_FOLLOW].
     */
    PMT_PARAM_ON_FORK = 11,
    /**
     * The call aggregation and what written events carry of it (doc/user-terms.md): 0 turns it
     * off (pmt_tracer_call_stats() gives no row, events no user site); 1 keeps the aggregation
     * and gives each written event its user site (pmt_event.user_file, user_function,
     * user_line); 2 also gives each written event its call path (pmt_event.call_node), which
     * binary logs then store. Default: 1. Bounds: [0, 2].
     */
    PMT_PARAM_CALLS = 12,
    /**
     * The allocators whose calls become #PMT_EV_ALLOC, #PMT_EV_REALLOC and #PMT_EV_FREE events:
     * PMT_ALLOCATOR_BIT()s of #pmt_allocator (#PMT_ALLOCATORS_PYTHON for CPython's domains,
     * #PMT_ALLOCATORS_NATIVE for libc and mmap, which need the interposer: doc/allocations.md).
     * One tracer per process traces allocations at a time (#PMT_EBUSY at start otherwise).
     * Allocation events skip the dRSS trigger: each one that passes the allocation stages is
     * written. 0: none. Default: 0. Bounds: [0, 62].
     */
    PMT_PARAM_ALLOCATORS = 13,
    /**
     * Allocation stage: an allocation (or resize) of fewer bytes is not recorded, nor is the
     * free of its block. Default: 0. Bounds: [0, 2^40].
     */
    PMT_PARAM_ALLOC_MIN_SIZE = 14,
    /**
     * Allocation stage, byte sampling: 0 records every allocation; R > 0 records an allocation
     * of S bytes with probability 1 - exp(-S/R) (about S/R for small ones), so that a sampled
     * run's bytes estimate the whole's (doc/allocations.md), and the free of each recorded
     * block. Default: 0. Bounds: [0, 2^40].
     */
    PMT_PARAM_ALLOC_SAMPLE_BYTES = 15,
    /**
     * Object lifetimes per type, through CPython's reference tracer (3.13+; doc/objects.md):
     * 0 off; 1 counts the objects of heap types (classes made by Python code or heap types of
     * extensions: the builtins are left out); 2 counts the objects of every type. The
     * #PMT_FILTER_INCLUDE_TYPE and #PMT_FILTER_EXCLUDE_TYPE globs then choose among those.
     * Counts go to pmt_tracer_object_counts() and, as #PMT_EV_OBJECT_COUNT events, to the sinks
     * at every mark and at stop; #PMT_EV_MASK_OBJECTS in the event mask also writes an event per
     * object. One tracer per process counts objects at a time (#PMT_EBUSY); on CPython 3.10 to
     * 3.12 the start fails with #PMT_ENOTSUP. Default: 0. Bounds: [0, 2].
     */
    PMT_PARAM_OBJECTS = 16
} pmt_param;

/** @brief Values of #PMT_PARAM_THREADS. */
typedef enum pmt_threads_mode {
    /**
     * Every thread of the interpreter; on CPython 3.10 and 3.11, threads already running at
     * start are not reached (doc/threads.md).
     */
    PMT_THREADS_ALL = 0,
    /** Only the thread that called pmt_tracer_start() (pymemtrace's reference behaviour). */
    PMT_THREADS_CALLING = 1
} pmt_threads_mode;

/**
 * @brief Values of #PMT_PARAM_ON_FORK: what a tracer that exists when its process forks does in
 *        the child. In both, the child never writes the parent's logs (doc/children.md).
 */
typedef enum pmt_fork_mode {
    /**
     * The child's tracer is silent for good: it observes nothing and calls no sink again (not
     * even finish; close still runs when it is destroyed, to free what the sink holds). Its life
     * cycle goes on, so that code the parent and the child share needs no test: start, pause,
     * resume and mark succeed and write nothing; stop succeeds and releases the hooks. The hooks
     * are removed at the child's first call of this API with the tracer (or
     * pmt_tracer_after_fork()); until then each event costs one compare and is dropped.
     */
    PMT_FORK_STOP = 0,
    /**
     * The child's tracer carries on in logs of its own. Each file sink creates a file named
     * after the parent's with `.pid<PID>` (the child's process id) inserted before the extension
     * of the last path component: `trace.log` becomes `trace.pid12345.log`, `run` becomes
     * `run.pid12345`, and a grandchild's `trace.pid12345.pid12399.log`. The file is created as
     * pmt_sink_text_open() creates one (never overwriting: `_1`, ... follow the pid on a clash)
     * and starts with the header of a new run: the parent's message, the child's process id and
     * clock origin. The child's run starts where the child notices the fork: event numbers
     * restart at 0 with a #PMT_EV_START event (#PMT_REASON_FIRST) at that place and a mark
     * naming both processes; dRSS is against 0 again; the time window and the 1-in-N count
     * restart; the counters (pmt_tracer_get_stat()) count the child's run.
     *
     * Sinks follow as their pmt_sink_ops say: a sink with forget and reopen (the file sinks,
     * or a caller's) gets a destination of the child's own and is begun again; a sink without
     * forget (a plain callback) keeps receiving events, from that START event on, without a
     * second begin; a sink with forget but no reopen (a text sink on a caller's descriptor,
     * pmt_sink_text_fd()) stops in the child. A tracer that was stopped when the process
     * forked, or that the child destroys before it notices the fork, writes no child log. A
     * created tracer's file sinks get their child files when it notices; it may then be
     * started.
     */
    PMT_FORK_FOLLOW = 1
} pmt_fork_mode;

/** @brief #pmt_call_stats flag: the function is the user's code (not the standard library,
 *         site-/dist-packages, frozen or generated code, nor the tracer's own). */
#define PMT_CALL_USER_CODE 1u

/**
 * @brief RSS growth of one call path, from the tracer's in-process aggregation
 *        (pmt_tracer_call_stats()). Read-only; fields are only appended (check `struct_size`).
 *
 * Every call of a function reached through the same chain of callers is one node of a call tree.
 * A call's total is RSS at its return minus RSS at its entry; its own is that minus its callees'
 * totals. A generator or coroutine is charged per resumption: each run from a resume to the next
 * yield (or await) is one call, so its total is the growth while it ran, not while it waited.
 * Calls still running when the figures are read are not counted yet.
 */
typedef struct pmt_call_stats {
    uint32_t struct_size; /**< sizeof the struct as the library filled it. */
    uint32_t node;        /**< This path's id, from 1; a parent's is lower than its children's. */
    uint32_t parent;      /**< The caller's node, 0 for a call made from outside the trace. */
    uint32_t flags;       /**< #PMT_CALL_USER_CODE or 0. */
    const char *file;     /**< The function's file (as events name it; lives with the tracer). */
    const char *function; /**< Its qualified name. */
    int32_t line;         /**< Its first line. */
    uint32_t reserved0;   /**< Zero. */
    uint64_t calls;       /**< Calls that returned. */
    int64_t total;        /**< Sum of the calls' totals, bytes. */
    int64_t own;          /**< Sum of the calls' own growth, bytes. */
    int64_t largest;      /**< The largest total of one call, bytes. */
    uint64_t peak_rss;    /**< The highest RSS seen inside a call, bytes. */
} pmt_call_stats;

/**
 * @brief Receives one row of pmt_tracer_call_stats().
 * @param row The row; valid during the call (its strings as long as the tracer).
 * @param user_data What pmt_tracer_call_stats() was given.
 * @return 0 to go on, anything else to stop (pmt_tracer_call_stats() returns it).
 */
typedef int (*pmt_call_stats_fn)(const pmt_call_stats *row, void *user_data);

/** @brief Read-only counters of a tracer, read with pmt_tracer_get_stat(). */
typedef enum pmt_stat {
    PMT_STAT_EVENTS_SEEN = 1,    /**< Events seen, written or not (the next event number). */
    PMT_STAT_EVENTS_WRITTEN = 2, /**< Events delivered to the sinks. */
    PMT_STAT_SINKS_FAILED = 3,   /**< Sinks disabled because a callback failed. */
    PMT_STAT_RSS_ERRORS = 4,     /**< RSS reads that failed (the last value was reused). */
    /** Events given to sinks that failed and that their destinations do not hold: the sum of
     *  pmt_sink_counts.events_lost over the tracer's sinks. */
    PMT_STAT_EVENTS_LOST = 5,
    /** Allocator calls seen by the allocation source (before its stages). */
    PMT_STAT_ALLOCATIONS_SEEN = 6,
    /** Allocator calls that could not be recorded: made without the GIL, from a thread the
     *  interpreter does not know, or while the tracer itself was running. */
    PMT_STAT_ALLOCATIONS_UNTRACED = 7,
    /** Blocks recorded as allocated and not yet freed (the block table's size). */
    PMT_STAT_BLOCKS_LIVE = 8,
    /** Bytes of those blocks. */
    PMT_STAT_BLOCK_BYTES_LIVE = 9,
    /** free(NULL) and its kin: counted, not written. */
    PMT_STAT_FREES_OF_NULL = 10,
    /** Objects of the counted types made since start (#PMT_PARAM_OBJECTS). */
    PMT_STAT_OBJECTS_CREATED = 11,
    /** Objects of the counted types destroyed since start. */
    PMT_STAT_OBJECTS_DESTROYED = 12,
    /** Samples of the attached monitor (pmt_monitor_add_tracer()) written as #PMT_EV_SAMPLE. */
    PMT_STAT_SAMPLES_WRITTEN = 13,
    /** Samples of the attached monitor that found its hand-over queue full (the tracer saw no
     *  event for that long) and are not in the log; the monitor's own outputs have them. */
    PMT_STAT_SAMPLES_LOST = 14
} pmt_stat;

/** @brief The life cycle of a tracer. */
typedef enum pmt_tracer_state {
    PMT_STATE_CREATED = 0, /**< Created, parameters may be set. */
    PMT_STATE_RUNNING = 1, /**< Started and receiving events. */
    PMT_STATE_PAUSED = 2,  /**< Started but detached from the interpreter for a while. */
    PMT_STATE_STOPPED = 3  /**< Stopped for good; the log has its last row. */
} pmt_tracer_state;

/**
 * @brief Create a tracer with default parameters; its RSS provider is chosen at start
 *        (#PMT_PARAM_RSS_MODE) unless one is installed.
 * @param[out] out Receives the tracer.
 * @return #PMT_OK, #PMT_EINVAL, #PMT_ENOMEM.
 */
PMT_API int pmt_tracer_create(pmt_tracer **out);

/**
 * @brief Destroy a tracer and every sink it owns. A running tracer is stopped first (which
 *        needs the GIL).
 * @param tracer A tracer, or NULL (no-op).
 */
PMT_API void pmt_tracer_destroy(pmt_tracer *tracer);

/**
 * @brief Set a parameter.
 * @param tracer The tracer (not yet started).
 * @param param The parameter.
 * @param value The new value, within pmt_param_bounds().
 * @return #PMT_OK, #PMT_EINVAL (NULL or out of bounds), #PMT_ENOTSUP (unknown parameter),
 *         #PMT_ESTATE (the tracer has started).
 */
PMT_API int pmt_tracer_set_param(pmt_tracer *tracer, pmt_param param, int64_t value);

/**
 * @brief Read a parameter.
 * @param tracer The tracer.
 * @param param The parameter.
 * @param[out] out_value Receives the value.
 * @return #PMT_OK, #PMT_EINVAL, #PMT_ENOTSUP.
 */
PMT_API int pmt_tracer_get_param(const pmt_tracer *tracer, pmt_param param, int64_t *out_value);

/**
 * @brief The bounds of a parameter.
 * @param param The parameter.
 * @param[out] out_min Receives the smallest accepted value.
 * @param[out] out_max Receives the largest accepted value.
 * @return #PMT_OK, #PMT_EINVAL, #PMT_ENOTSUP (unknown parameter).
 */
PMT_API int pmt_param_bounds(pmt_param param, int64_t *out_min, int64_t *out_max);

/**
 * @brief The default of a parameter: the value a new tracer has. Bindings and command lines read
 *        defaults and bounds here, so that every front end agrees with the library.
 * @param param The parameter.
 * @param[out] out_value Receives the default.
 * @return #PMT_OK, #PMT_EINVAL (NULL output), #PMT_ENOTSUP (unknown parameter).
 */
PMT_API int pmt_param_default(pmt_param param, int64_t *out_value);

/**
 * @brief The name of the RSS provider a started tracer uses (the one
 *        pmt_tracer_set_rss_provider() installed, or the one #PMT_PARAM_RSS_MODE chose, e.g.
 *        "linux-fault-gate"), as its log headers record it.
 * @param tracer The tracer.
 * @return A string that lives as long as the tracer; NULL for NULL or a tracer not started.
 */
PMT_API const char *pmt_tracer_rss_provider_name(const pmt_tracer *tracer);

/**
 * @brief The tracer's call aggregation so far: one row per call path, parents first.
 *
 * Kept for every call and return the tracer observes (the kind mask and the stages before the
 * RSS read apply: calls they drop are charged to their callers), whether or not any event is
 * written. Call with the GIL held (it is updated by the hooks).
 * @param tracer A started (or stopped) tracer.
 * @param fn Called once per row.
 * @param user_data Passed to @p fn.
 * @return #PMT_OK, #PMT_EINVAL (NULL), or the first non-zero value @p fn returned.
 */
PMT_API int pmt_tracer_call_stats(const pmt_tracer *tracer, pmt_call_stats_fn fn, void *user_data);

/**
 * @brief The counts of one type of object (pmt_tracer_object_counts()). Read-only; fields are
 *        only appended (check `struct_size`).
 */
typedef struct pmt_type_count {
    size_t struct_size; /**< sizeof(pmt_type_count) of the library that filled it. */
    const char *name;   /**< The type's name (tp_name); lives as long as the tracer. */
    uint64_t created;   /**< Objects made since start. */
    uint64_t destroyed; /**< Objects destroyed since start (made before it or not). */
    int64_t live;       /**< created - destroyed. */
} pmt_type_count;

/**
 * @brief Receives one row of pmt_tracer_object_counts().
 * @param row The row; valid during the call only.
 * @param user_data What pmt_tracer_object_counts() was given.
 * @return 0 to go on, anything else to stop (pmt_tracer_object_counts() returns it).
 */
typedef int (*pmt_type_count_fn)(const pmt_type_count *row, void *user_data);

/**
 * @brief The object counts so far (#PMT_PARAM_OBJECTS): one row per type name that had an
 *        object made or destroyed, in the order the types were first seen. Call with the GIL
 *        held (the counts are updated by CPython's reference tracer).
 * @param tracer A started (or stopped) tracer.
 * @param fn Called once per row.
 * @param user_data Passed to @p fn.
 * @return #PMT_OK, #PMT_EINVAL (NULL), or the first non-zero value @p fn returned.
 */
PMT_API int pmt_tracer_object_counts(const pmt_tracer *tracer, pmt_type_count_fn fn,
                                     void *user_data);

/**
 * @brief How a started tracer receives the interpreter's events: "sys.monitoring" (CPython
 *        3.12+), "PyEval_SetProfile" (3.10/3.11, the C-level hooks resolved at run time), or
 *        "sys.setprofile" (3.10/3.11 when those are missing or PYMEMTRACE_LEGACY_HOOKS=sys is
 *        set: slower, and at the recursion limit CPython removes the hook; doc/threads.md).
 * @param tracer The tracer.
 * @return A static string; NULL for NULL or a tracer not running or paused.
 */
PMT_API const char *pmt_tracer_hook_name(const pmt_tracer *tracer);

/**
 * @brief Read a counter.
 * @param tracer The tracer.
 * @param stat The counter.
 * @param[out] out_value Receives its value.
 * @return #PMT_OK, #PMT_EINVAL, #PMT_ENOTSUP.
 */
PMT_API int pmt_tracer_get_stat(const pmt_tracer *tracer, pmt_stat stat, uint64_t *out_value);

/**
 * @brief The state of a tracer.
 * @param tracer The tracer.
 * @return A #pmt_tracer_state, or #PMT_EINVAL for NULL.
 */
PMT_API int pmt_tracer_state_of(const pmt_tracer *tracer);

/**
 * @brief Replace the RSS provider (before start). The previous provider is released.
 * @param tracer The tracer.
 * @param provider The provider; copied up to its `struct_size`. `read` is required.
 * @param user_data Passed to the provider's functions.
 * @return #PMT_OK, #PMT_EINVAL, #PMT_EVERSION, #PMT_ESTATE.
 */
PMT_API int pmt_tracer_set_rss_provider(pmt_tracer *tracer, const pmt_rss_provider *provider,
                                        void *user_data);

/**
 * @brief Add a sink (before start). On success the tracer owns the sink and destroys it; on
 *        failure the caller still owns it.
 * @param tracer The tracer (not yet started).
 * @param sink A sink that belongs to no tracer.
 * @return #PMT_OK, #PMT_EINVAL (NULL, or the sink already belongs to a tracer), #PMT_ENOMEM,
 *         #PMT_ESTATE.
 */
PMT_API int pmt_tracer_add_sink(pmt_tracer *tracer, pmt_sink *sink);

/**
 * @brief The globs of the code filter stage, and of the user-code rules of the call aggregation
 *        (kinds 5 and 6, which drop no event). Values are pinned; new kinds are only appended.
 *
 * An event passes the stage when its file passes and its function passes. A name passes when
 * it matches at least one include glob of its axis (or that axis has none) and no exclude
 * glob of its axis. The file of a C call, return or exception is the calling code's; its
 * function is the C function's qualified name (`list.append`), as the log shows them.
 */
typedef enum pmt_code_filter {
    PMT_FILTER_INCLUDE_FILE = 1,     /**< Keep only events whose file matches one such glob. */
    PMT_FILTER_EXCLUDE_FILE = 2,     /**< Drop events whose file matches the glob. */
    PMT_FILTER_INCLUDE_FUNCTION = 3, /**< Keep only events whose function matches one such glob. */
    PMT_FILTER_EXCLUDE_FUNCTION = 4, /**< Drop events whose function matches the glob. */
    /** Not a filter: files matching the glob are the user's code in the call aggregation
     *  (#PMT_CALL_USER_CODE), whatever the default rules say (doc/user-terms.md). */
    PMT_FILTER_USER_FILE = 5,
    /** Not a filter: files matching the glob are not the user's code (unless a
     *  #PMT_FILTER_USER_FILE glob matches too). */
    PMT_FILTER_NOT_USER_FILE = 6,
    /** Not a code filter: count (#PMT_PARAM_OBJECTS) only objects whose type name matches one
     *  such glob. */
    PMT_FILTER_INCLUDE_TYPE = 7,
    /** Not a code filter: do not count objects whose type name matches the glob (an exclude
     *  wins over an include). */
    PMT_FILTER_EXCLUDE_TYPE = 8
} pmt_code_filter;

/**
 * @brief Add a glob to the code filter stage (before start).
 *
 * Globs are fnmatch(3) patterns without flags, matched against the whole UTF-8 name: `*` any
 * run of characters (`/` included), `?` one character, `[a-z]`, `[!a-z]` or `[^a-z]` a set,
 * a backslash quotes the next character. Matching is case-sensitive. Names are matched once per
 * distinct (file, function) pair; later events with that pair cost one cache probe.
 *
 * @param tracer The tracer (not yet started).
 * @param kind Which list the glob joins.
 * @param glob The glob (UTF-8); copied.
 * @return #PMT_OK, #PMT_EINVAL (NULL, or an unknown kind), #PMT_ENOMEM, #PMT_ESTATE.
 */
PMT_API int pmt_tracer_add_code_filter(pmt_tracer *tracer, pmt_code_filter kind, const char *glob);

/**
 * @brief A caller's filter: decides whether an event that passed every other stage is written.
 * @param event The event as the sinks would receive it: numbered, timed, its RSS read, its
 *              reason (#PMT_REASON_TRIGGER, or #PMT_REASON_BEFORE for the event before a
 *              trigger) and its d_rss set. Valid during the call only.
 * @param user_data What pmt_tracer_set_filter() was given.
 * @return Non-zero to write the event, 0 to drop it. A dropped event is not written: the next
 *         written event's d_rss is against the last event that was.
 */
typedef int (*pmt_event_filter)(const pmt_event *event, void *user_data);

/**
 * @brief Install the caller's filter, the last stage before the sinks (before start).
 *
 * It runs on the hot path with the GIL held: it should be quick, and it must not call
 * functions of this tracer. Events that Python code run by it would cause are not traced.
 * Start, stop and mark events do not go through it.
 *
 * @param tracer The tracer (not yet started).
 * @param keep The filter, or NULL to remove it.
 * @param user_data Passed to @p keep.
 * @return #PMT_OK, #PMT_EINVAL (NULL tracer), #PMT_ESTATE.
 */
PMT_API int pmt_tracer_set_filter(pmt_tracer *tracer, pmt_event_filter keep, void *user_data);

/**
 * @brief Start tracing the interpreter the calling thread holds; writes the start event.
 *
 * On Python 3.12 and later the tracer registers `sys.monitoring` callbacks under a free tool
 * id; on 3.10 and 3.11 it installs a C function with `sys.setprofile` and/or `sys.settrace`
 * (replacing any profile/trace function of this thread until it stops).
 *
 * @param tracer A newly created tracer.
 * @return #PMT_OK, #PMT_EINVAL, #PMT_ESTATE (not newly created), #PMT_ENOTHREAD (no GIL held),
 *         #PMT_ENOTSUP (Python older than 3.10, or an RSS mode this process cannot use),
 *         #PMT_EIO (the RSS provider could not be opened), #PMT_EPYTHON (the Python error is
 *         left set).
 */
PMT_API int pmt_tracer_start(pmt_tracer *tracer);

/**
 * @brief Detach from the interpreter for a while (e.g. while a nested tracer runs). Events
 *        are neither seen nor numbered until pmt_tracer_resume().
 * @param tracer A running tracer.
 * @return #PMT_OK, #PMT_EINVAL, #PMT_ESTATE (not running), #PMT_ENOTHREAD, #PMT_EPYTHON.
 */
PMT_API int pmt_tracer_pause(pmt_tracer *tracer);

/**
 * @brief Re-attach a paused tracer.
 * @param tracer A paused tracer.
 * @return #PMT_OK, #PMT_EINVAL, #PMT_ESTATE (not paused), #PMT_ENOTHREAD, #PMT_EPYTHON.
 */
PMT_API int pmt_tracer_resume(pmt_tracer *tracer);

/**
 * @brief Stop tracing for good: detach, write the stop event and flush every sink.
 * @param tracer A running or paused tracer.
 * @return #PMT_OK, #PMT_EINVAL, #PMT_ESTATE (not running or paused), #PMT_ENOTHREAD,
 *         #PMT_EPYTHON.
 */
PMT_API int pmt_tracer_stop(pmt_tracer *tracer);

/**
 * @brief Write a user mark: an event of kind #PMT_EV_MARK carrying @p text, always written to
 *        every sink, with the RSS of the moment. In the text log each line of @p text becomes
 *        one `MSG:` row.
 * @par Thread safety: callable from any thread, holding the GIL or not: the mark takes the GIL
 *      (PyGILState_Ensure), so it is ordered with the events of every traced thread. A thread
 *      Python has never seen is given a thread state of the main interpreter for the call.
 * @param tracer A running or paused tracer.
 * @param text UTF-8 text.
 * @return #PMT_OK, #PMT_EINVAL, #PMT_ESTATE (not started, or stopped), #PMT_ENOTHREAD (Python
 *         is not initialized).
 */
PMT_API int pmt_tracer_mark(pmt_tracer *tracer, const char *text);

/**
 * @brief In a child of fork(), do now what #PMT_PARAM_ON_FORK says instead of at the tracer's
 *        next event: with #PMT_FORK_FOLLOW the child's logs exist (and pmt_sink_path() names
 *        them) when this returns; with #PMT_FORK_STOP the hooks are removed.
 *
 * Call it in the child with the GIL held, outside any hook, e.g. from an
 * `os.register_at_fork(after_in_child=...)` callback; never from a pthread_atfork() handler,
 * where the interpreter is not usable yet. In the process that created the tracer, and once done,
 * it does nothing.
 *
 * @param tracer The tracer.
 * @return #PMT_OK, #PMT_EINVAL, #PMT_ENOTHREAD, #PMT_EPYTHON (removing the hooks failed; the
 *         Python error is left set).
 */
PMT_API int pmt_tracer_after_fork(pmt_tracer *tracer);

PMT_END_DECLS

#endif /* PYMEMTRACE_TRACER_H */
