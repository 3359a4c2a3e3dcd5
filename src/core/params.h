/* The parameter table (params.c): defaults, bounds, storage. */
#ifndef PMT_CORE_PARAMS_H
#define PMT_CORE_PARAMS_H

#include <stdint.h>

#include <pymemtrace/tracer.h>

/* Kinds a hook can produce (the event mask chooses among them), and the kinds always on. */
extern const uint64_t pmt__hook_kinds;
extern const uint64_t pmt__always_kinds;

/* Gives every parameter of a new tracer its default. */
void pmt__params_set_defaults(pmt_tracer *tracer);

#endif
