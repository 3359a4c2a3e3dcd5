/**
 * @file pymemtrace.h
 * @brief Umbrella header of libpymemtrace: include this one.
 *
 * libpymemtrace records the resident set size (RSS) of a process at Python events (calls,
 * returns, lines, C calls, exceptions) so that memory growth can be attributed to the Python
 * code that caused it. See tracer.h for the main object.
 */
#ifndef PYMEMTRACE_PYMEMTRACE_H
#define PYMEMTRACE_PYMEMTRACE_H

#include <pymemtrace/export.h>
#include <pymemtrace/version.h>
#include <pymemtrace/error.h>
#include <pymemtrace/event.h>
#include <pymemtrace/rss.h>
#include <pymemtrace/sink.h>
#include <pymemtrace/tracer.h>
#include <pymemtrace/reader.h>
#include <pymemtrace/probes.h>
#include <pymemtrace/monitor.h>

#endif /* PYMEMTRACE_PYMEMTRACE_H */
