/* The interval gate the RSS providers of every system share (rss_os.h): a read is due when the
 * interval has passed since the last one, so that between reads an event costs a compare of the
 * monotonic clock, no system call. */
#ifndef PMT_PLATFORM_INTERVAL_GATE_H
#define PMT_PLATFORM_INTERVAL_GATE_H

#include <stdint.h>

typedef struct pmt__interval_gate {
    uint64_t interval_ns, last_read_ns;
    int read_once;
} pmt__interval_gate;

/* 1 when a read is due at now_ns (and it is then taken as done), else 0. */
static inline int pmt__interval_due(pmt__interval_gate *g, uint64_t now_ns)
{
    if (g->read_once && now_ns - g->last_read_ns < g->interval_ns)
        return 0;
    g->read_once = 1;
    g->last_read_ns = now_ns;
    return 1;
}

#endif
