/**
 * @file reader.h
 * @brief Reading binary logs: header, events with their names, seeking, and where a damaged
 *        file stops being readable.
 *
 * @code
 * pmt_reader *r;
 * const pmt_event *ev;
 * if (pmt_reader_open(&r, "run.pmt") != PMT_OK) { puts(pmt_last_error_message()); return; }
 * while (pmt_reader_next(r, &ev) == 1)
 *     printf("%llu %s:%d %s %llu\n", (unsigned long long)ev->seq, ev->file, ev->line,
 *            ev->function, (unsigned long long)ev->rss);
 * if (pmt_reader_status(r, NULL, NULL) != PMT_OK) { ... the file was cut or damaged ... }
 * pmt_reader_close(r);
 * @endcode
 *
 * Malformed input never crashes a reader: every defect ends the iteration with a status and a
 * message naming the byte offset.
 */
#ifndef PYMEMTRACE_READER_H
#define PYMEMTRACE_READER_H

#include <stdint.h>

#include <pymemtrace/event.h>
#include <pymemtrace/export.h>
#include <pymemtrace/tracer.h>

PMT_BEGIN_DECLS

/** @brief An opaque reader of one binary log. */
typedef struct pmt_reader pmt_reader;

/**
 * @brief What a binary log's header records, and its summary when the log was closed cleanly.
 *        Read-only; fields are only appended (check `struct_size`).
 */
typedef struct pmt_log_info {
    uint32_t struct_size;        /**< sizeof the struct as the library filled it. */
    uint16_t format_major;       /**< Format version of the file. */
    uint16_t format_minor;       /**< Minor format version. */
    int64_t process_id;          /**< The traced process (0 if not recorded). */
    const char *library_version; /**< Version of the library that wrote it ("" if unknown). */
    const char *runtime;         /**< The traced runtime ("CPython 3.12.1"; "" if unknown). */
    const char *rss_provider;    /**< RSS provider ("" if unknown). */
    const char *message;         /**< The log's message, or NULL. */
    uint64_t clock_origin_ns;    /**< Monotonic clock at start. */
    uint64_t clock_units;        /**< Clock units per second (1e9: nanoseconds). */
    uint64_t start_realtime_ns;  /**< Wall clock at start, ns since the epoch (0 if unknown). */
    uint64_t d_rss_trigger;      /**< Trigger in bytes (0: every event). */
    uint64_t event_mask;         /**< Observed kinds (PMT_EV_BIT bits). */
    uint32_t compression;        /**< A pmt_compression. */
    uint32_t has_summary;        /**< 1 when the log was closed and the fields below are set. */
    uint64_t events_seen;        /**< Events seen by the tracer (numbered). */
    uint64_t events_written;     /**< Events in the file. */
    uint64_t peak_rss;           /**< Highest RSS among the events in the file. */
    uint64_t last_time_ns;       /**< Time of the last event. */
    const char *rss_accuracy;    /**< The RSS provider's accuracy contract ("" if unknown). */
    const char *filters;         /**< The filter stages (pmt_run_info.filters; "" if none). */
    int64_t interpreter_id;      /**< The traced interpreter (0: the main one, or not recorded);
                                      every event read carries it too. */
} pmt_log_info;

/**
 * @brief Open a binary log and read its header.
 * @param[out] out Receives the reader.
 * @param path The file.
 * @return #PMT_OK, #PMT_EINVAL, #PMT_ENOMEM, #PMT_EIO (cannot open or read), #PMT_EFORMAT (not
 *         a binary log, an unknown major version, or a damaged header).
 */
PMT_API int pmt_reader_open(pmt_reader **out, const char *path);

/**
 * @brief The header (and summary) of the log.
 * @param reader A reader, or NULL.
 * @return The info, owned by the reader and valid until pmt_reader_close(); NULL for NULL.
 */
PMT_API const pmt_log_info *pmt_reader_info(const pmt_reader *reader);

/**
 * @brief The next event, with `file`, `function` and `message` resolved.
 * @param reader The reader.
 * @param[out] out_event Receives the event, valid until the next call on this reader (its
 *             strings until pmt_reader_close()).
 * @return 1 for an event; 0 at the end of what is readable (see pmt_reader_status());
 *         #PMT_EINVAL for NULL arguments.
 */
PMT_API int pmt_reader_next(pmt_reader *reader, const pmt_event **out_event);

/**
 * @brief Position the reader so that the next event is the first with `seq >= seq`, reading
 *        only the names before it (never the events of earlier chunks).
 * @param reader The reader.
 * @param seq An event number.
 * @return #PMT_OK (also when no such event exists: the next call returns 0), #PMT_EINVAL, or the
 *         status of a damaged file.
 */
PMT_API int pmt_reader_seek_seq(pmt_reader *reader, uint64_t seq);

/**
 * @brief Position the reader so that the next event is the first with `time_ns >= time_ns`.
 * @param reader The reader.
 * @param time_ns A time on the events' clock.
 * @return As pmt_reader_seek_seq().
 */
PMT_API int pmt_reader_seek_time(pmt_reader *reader, uint64_t time_ns);

/**
 * @brief The call aggregation the log recorded when its tracer stopped (RSS growth per call
 *        path, total and own: pmt_tracer_call_stats()), once the reader has read past it: it
 *        follows the last events, so read them to the end first. A log whose writer was killed
 *        has none.
 * @param reader A reader.
 * @param fn Called once per row, parents first; the strings live as long as the reader.
 * @param user_data Passed to @p fn.
 * @return #PMT_OK (also with no rows), #PMT_EINVAL (NULL), or the first non-zero value @p fn
 *         returned.
 */
PMT_API int pmt_reader_call_stats(const pmt_reader *reader, pmt_call_stats_fn fn, void *user_data);

/**
 * @brief Why the reader stopped, once pmt_reader_next() returned 0.
 * @param reader The reader.
 * @param[out] out_offset Optional: the byte offset where reading stopped.
 * @param[out] out_reason Optional: a message ("end of log", "chunk at 1234: checksum
 *             mismatch", ...), owned by the reader.
 * @return #PMT_OK for a complete log, #PMT_ETRUNCATED when it ends early (a killed process),
 *         #PMT_EFORMAT when it is damaged, #PMT_EIO on a read error; #PMT_EINVAL for NULL.
 */
PMT_API int pmt_reader_status(const pmt_reader *reader, uint64_t *out_offset,
                              const char **out_reason);

/**
 * @brief Close a reader.
 * @param reader A reader, or NULL (no-op).
 */
PMT_API void pmt_reader_close(pmt_reader *reader);

PMT_END_DECLS

#endif /* PYMEMTRACE_READER_H */
