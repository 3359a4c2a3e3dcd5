/* What a tracer's copy does in a child of fork() (fork.c): it decides, the caller acts. */
#ifndef PMT_CORE_FORK_H
#define PMT_CORE_FORK_H

#include "core/tracer_internal.h"

typedef enum pmt__fork_verdict {
    PMT__FORK_DROP,        /* the tracer is silent in this process for good */
    PMT__FORK_NOT_STARTED, /* following, but the tracer was never started: nothing to run yet */
    PMT__FORK_NEW_RUN,     /* a following child's started tracer: its run starts here */
} pmt__fork_verdict;

/* The first look of a tracer's copy at a fork (pmt__tracer_forked() is true), GIL held: the
 * parent's destinations are let go of; then the tracer falls silent (PMT_FORK_STOP, or stopped)
 * or its sinks get destinations of the child's own. *parent_pid gets the parent's process id.
 * Never calls the pipeline: on PMT__FORK_NEW_RUN the caller starts the child's run. A silent
 * tracer keeps its stale generation, so that the hot path keeps dropping its events at its
 * first compare until its hooks are removed. */
pmt__fork_verdict pmt__fork_notice(pmt_tracer *tracer, long *parent_pid);

/* At destroy, a child that has not noticed the fork stays silent: no child log. */
void pmt__fork_silence(pmt_tracer *tracer);

#endif
