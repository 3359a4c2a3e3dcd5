/* The sink object shared by every kind of sink: a copied function table and its user data. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "tracer_internal.h"

int pmt_sink_create(pmt_sink **out, const pmt_sink_ops *ops, void *user_data)
{
    if (!out || !ops || !ops->write)
        return pmt__fail(PMT_EINVAL, "pmt_sink_create: NULL out, ops or ops->write");
    *out = NULL;
    if (ops->struct_size < offsetof(pmt_sink_ops, flush) || ops->struct_size > sizeof *ops)
        return pmt__fail(PMT_EVERSION, "pmt_sink_ops: unknown struct_size %u",
                         (unsigned)ops->struct_size);
    pmt_sink *sink = calloc(1, sizeof *sink);
    if (!sink)
        return pmt__fail(PMT_ENOMEM, "out of memory for a sink");
    pmt_sink_ops copy = PMT_SINK_OPS_INIT;
    memcpy(&copy, ops, ops->struct_size);
    copy.struct_size = sizeof copy;
    sink->ops = copy;
    sink->user_data = user_data;
    *out = sink;
    return PMT_OK;
}

const char *pmt_sink_path(const pmt_sink *sink)
{
    return sink ? sink->path : NULL;
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
    free(sink->path);
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
    if (os_error)
        pmt__fail_os(os_error, "the sink could not finish its log");
    return PMT_ECALLBACK;
}

void pmt_sink_destroy(pmt_sink *sink)
{
    /* A sink handed to a tracer is the tracer's to destroy. */
    if (sink && !sink->owned)
        pmt__sink_free(sink);
}
