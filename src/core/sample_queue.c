/* A monitor's samples on their way to a tracer (sample_queue.h). */
#include "core/sample_queue.h"

#include <stdlib.h>
#include <string.h>

pmt__sample_queue *pmt__sample_queue_new(void)
{
    pmt__sample_queue *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    atomic_init(&q->head, 0);
    atomic_init(&q->tail, 0);
    atomic_init(&q->lost, 0);
    atomic_init(&q->open, 0);
    atomic_init(&q->finished, 0);
    atomic_init(&q->references, 2);
    return q;
}

static void drop_waiting(pmt__sample_queue *q)
{
    while (pmt__sample_queue_peek(q))
        pmt__sample_queue_pop(q);
}

void pmt__sample_queue_release(pmt__sample_queue *q)
{
    if (!q || atomic_fetch_sub_explicit(&q->references, 1, memory_order_acq_rel) != 1)
        return;
    drop_waiting(q);
    free(q);
}

int pmt__sample_queue_push(pmt__sample_queue *q, const pmt_sample *sample, uint64_t thread_id)
{
    if (!atomic_load_explicit(&q->open, memory_order_acquire))
        return 0;
    uint64_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
    if (head - atomic_load_explicit(&q->tail, memory_order_acquire) >= PMT__SAMPLE_QUEUE_SIZE) {
        atomic_fetch_add_explicit(&q->lost, 1, memory_order_relaxed);
        return 0;
    }
    pmt__queued_sample *e = &q->entries[head & (PMT__SAMPLE_QUEUE_SIZE - 1)];
    e->sample = *sample;
    e->sample.label = NULL;
    e->thread_id = thread_id;
    if (sample->label) {
        size_t n = strlen(sample->label) + 1;
        char *copy = malloc(n);
        if (copy) /* without memory the sample goes without its label */
            e->sample.label = memcpy(copy, sample->label, n);
    }
    atomic_store_explicit(&q->head, head + 1, memory_order_release);
    return 1;
}

pmt__queued_sample *pmt__sample_queue_peek(pmt__sample_queue *q)
{
    uint64_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    if (atomic_load_explicit(&q->head, memory_order_acquire) == tail)
        return NULL;
    return &q->entries[tail & (PMT__SAMPLE_QUEUE_SIZE - 1)];
}

void pmt__sample_queue_pop(pmt__sample_queue *q)
{
    uint64_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    pmt__queued_sample *e = &q->entries[tail & (PMT__SAMPLE_QUEUE_SIZE - 1)];
    free((char *)e->sample.label);
    e->sample.label = NULL;
    atomic_store_explicit(&q->tail, tail + 1, memory_order_release);
}

void pmt__sample_queue_set_open(pmt__sample_queue *q, int open)
{
    atomic_store_explicit(&q->open, open, memory_order_release);
    if (!open)
        drop_waiting(q);
}
