/* The facts of a run that sinks are given at begin and log headers record. */
#include <string.h>

#include <pymemtrace/version.h>

#include "core/run_info.h"
#include "platform/os.h"

void pmt__run_info_fill(pmt_tracer *t, pmt_run_info *out)
{
    const char *runtime =
        t->source->runtime ? t->source->runtime(t->source_self, t, t->source_state) : NULL;
    pmt_run_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    info.event_mask = t->event_mask;
    info.d_rss_trigger = t->trigger_bytes;
    info.start_time_ns = t->start_ns;
    info.start_realtime_ns = pmt__realtime_ns();
    info.process_id = pmt__process_id();
    info.library_version = pmt_version_string();
    info.rss_provider = t->rss.name ? t->rss.name : "custom";
    info.rss_accuracy = t->rss.accuracy ? t->rss.accuracy : "as its provider says";
    info.runtime = runtime ? runtime : "unknown";
    info.filters = t->filters;
    info.interpreter_id = t->interpreter_id;
    *out = info;
}
