/* The sink object: a copied pmt_sink_ops and its user data, the same for built-in and callers'
 * sinks. The tracer and its fork handling call sinks only through these helpers. */
#ifndef PMT_CORE_SINK_INTERNAL_H
#define PMT_CORE_SINK_INTERNAL_H

#include <pymemtrace/sink.h>

struct pmt_sink {
    pmt_sink_ops ops;
    void *user_data;
    int owned;    /* handed to a tracer */
    int failed;   /* a callback failed (or the sink fell silent in a child): no calls but close */
    int finished; /* finish (or the final flush) has run */
    int begun;    /* begin has run for the current destination; a reopen starts a new one */
    /* pmt_sink_counts: events given (to write, or while it was disabled), writes that
     * returned 0 (what a sink without a stored op holds), and the failure that disabled it. */
    uint64_t given, writes_done;
    int error, os_error;
    int reported; /* the failure was reported on stderr */
    int is_file;  /* a built-in log file (or descriptor): its failures leave errno */
};

/* Declares a built-in file sink (text, binary): a failure is an I/O error with an errno, and is
 * reported on stderr. */
void pmt__sink_set_file(pmt_sink *sink);

/* One of the sink's callbacks failed just now (errno as it left it): the sink is disabled, the
 * failure kept (PMT_EIO and the errno for a file sink, PMT_ECALLBACK for a caller's), and a log
 * file's first failure reported once on stderr. */
void pmt__sink_failed_now(pmt_sink *sink);

/* Gives one event to the sink (counted); a failing write disables it. 0, or -1. Inline: every
 * written event, every sink. */
static inline int pmt__sink_write(pmt_sink *sink, const pmt_event *event)
{
    sink->given++;
    if (sink->ops.write(event, sink->user_data) < 0) {
        pmt__sink_failed_now(sink);
        return -1;
    }
    sink->writes_done++;
    return 0;
}

/* Calls begin once per destination; a failing sink is disabled. 0, or -1 when it failed. */
int pmt__sink_begin(pmt_sink *sink, const pmt_run_info *info);

/* In a child of fork: the sink lets go of the parent's destination (ops.forget), if it has one
 * of its own; sinks without forget are shared by both processes and are left alone. */
void pmt__sink_forget(pmt_sink *sink);

/* A following child's destination for a sink that forgot the parent's: 1, it has one and will be
 * begun with the child's run; 0, it cannot have one (no reopen: it stays silent); a failure
 * code: its reopen failed (it stays silent). */
int pmt__sink_reopen(pmt_sink *sink, long child_pid);

/* Flush; a failing sink is disabled. 0 or -1. */
int pmt__sink_flush(pmt_sink *sink);

/* Frees a sink: finish, close, free (the tracer's own sinks and unowned ones alike). */
void pmt__sink_free(pmt_sink *sink);

#endif
