/* The sink object shared by every kind of sink: a copied function table and its user data. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

int pmt__sink_begin(pmt_sink *sink, const pmt_run_info *info)
{
    if (sink->failed || sink->begun)
        return sink->failed ? -1 : 0;
    sink->begun = 1;
    if (sink->ops.begin && sink->ops.begin(info, sink->user_data) < 0)
        sink->failed = 1;
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
    return 1;
}

int pmt__sink_flush(pmt_sink *sink)
{
    if (!sink->failed && sink->ops.flush && sink->ops.flush(sink->user_data) < 0)
        sink->failed = 1;
    return sink->failed ? -1 : 0;
}

/* Runs finish (or flush, for sinks without one); a failure marks the sink failed. */
static void finish(pmt_sink *sink)
{
    int (*end)(void *) = sink->ops.finish ? sink->ops.finish : sink->ops.flush;
    if (!sink->failed && !sink->finished && end && end(sink->user_data) < 0)
        sink->failed = 1;
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
    if (sink->ops.write(event, sink->user_data) < 0) {
        sink->failed = 1;
        return pmt__fail(PMT_ECALLBACK, "the sink's write failed; it is disabled");
    }
    return PMT_OK;
}

int pmt_sink_close(pmt_sink *sink)
{
    if (!sink || sink->owned)
        return pmt__fail(PMT_EINVAL, "pmt_sink_close: NULL, or the sink belongs to a tracer");
    errno = 0;
    finish(sink);
    int failed = sink->failed, os_error = errno;
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
