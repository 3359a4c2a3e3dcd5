/* The hand-over of a monitor's samples to a tracer (monitor.h pmt_monitor_add_tracer): a ring
 * with one producer (the monitor's thread) and one consumer at a time (the thread that runs the
 * tracer's event path: the GIL, or the embedder's own discipline, orders consumers). Neither side
 * takes a lock; the consumer's test for work is two loads. Shared by both sides and freed by the
 * last to let go of it. */
#ifndef PMT_CORE_SAMPLE_QUEUE_H
#define PMT_CORE_SAMPLE_QUEUE_H

#include <stdatomic.h>
#include <stdint.h>

#include <pymemtrace/monitor.h>

enum { PMT__SAMPLE_QUEUE_SIZE = 1024 }; /* a power of two: 102 s at the default 100 ms */

typedef struct pmt__queued_sample {
    pmt_sample sample;  /* sample.label is the entry's own copy (malloc), or NULL */
    uint64_t thread_id; /* the monitor's thread */
} pmt__queued_sample;

typedef struct pmt__sample_queue {
    _Atomic uint64_t head;  /* entries pushed (producer) */
    _Atomic uint64_t tail;  /* entries taken (consumer) */
    _Atomic uint64_t lost;  /* pushes that found the ring full */
    _Atomic int open;       /* the tracer takes samples (its run is on) */
    _Atomic int finished;   /* the monitor stopped: it pushes nothing more */
    _Atomic int references; /* the monitor and the tracer */
    pmt__queued_sample entries[PMT__SAMPLE_QUEUE_SIZE];
} pmt__sample_queue;

/* A queue with two references, closed. NULL when out of memory. */
pmt__sample_queue *pmt__sample_queue_new(void);

/* Lets go of one reference; the last frees the queue and the labels still in it. */
void pmt__sample_queue_release(pmt__sample_queue *q);

/* Producer: copies the sample (and its label) in when the queue is open; a full ring counts it
 * lost. Returns 1 when queued. */
int pmt__sample_queue_push(pmt__sample_queue *q, const pmt_sample *sample, uint64_t thread_id);

/* Consumer: is a sample waiting? */
static inline int pmt__sample_queue_ready(pmt__sample_queue *q)
{
    return atomic_load_explicit(&q->head, memory_order_acquire) !=
           atomic_load_explicit(&q->tail, memory_order_relaxed);
}

/* Consumer: the oldest waiting entry, or NULL; pmt__sample_queue_pop() once done with it. */
pmt__queued_sample *pmt__sample_queue_peek(pmt__sample_queue *q);

/* Consumer: frees the oldest entry's label and hands its place back to the producer. */
void pmt__sample_queue_pop(pmt__sample_queue *q);

/* Producer: no more pushes (the monitor stopped). */
static inline void pmt__sample_queue_finish(pmt__sample_queue *q)
{
    atomic_store_explicit(&q->finished, 1, memory_order_release);
}

/* Consumer: has the producer finished? (Its pushes before are visible then.) */
static inline int pmt__sample_queue_finished(pmt__sample_queue *q)
{
    return atomic_load_explicit(&q->finished, memory_order_acquire);
}

/* Consumer: opens (a run begins) or closes (it ends: waiting entries are dropped) the queue. */
void pmt__sample_queue_set_open(pmt__sample_queue *q, int open);

#endif
