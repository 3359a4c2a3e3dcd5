/**
 * @file sink.h
 * @brief Sinks: where written events go.
 *
 * A tracer delivers every written event to each of its sinks in the order they were added. A
 * sink is created unattached, then handed to a tracer with pmt_tracer_add_sink(), which takes
 * ownership. A sink whose callback fails is disabled (the tracer and its other sinks go on) and
 * the failure is counted in #PMT_STAT_SINKS_FAILED (pmt_tracer_get_stat()), reported once on
 * stderr when the sink has a file, and kept in the sink's counts (pmt_sink_counts_get()).
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

struct pmt_call_stats; /* tracer.h */

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
    const char *rss_accuracy;    /**< The RSS provider's accuracy contract. */
    /** The filter stages in words, in stage order (tracer.h), e.g.
     *  `exclude_file=*.pyc max_depth=5 sample_every=10`; "" when no stage filters. A glob with
     *  a space, a quote, a backslash or a control character is written in double quotes with
     *  backslash escapes. */
    const char *filters;
    /** The traced interpreter (PyInterpreterState_GetID(): 0 for the main one). */
    int64_t interpreter_id;
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
    /** Optional: called once when the tracer starts, before the first event. The file,
     *  function and message strings of the events a tracer delivers after it live as long as
     *  the tracer (events given with pmt_sink_write() are valid during the call only). Return
     *  0, or a negative value to disable this sink. */
    int (*begin)(const pmt_run_info *info, void *user_data);
    /** Optional: write what ends the log (an EOF row, an index) and push everything out; called
     *  once, before close, unless the sink failed. Return 0, or a negative value. */
    int (*finish)(void *user_data);
    /**
     * Optional: the sink's destination belongs to the parent process. Called once in a child of
     * fork() (see #PMT_PARAM_ON_FORK), before any other call there: drop what is buffered
     * without writing it (the parent's copy of the sink writes it) and let go of the
     * destination without finishing it (close an own descriptor unwritten). After it, the sink
     * gets no call but close, unless @p reopen gives it a destination of the child's own.
     * A sink without forget is shared by both processes: in a following child it goes on
     * receiving the child's events, from the child's START event on, without a second begin.
     */
    void (*forget)(void *user_data);
    /**
     * Optional, with @p forget: in a child whose tracer follows (#PMT_FORK_FOLLOW), make a
     * destination of the child's own, e.g. a file named after the parent's with
     * @p child_pid in it. Return 0: begin is called again with the child's run before its
     * first event; a negative value, or no reopen, leaves the sink silent in the child.
     */
    int (*reopen)(int64_t child_pid, void *user_data);
    /** Optional: the path of the file the sink writes now (the child's after a reopen), for
     *  pmt_sink_path(); NULL if it has none. */
    const char *(*path)(void *user_data);
    /** Optional: the tracer's call aggregation so far (pmt_tracer_call_stats(): RSS growth per
     *  call path, total and own), given after each mark and when the tracer stops (after the
     *  stop event, before finish); the binary log stores it, a reader keeps the last. @p rows
     *  and their strings are valid during the call. Return 0, or a negative value to disable
     *  this sink. */
    int (*call_stats)(const struct pmt_call_stats *rows, size_t count, void *user_data);
    /** Optional: how many of the events given to @p write its destination holds so far (a
     *  file sink: those whose bytes were written to the file). Without it, every event whose
     *  write returned 0 counts as held (pmt_sink_counts). */
    uint64_t (*stored)(void *user_data);
} pmt_sink_ops;

/** @brief Initialiser for a #pmt_sink_ops with every function empty. */
#define PMT_SINK_OPS_INIT                                                                          \
    {                                                                                              \
        sizeof(pmt_sink_ops), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0                                         \
    }

/**
 * @brief What became of the events given to a sink, read with pmt_sink_counts_get(). Fields are
 *        only appended (check `struct_size`).
 *
 * A sink that fails (a full disk: ENOSPC; a file size limit: EFBIG; an I/O error; a callback
 * that returns a negative value) is disabled: the traced program and the other sinks go on. The
 * first failure of a sink with a file is also reported once on stderr, with the path, the error
 * and these counts. Until then, `events_given - events_stored` events are buffered, not lost.
 */
typedef struct pmt_sink_counts {
    uint32_t struct_size; /**< sizeof the struct as the library filled it. */
    /** 0 while the sink works; else #PMT_EIO (its file could not be written) or
     *  #PMT_ECALLBACK (a caller's function failed), for the failure that disabled it. */
    int32_t error;
    /** The errno of that failure for a file sink (ENOSPC, EFBIG, EIO, ...), else 0. */
    int32_t os_error;
    uint32_t reserved0;    /**< Zero. */
    uint64_t events_given; /**< Events the tracer (or pmt_sink_write()) gave the sink. */
    /** Of those, the events its destination holds: for a file sink, events whose bytes reached
     *  the file (a reader finds them there); for a caller's sink without a `stored` function,
     *  those whose write returned 0. */
    uint64_t events_stored;
    /** Events given that the destination will never hold: given minus stored once the sink has
     *  failed; 0 while it works. */
    uint64_t events_lost;
} pmt_sink_counts;

/**
 * @brief Read what became of the events given to a sink (also one a tracer owns, while the
 *        tracer lives).
 * @param sink The sink.
 * @param[out] out Filled up to its `struct_size`, which the caller sets (sizeof).
 * @return #PMT_OK, #PMT_EINVAL (NULL argument), #PMT_EVERSION (struct_size too small).
 * @par Thread safety: call with the GIL held while its tracer runs (the hooks update it).
 */
PMT_API int pmt_sink_counts_get(const pmt_sink *sink, pmt_sink_counts *out);

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
 * Once begun, rows are written through a shared mapping of the file's tail: each is in the file
 * when its event is written, so a process killed at any moment (SIGKILL, the OOM killer) loses
 * no row (the file then ends with the start of the row being written and zeros; finishing cuts
 * it after `EOF`). Where the file system cannot allocate the mapping's blocks, rows are buffered
 * in at most 64 KiB and written with `write(2)`, as pmt_sink_text_fd() does.
 *
 * @param[out] out Receives the sink.
 * @param path The file to create, or NULL for `YYMMDD_HHMMSS_PID.log` (UTC) in the current
 *             directory.
 * @param message Optional first line of the log (UTF-8), or NULL.
 * @return #PMT_OK, #PMT_EINVAL, #PMT_ENOMEM, or #PMT_EIO with pmt_last_os_error() set.
 */
PMT_API int pmt_sink_text_open(pmt_sink **out, const char *path, const char *message);

/**
 * @brief Create a sink writing the text log format to a descriptor the caller owns (a pipe,
 *        stdout). Rows are buffered as by pmt_sink_text_open(); the descriptor is not closed.
 * @param[out] out Receives the sink.
 * @param fd An open, writable descriptor.
 * @param message Optional first line of the log (UTF-8), or NULL.
 * @return #PMT_OK, #PMT_EINVAL (NULL out or negative fd), #PMT_ENOMEM, #PMT_EIO.
 */
PMT_API int pmt_sink_text_fd(pmt_sink **out, int fd, const char *message);

/** @brief Chunk compression of the binary log. Values are pinned. */
typedef enum pmt_compression {
    PMT_COMPRESS_NONE = 0, /**< Chunks stored as they are. */
    PMT_COMPRESS_ZSTD = 1, /**< zstd (the system's libzstd). */
    PMT_COMPRESS_LZ4 = 2   /**< lz4 block format (the system's liblz4). */
} pmt_compression;

/**
 * @brief Whether this build can write and read a compression.
 * @param compression A #pmt_compression.
 * @return 1 if supported, 0 if not.
 */
PMT_API int pmt_compression_supported(int compression);

/**
 * @brief Options of the binary sink. Initialise with #PMT_BINARY_OPTIONS_INIT; only fields
 *        covered by `struct_size` are read, 0 means the default.
 */
typedef struct pmt_binary_options {
    uint32_t struct_size;       /**< sizeof(pmt_binary_options). */
    uint32_t compression;       /**< A #pmt_compression; default none. */
    int32_t level;              /**< Codec level (zstd 1..19, lz4 acceleration); default 1. */
    uint32_t chunk_bytes;       /**< Raw bytes a chunk collects, 4 KiB..16 MiB; default 64 KiB. */
    uint32_t flush_interval_ms; /**< Write a chunk once it is this old; default 100. */
} pmt_binary_options;

/** @brief Initialiser for #pmt_binary_options with every default. */
#define PMT_BINARY_OPTIONS_INIT                                                                    \
    {                                                                                              \
        sizeof(pmt_binary_options), 0, 0, 0, 0                                                     \
    }

/**
 * @brief Create a sink writing the compact binary log (doc/format.md).
 *
 * File names, never overwritten, as pmt_sink_text_open() (default `YYMMDD_HHMMSS_PID.pmt`). The
 * sink interns file and function names and code locations once and writes events as small
 * delta-encoded records in checksummed chunks, each written with one `write(2)`. Once begun, the
 * records not yet in a chunk are kept in a live area, a shared mapping of the file's tail
 * (doc/format.md): a process killed at any moment loses no event, and a reader recovers them
 * after the last chunk. Without it (no room for its blocks) a killed process loses at most the
 * chunk being filled (`chunk_bytes` of records, or `flush_interval_ms` of them).
 *
 * @param[out] out Receives the sink.
 * @param path The file to create, or NULL for the default name in the current directory.
 * @param message Optional message recorded in the header (UTF-8), or NULL.
 * @param options Options, or NULL for the defaults.
 * @return #PMT_OK, #PMT_EINVAL, #PMT_EVERSION, #PMT_ENOTSUP (compression not built in),
 *         #PMT_ENOMEM, #PMT_EIO.
 */
PMT_API int pmt_sink_binary_open(pmt_sink **out, const char *path, const char *message,
                                 const pmt_binary_options *options);

/**
 * @brief The path of a file sink.
 * @param sink A sink, or NULL.
 * @return The path actually written (NUL-terminated, owned by the sink), or NULL for a sink that
 *         has no file.
 */
PMT_API const char *pmt_sink_path(const pmt_sink *sink);

/**
 * @brief Give one event to a sink that was not handed to a tracer, e.g. to convert a binary
 *        log read with pmt_reader_next() into a text log.
 * @param sink A sink that belongs to no tracer.
 * @param event The event.
 * @return #PMT_OK, #PMT_EINVAL (NULL, or the sink belongs to a tracer), #PMT_ECALLBACK (the
 *         sink failed; it is disabled).
 */
PMT_API int pmt_sink_write(pmt_sink *sink, const pmt_event *event);

/**
 * @brief Finish and destroy a sink that was not handed to a tracer, reporting whether its end
 *        reached the destination (the last buffered rows, EOF, the index).
 * @param sink A sink that belongs to no tracer.
 * @return #PMT_OK; #PMT_EINVAL (NULL, or the sink belongs to a tracer: nothing is done);
 *         #PMT_EIO when a file sink's write failed now (pmt_last_os_error() tells why);
 *         #PMT_ECALLBACK when the sink failed earlier, or a caller's sink failed. The sink is
 *         destroyed all the same.
 */
PMT_API int pmt_sink_close(pmt_sink *sink);

/**
 * @brief Destroy a sink that was not handed to a tracer: finish and close it, ignoring
 *        failures (see pmt_sink_close()).
 * @param sink A sink, or NULL (no-op).
 */
PMT_API void pmt_sink_destroy(pmt_sink *sink);

PMT_END_DECLS

#endif /* PYMEMTRACE_SINK_H */
