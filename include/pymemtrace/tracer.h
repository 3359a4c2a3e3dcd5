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
 * @par Thread safety
 * A tracer is used by one thread at a time. start, stop, pause, resume and mark must be called
 * with the GIL of the traced interpreter held; sinks are called with it held too. Events come
 * from the thread that started the tracer.
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
     * Which events pass to the sinks by |RSS change| (bytes): -1 (default) means one page,
     * 0 means every event, N > 0 means an event is written when |RSS - RSS of the last
     * written event| >= N. When events were skipped before a written one, the event just
     * before it is written first (#PMT_REASON_BEFORE). Start, stop and mark events are always
     * written and never preceded by such a row. Bounds: [-1, INT64_MAX].
     */
    PMT_PARAM_D_RSS_TRIGGER = 1,
    /**
     * Which event kinds to observe: an OR of PMT_EV_BIT(kind). Default #PMT_EV_MASK_PROFILE.
     * Only kinds a hook can produce count (CALL .. LINE); START, STOP and MARK are always on.
     * Bounds: [1, 2^PMT_EV_KIND_COUNT - 1].
     */
    PMT_PARAM_EVENT_MASK = 2,
    /**
     * How the default RSS provider reads RSS: a #pmt_rss_mode, default #PMT_RSS_AUTO. A mode
     * the process cannot use makes pmt_tracer_start() fail with #PMT_ENOTSUP (AUTO falls back
     * instead). Ignored when pmt_tracer_set_rss_provider() installed a provider.
     * Bounds: [0, 4].
     */
    PMT_PARAM_RSS_MODE = 3,
    /**
     * #PMT_RSS_INTERVAL: the longest time a value is reused; #PMT_RSS_FAULT_GATE: the longest
     * time without a re-read. Nanoseconds; 0 (default) means 100000 for the interval and
     * 1000000 for the fault gate. Bounds: [0, 10^10].
     */
    PMT_PARAM_RSS_INTERVAL_NS = 4,
    /**
     * Which threads are traced: a #pmt_threads_mode, default #PMT_THREADS_ALL (every thread
     * of the tracer's interpreter, those already running and those started later).
     * Bounds: [0, 1].
     */
    PMT_PARAM_THREADS = 10
} pmt_param;

/** @brief Values of #PMT_PARAM_THREADS. */
typedef enum pmt_threads_mode {
    /**
     * Every thread of the interpreter. Each event carries its thread id and the depth of that
     * thread's stack; RSS and dRSS are the process's (RSS is per process, not per thread).
     * On CPython 3.10 and 3.11 (no sys.monitoring), threads that were already running when
     * the tracer started are not traced: the hook can only be installed in the calling thread
     * and in threads started later (threading.setprofile/settrace).
     */
    PMT_THREADS_ALL = 0,
    /** Only the thread that called pmt_tracer_start() (pymemtrace's reference behaviour). */
    PMT_THREADS_CALLING = 1
} pmt_threads_mode;

/** @brief Read-only counters of a tracer, read with pmt_tracer_get_stat(). */
typedef enum pmt_stat {
    PMT_STAT_EVENTS_SEEN = 1,    /**< Events seen, written or not (the next event number). */
    PMT_STAT_EVENTS_WRITTEN = 2, /**< Events delivered to the sinks. */
    PMT_STAT_SINKS_FAILED = 3,   /**< Sinks disabled because a callback failed. */
    PMT_STAT_RSS_ERRORS = 4      /**< RSS reads that failed (the last value was reused). */
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

PMT_END_DECLS

#endif /* PYMEMTRACE_TRACER_H */
