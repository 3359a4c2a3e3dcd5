/**
 * @file sink.h
 * @brief Sinks: where written events go.
 *
 * A tracer delivers every written event to each of its sinks in the order they were added. A
 * sink is created unattached, then handed to a tracer with pmt_tracer_add_sink(), which takes
 * ownership. A sink whose callback fails is disabled (the tracer and its other sinks go on) and
 * the failure is counted in #PMT_STAT_SINKS_FAILED (pmt_tracer_get_stat()).
 */
#ifndef PYMEMTRACE_SINK_H
#define PYMEMTRACE_SINK_H

#include <stddef.h>
#include <stdint.h>

#include <pymemtrace/event.h>
#include <pymemtrace/export.h>

PMT_BEGIN_DECLS

/** @brief An opaque sink. */
typedef struct pmt_sink pmt_sink;

/**
 * @brief What a sink is told once, when its tracer starts: the facts a log header records.
 *        Read-only; fields are only appended (check `struct_size`).
 */
typedef struct pmt_run_info {
    uint32_t struct_size;        /**< sizeof the struct as the library filled it. */
    uint32_t reserved0;          /**< Zero. */
    uint64_t event_mask;         /**< Observed kinds, PMT_EV_BIT(kind) bits. */
    uint64_t d_rss_trigger;      /**< The trigger in bytes, resolved (0 = every event). */
    uint64_t start_time_ns;      /**< Monotonic clock at start: the events' time origin. */
    uint64_t start_realtime_ns;  /**< Wall clock at start, ns since the Unix epoch. */
    int64_t process_id;          /**< The traced process. */
    const char *library_version; /**< pmt_version_string(). */
    const char *rss_provider;    /**< Name of the RSS provider ("linux-statm"). */
    const char *runtime;         /**< The traced runtime ("CPython 3.12.1"). */
} pmt_run_info;

/**
 * @brief The functions of a caller-defined sink. The library copies the struct; only fields
 *        covered by `struct_size` are read. Initialise with #PMT_SINK_OPS_INIT.
 */
typedef struct pmt_sink_ops {
    /** Set to sizeof(pmt_sink_ops) (done by #PMT_SINK_OPS_INIT). */
    uint32_t struct_size;
    /** Required: take one event. Return 0, or a negative value to disable this sink. */
    int (*write)(const pmt_event *event, void *user_data);
    /** Optional: push buffered data to its destination. Return 0 or a negative value. */
    int (*flush)(void *user_data);
    /** Optional: called exactly once, when the sink is destroyed. */
    void (*close)(void *user_data);
    /** Optional: called once when the tracer starts, before the first event. Return 0, or a
     *  negative value to disable this sink. */
    int (*begin)(const pmt_run_info *info, void *user_data);
} pmt_sink_ops;

/** @brief Initialiser for a #pmt_sink_ops with every function empty. */
#define PMT_SINK_OPS_INIT                                                                          \
    {                                                                                              \
        sizeof(pmt_sink_ops), 0, 0, 0, 0                                                           \
    }

/**
 * @brief Create a sink from caller-supplied functions.
 * @param[out] out Receives the sink.
 * @param ops The functions; copied. `ops->write` is required.
 * @param user_data Passed to every function.
 * @return #PMT_OK, #PMT_EINVAL, #PMT_EVERSION (struct_size unknown), #PMT_ENOMEM.
 */
PMT_API int pmt_sink_create(pmt_sink **out, const pmt_sink_ops *ops, void *user_data);

/**
 * @brief Create a sink writing pymemtrace's text log format.
 *
 * The file is created with mode 0600, exclusively, without following a symbolic link in the
 * last component. An existing file is never overwritten: `_1`, `_2`, ... is inserted before the
 * extension until a free name is found; pmt_sink_path() returns the name actually used.
 *
 * Rows are buffered in at most 64 KiB and written with `write(2)` when the buffer is full, when
 * a row comes one second or more after the last write, at every mark, at pause and at stop: a
 * process killed at any moment (SIGKILL) loses at most the last 64 KiB of rows.
 *
 * @param[out] out Receives the sink.
 * @param path The file to create, or NULL for `YYMMDD_HHMMSS_PID.log` (UTC) in the current
 *             directory.
 * @param message Optional first line of the log (UTF-8), or NULL.
 * @return #PMT_OK, #PMT_EINVAL, #PMT_ENOMEM, or #PMT_EIO with pmt_last_os_error() set.
 */
PMT_API int pmt_sink_text_open(pmt_sink **out, const char *path, const char *message);

/**
 * @brief The path of a file sink.
 * @param sink A sink, or NULL.
 * @return The path actually written (NUL-terminated, owned by the sink), or NULL for a sink that
 *         has no file.
 */
PMT_API const char *pmt_sink_path(const pmt_sink *sink);

/**
 * @brief Destroy a sink that was not handed to a tracer: flush and close it.
 * @param sink A sink, or NULL (no-op).
 */
PMT_API void pmt_sink_destroy(pmt_sink *sink);

PMT_END_DECLS

#endif /* PYMEMTRACE_SINK_H */
