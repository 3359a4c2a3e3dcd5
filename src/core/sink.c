/* The sink object shared by every kind of sink: a copied function table and its user data. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/struct_copy.h"
#include "core/sink_internal.h"

int pmt_sink_create(pmt_sink **out, const pmt_sink_ops *ops, void *user_data)
{
    if (!out || !ops || !ops->write)
        return pmt__fail(PMT_EINVAL, "pmt_sink_create: NULL out, ops or ops->write");
    *out = NULL;
    pmt_sink_ops copy = PMT_SINK_OPS_INIT;
    int rc = PMT__STRUCT_COPY(&copy, ops, offsetof(pmt_sink_ops, flush), "pmt_sink_ops");
    if (rc != PMT_OK)
        return rc;
    pmt_sink *sink = calloc(1, sizeof *sink);
    if (!sink)
        return pmt__fail(PMT_ENOMEM, "out of memory for a sink");
    sink->ops = copy;
    sink->user_data = user_data;
    *out = sink;
    return PMT_OK;
}

const char *pmt_sink_path(const pmt_sink *sink)
{
    return sink && sink->ops.path ? sink->ops.path(sink->user_data) : NULL;
}

/* Events the destination holds so far. */
static uint64_t stored(const pmt_sink *sink)
{
    return sink->ops.stored ? sink->ops.stored(sink->user_data) : sink->writes_done;
}

void pmt__sink_set_file(pmt_sink *sink)
{
    sink->is_file = 1;
}

/* Disables the sink, keeps why, and reports a log file's first failure once on stderr. */
static void fail(pmt_sink *sink, int error, int os_error)
{
    if (sink->failed)
        return;
    sink->failed = 1;
    sink->error = error;
    sink->os_error = os_error;
    /* A log file the library made; a caller's descriptor is the caller's to report on (a
     * closed pipe can be the normal end: `pymemtrace dump LOG | head`). */
    const char *path = sink->is_file ? pmt_sink_path(sink) : NULL;
    if (!path || sink->reported)
        return;
    sink->reported = 1;
    char why[128] = "an I/O error";
    if (os_error)
        pmt__strerror(os_error, why, sizeof why);
    char text[1024];
    int n = snprintf(text, sizeof text,
                     "pymemtrace: cannot write %s: %s (errno %d). It holds %llu of the %llu "
                     "events given to it; the events after those are lost. The traced program "
                     "goes on.\n",
                     path, why, os_error, (unsigned long long)stored(sink),
                     (unsigned long long)sink->given);
    if (n > 0) /* one write, no stdio: the program's own stderr buffer is left alone */
        (void)!write(2, text, (size_t)n < sizeof text ? (size_t)n : sizeof text - 1);
}

void pmt__sink_failed_now(pmt_sink *sink)
{
    /* A file sink's failed write leaves errno; a caller's callback says nothing about it. */
    int err = errno;
    fail(sink, sink->is_file ? PMT_EIO : PMT_ECALLBACK, sink->is_file ? err : 0);
}

int pmt_sink_counts_get(const pmt_sink *sink, pmt_sink_counts *out)
{
    if (!sink || !out)
        return pmt__fail(PMT_EINVAL, "pmt_sink_counts_get: NULL sink or out");
    if (out->struct_size < offsetof(pmt_sink_counts, events_lost) + sizeof out->events_lost)
        return pmt__fail(PMT_EVERSION, "pmt_sink_counts_get: struct_size %u is too small",
                         (unsigned)out->struct_size);
    uint64_t held = stored(sink);
    out->struct_size = sizeof *out;
    out->error = sink->error;
    out->os_error = sink->os_error;
    out->reserved0 = 0;
    out->events_given = sink->given;
    out->events_stored = held;
    out->events_lost = sink->error && sink->given > held ? sink->given - held : 0;
    return PMT_OK;
}

int pmt__sink_begin(pmt_sink *sink, const pmt_run_info *info)
{
    if (sink->failed || sink->begun)
        return sink->failed ? -1 : 0;
    sink->begun = 1;
    if (sink->ops.begin && sink->ops.begin(info, sink->user_data) < 0)
        pmt__sink_failed_now(sink);
    return sink->failed ? -1 : 0;
}

void pmt__sink_forget(pmt_sink *sink)
{
    if (sink->ops.forget)
        sink->ops.forget(sink->user_data);
}

int pmt__sink_reopen(pmt_sink *sink, long child_pid)
{
    sink->failed = 1; /* until it has a destination of its own */
    if (!sink->ops.reopen)
        return 0;
    if (sink->ops.reopen((int64_t)child_pid, sink->user_data) < 0)
        return PMT_ECALLBACK;
    sink->failed = 0;
    sink->finished = 0;
    sink->begun = 0;
    sink->given = sink->writes_done = 0; /* the child's log counts its own */
    sink->error = sink->os_error = sink->reported = 0;
    return 1;
}

int pmt__sink_flush(pmt_sink *sink)
{
    if (!sink->failed && sink->ops.flush && sink->ops.flush(sink->user_data) < 0)
        pmt__sink_failed_now(sink);
    return sink->failed ? -1 : 0;
}

/* Runs finish (or flush, for sinks without one); a failure marks the sink failed. */
static void finish(pmt_sink *sink)
{
    int (*end)(void *) = sink->ops.finish ? sink->ops.finish : sink->ops.flush;
    if (!sink->failed && !sink->finished && end && end(sink->user_data) < 0)
        pmt__sink_failed_now(sink);
    sink->finished = 1;
}

void pmt__sink_free(pmt_sink *sink)
{
    if (!sink)
        return;
    finish(sink);
    if (sink->ops.close)
        sink->ops.close(sink->user_data);
    free(sink);
}

int pmt_sink_write(pmt_sink *sink, const pmt_event *event)
{
    if (!sink || !event || sink->owned)
        return pmt__fail(PMT_EINVAL, "pmt_sink_write: NULL, or the sink belongs to a tracer");
    if (sink->failed)
        return pmt__fail(PMT_ECALLBACK, "the sink failed earlier and is disabled");
    if (pmt__sink_write(sink, event) < 0) {
        if (sink->os_error)
            return pmt__fail_os(sink->os_error, "the sink could not write its log");
        return pmt__fail(PMT_ECALLBACK, "the sink's write failed; it is disabled");
    }
    return PMT_OK;
}

int pmt_sink_close(pmt_sink *sink)
{
    if (!sink || sink->owned)
        return pmt__fail(PMT_EINVAL, "pmt_sink_close: NULL, or the sink belongs to a tracer");
    errno = 0;
    int failed_before = sink->failed;
    finish(sink);
    int failed = sink->failed, os_error = failed_before ? 0 : sink->os_error;
    pmt__sink_free(sink);
    if (!failed)
        return PMT_OK;
    /* A file sink's write says why in errno: that is an I/O error, not a callback's. */
    if (os_error)
        return pmt__fail_os(os_error, "the sink could not finish its log");
    return pmt__fail(PMT_ECALLBACK, "the sink failed; its end did not reach its destination");
}

void pmt_sink_destroy(pmt_sink *sink)
{
    /* A sink handed to a tracer is the tracer's to destroy. */
    if (sink && !sink->owned)
        pmt__sink_free(sink);
}
