/**
 * @file monitor.h
 * @brief The RSS monitor: a thread of its own that samples the process's memory at a fixed
 *        interval, without the GIL and without Python (doc/monitor.md).
 *
 * Each sample has RSS and peak RSS, minor and major page faults, user and system CPU time and,
 * where the system has them, the anonymous / file / shared split of RSS and the cgroup's
 * `memory.current` and `memory.max`. Samples go to a JSON-lines file (one object per line, the
 * fields pymemtrace's `process.py` recorded) and/or a callback, from the monitor's thread.
 * Labels given from any thread land between samples: a label wakes the thread, which takes a
 * sample with it at once. Stopping wakes the thread too: it returns at once, not after a tick.
 */
#ifndef PYMEMTRACE_MONITOR_H
#define PYMEMTRACE_MONITOR_H

#include <stddef.h>
#include <stdint.h>

#include <pymemtrace/export.h>
#include <pymemtrace/tracer.h>

PMT_BEGIN_DECLS

/** @brief A monitor (opaque). */
typedef struct pmt_monitor pmt_monitor;

/** @brief One sample. Read-only; fields are only appended (check `struct_size`). */
typedef struct pmt_sample {
    size_t struct_size;      /**< sizeof(pmt_sample) of the library that filled it. */
    uint64_t seq;            /**< Sample number, from 0. */
    uint64_t time_ns;        /**< Monotonic clock (the tracers' clock). */
    uint64_t realtime_ns;    /**< Wall clock, ns since the epoch. */
    uint64_t rss;            /**< Resident set size, bytes. */
    uint64_t peak_rss;       /**< Peak resident set size, bytes. */
    uint64_t minor_faults;   /**< Page faults served without I/O, since the process started. */
    uint64_t major_faults;   /**< Page faults that needed I/O. */
    uint64_t user_cpu_ns;    /**< CPU time in user mode, all threads. */
    uint64_t system_cpu_ns;  /**< CPU time in the kernel, all threads. */
    uint64_t rss_anon;       /**< Anonymous resident bytes (0 where the system does not say). */
    uint64_t rss_file;       /**< File-backed resident bytes (0 likewise). */
    uint64_t rss_shmem;      /**< Shared-memory resident bytes (0 likewise). */
    uint64_t cgroup_current; /**< The cgroup's memory.current (0 when there is none). */
    uint64_t cgroup_max;     /**< Its memory.max; UINT64_MAX for "max" or none. */
    const char *label;       /**< The label this sample was taken for, or NULL. */
} pmt_sample;

/**
 * @brief Receives each sample, on the monitor's thread (no GIL held).
 * @return 0 to go on; anything else stops further calls (the samples go on to the file).
 */
typedef int (*pmt_sample_fn)(const pmt_sample *sample, void *user_data);

/**
 * @brief Create a monitor (not started): interval 100 ms, no output.
 * @param[out] out The new monitor.
 * @return #PMT_OK, #PMT_EINVAL, #PMT_ENOMEM.
 */
PMT_API int pmt_monitor_create(pmt_monitor **out);

/**
 * @brief Set the interval between samples (before start).
 * @param monitor The monitor.
 * @param interval_ns Nanoseconds. Bounds: [1 ms, 1 hour].
 * @return #PMT_OK, #PMT_EINVAL (NULL, out of bounds), #PMT_ESTATE (started).
 */
PMT_API int pmt_monitor_set_interval_ns(pmt_monitor *monitor, uint64_t interval_ns);

/**
 * @brief Write the samples as JSON lines to a new file (before start). The file must not
 *        exist; it is created 0600.
 * @param monitor The monitor.
 * @param path The file's path.
 * @return #PMT_OK, #PMT_EINVAL, #PMT_EIO (with the system's error), #PMT_ESTATE.
 */
PMT_API int pmt_monitor_open_jsonl(pmt_monitor *monitor, const char *path);

/**
 * @brief Give each sample to @p fn on the monitor's thread (before start).
 * @param monitor The monitor.
 * @param fn The callback (NULL: none).
 * @param user_data Passed to @p fn.
 * @return #PMT_OK, #PMT_EINVAL, #PMT_ESTATE.
 */
PMT_API int pmt_monitor_set_callback(pmt_monitor *monitor, pmt_sample_fn fn, void *user_data);

/**
 * @brief Also give each sample to @p tracer, whose sinks write it as a #PMT_EV_SAMPLE event
 *        beside the events (before the monitor starts; doc/monitor.md).
 *
 * The monitor's thread hands the sample over through a queue without a lock; the thread that
 * runs the tracer writes it at its next event, mark or stop, with the time the sample was taken
 * (or the row before's, if later) and the label as its message. Samples are taken only while the
 * tracer's run is on (from its start, or now, to its stop). A tracer that sees no event for
 * longer than 1024 samples loses the next ones (#PMT_STAT_SAMPLES_LOST); the monitor's file and
 * callback still have them. A child of fork drops the parent's samples (the monitor does not run
 * there). Call it from a thread that may call the tracer (GIL held).
 * @param monitor The monitor, not started.
 * @param tracer A tracer not stopped, that takes no other monitor's samples. The monitor and the
 *        tracer may be destroyed in either order.
 * @return #PMT_OK, #PMT_EINVAL, #PMT_ESTATE (the monitor started, the tracer stopped),
 *         #PMT_EBUSY (either is attached to another), #PMT_ENOMEM, or the tracer's thread check.
 */
PMT_API int pmt_monitor_add_tracer(pmt_monitor *monitor, pmt_tracer *tracer);

/**
 * @brief Start the thread; its first sample is taken at once.
 * @param monitor The monitor.
 * @return #PMT_OK, #PMT_EINVAL, #PMT_ESTATE (started before), #PMT_ENOTSUP (no sampler for
 *         this system), #PMT_EIO (the thread could not be made).
 */
PMT_API int pmt_monitor_start(pmt_monitor *monitor);

/**
 * @brief A label for the next sample, taken now (from any thread; the text is copied).
 * @param monitor The monitor.
 * @param text The label (UTF-8).
 * @return #PMT_OK, #PMT_EINVAL, #PMT_ESTATE (not running), #PMT_ENOMEM.
 */
PMT_API int pmt_monitor_label(pmt_monitor *monitor, const char *text);

/**
 * @brief Stop: the thread takes a last sample and ends; returns when it has, at once. In a child
 *        of fork, the copy stops without waiting (the thread is the parent's).
 * @param monitor The monitor.
 * @return #PMT_OK, #PMT_EINVAL, #PMT_ESTATE (not running), #PMT_EIO (the file could not be
 *         written at some point: the samples before stay readable).
 */
PMT_API int pmt_monitor_stop(pmt_monitor *monitor);

/**
 * @brief Samples taken so far.
 * @param monitor The monitor.
 * @param[out] out The count.
 * @return #PMT_OK, #PMT_EINVAL.
 */
PMT_API int pmt_monitor_samples(const pmt_monitor *monitor, uint64_t *out);

/**
 * @brief Stop (if running) and free the monitor.
 * @param monitor The monitor, or NULL.
 */
PMT_API void pmt_monitor_destroy(pmt_monitor *monitor);

PMT_END_DECLS

#endif /* PYMEMTRACE_MONITOR_H */
