/* The run's facts for the sinks' begin (run_info.c). */
#ifndef PMT_CORE_RUN_INFO_H
#define PMT_CORE_RUN_INFO_H

#include "core/tracer_internal.h"

/* Fills *info from the tracer's resolved parameters, provider and source; strings live as long
 * as the tracer. */
void pmt__run_info_fill(pmt_tracer *tracer, pmt_run_info *info);

#endif
