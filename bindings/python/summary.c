/* LogReader.summarize(): the report's one pass over a binary log, in C (pymemtrace/report.py
 * does the same for text logs, and builds the page from either). Python makes an Event per event
 * at a few microseconds each; here an event costs its decoding and a few table updates, so that
 * the report of a log of tens of millions of events is made in seconds. What the report keeps of
 * the rare events (marks, collections, object counts, the last sample) still goes to Python as
 * Events or tuples. */
#include <stdlib.h>
#include <string.h>

#include "binding.h"

/* RSS over time in at most `points` buckets of equal duration (report.py's Timeline): a bucket
 * holds the lowest and highest RSS and the first event number; when the run outgrows them,
 * neighbours merge pairwise and the width doubles. */
typedef struct bucket {
    uint64_t low, high, first_seq;
    int used;
} bucket;

typedef struct timeline {
    bucket *buckets;
    size_t points;
    uint64_t width, origin, end;
    int started;
} timeline;

static void timeline_add(timeline *tl, uint64_t time_ns, uint64_t rss, uint64_t seq)
{
    if (!tl->started) {
        tl->origin = time_ns;
        tl->started = 1;
    }
    uint64_t t = time_ns > tl->origin ? time_ns - tl->origin : 0;
    tl->end = t > tl->end ? t : tl->end;
    while (t / tl->width >= tl->points) {
        for (size_t i = 0; i < tl->points; i++) {
            bucket *to = &tl->buckets[i / 2], from = tl->buckets[i];
            if (i % 2 == 0)
                *to = from;
            else if (from.used && to->used) {
                to->low = from.low < to->low ? from.low : to->low;
                to->high = from.high > to->high ? from.high : to->high;
                to->first_seq = from.first_seq < to->first_seq ? from.first_seq : to->first_seq;
            } else if (from.used)
                *to = from;
        }
        size_t kept = (tl->points + 1) / 2; /* buckets 0 .. (points - 1) / 2 hold the merged */
        memset(tl->buckets + kept, 0, (tl->points - kept) * sizeof *tl->buckets);
        tl->width *= 2;
    }
    bucket *b = &tl->buckets[t / tl->width];
    if (!b->used) {
        *b = (bucket){rss, rss, seq, 1};
    } else {
        b->low = rss < b->low ? rss : b->low;
        b->high = rss > b->high ? rss : b->high;
    }
}

/* Bytes per (file, function): the reader's names are interned (one pointer per name for the
 * reader's life), so the pair of pointers is the key. Open addressing, at most half full. */
typedef struct place {
    const char *file, *function;
    int64_t bytes;
} place;

typedef struct places {
    place *slots;
    size_t capacity, count;
} places;

static size_t place_hash(const char *file, const char *function, size_t capacity)
{
    uint64_t h = (uint64_t)(uintptr_t)file * UINT64_C(0x9E3779B97F4A7C15) ^
                 (uint64_t)(uintptr_t)function * UINT64_C(0xC2B2AE3D27D4EB4F);
    return (size_t)(h >> 17) & (capacity - 1);
}

static int places_add(places *p, const char *file, const char *function, int64_t bytes)
{
    if (2 * (p->count + 1) > p->capacity) {
        size_t capacity = p->capacity ? 2 * p->capacity : 256;
        place *slots = calloc(capacity, sizeof *slots);
        if (!slots)
            return -1;
        for (size_t i = 0; i < p->capacity; i++) {
            const place *old = &p->slots[i];
            if (!old->function)
                continue;
            size_t j = place_hash(old->file, old->function, capacity);
            while (slots[j].function)
                j = (j + 1) & (capacity - 1);
            slots[j] = *old;
        }
        free(p->slots);
        p->slots = slots;
        p->capacity = capacity;
    }
    size_t j = place_hash(file, function, p->capacity);
    while (p->slots[j].function && (p->slots[j].file != file || p->slots[j].function != function))
        j = (j + 1) & (p->capacity - 1);
    if (!p->slots[j].function) {
        p->slots[j] = (place){file, function, 0};
        p->count++;
    }
    p->slots[j].bytes += bytes;
    return 0;
}

static PyObject *text(const char *s)
{
    return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "backslashreplace");
}

/* [(file, function, bytes), ...] */
static PyObject *places_list(const places *p)
{
    PyObject *list = PyList_New(0);
    for (size_t i = 0; list && i < p->capacity; i++) {
        const place *s = &p->slots[i];
        if (!s->function)
            continue;
        PyObject *row =
            Py_BuildValue("(NNL)", text(s->file), text(s->function), (long long)s->bytes);
        if (!row || PyList_Append(list, row) != 0)
            Py_CLEAR(list);
        Py_XDECREF(row);
    }
    return list;
}

static PyObject *buckets_list(const timeline *tl)
{
    PyObject *list = PyList_New(0);
    for (size_t i = 0; list && i < tl->points; i++) {
        const bucket *b = &tl->buckets[i];
        if (!b->used)
            continue;
        PyObject *row =
            Py_BuildValue("(nKKK)", (Py_ssize_t)i, (unsigned long long)b->low,
                          (unsigned long long)b->high, (unsigned long long)b->first_seq);
        if (!row || PyList_Append(list, row) != 0)
            Py_CLEAR(list);
        Py_XDECREF(row);
    }
    return list;
}

static int count_in(PyObject *dict, PyObject *key, long long n)
{
    if (!key)
        return -1;
    PyObject *value = PyLong_FromLongLong(n);
    int rc = value ? PyDict_SetItem(dict, key, value) : -1;
    Py_XDECREF(value);
    Py_DECREF(key);
    return rc;
}

static int append_new(PyObject *list, PyObject *item)
{
    if (!item)
        return -1;
    int rc = PyList_Append(list, item);
    Py_DECREF(item);
    return rc;
}

typedef struct totals {
    uint64_t kinds[PMT_EV_KIND_COUNT + 1]; /* the last: kinds this version does not know */
    uint64_t sizes[65];                    /* by bit length of size - 1 (0 to 64) */
    uint64_t empty_blocks;                 /* of size 0 */
    uint64_t samples, sample_peak;
} totals;

PyObject *pmt_py_summarize(pmt_reader *reader, PyObject *event_type, PyObject *sample_type,
                           Py_ssize_t points)
{
    timeline tl = {calloc((size_t)points, sizeof(bucket)), (size_t)points, 1000, 0, 0, 0};
    places growth = {0}, allocated = {0};
    totals *t = calloc(1, sizeof *t);
    PyObject *marks = PyList_New(0), *gcs = PyList_New(0), *objects = PyDict_New();
    PyObject *last_sample = NULL, *result = NULL;
    if (!tl.buckets || !t || !marks || !gcs || !objects) {
        PyErr_NoMemory();
        goto done;
    }
    const pmt_event *ev;
    int rc;
    while ((rc = pmt_reader_next(reader, &ev)) == 1) {
        t->kinds[ev->kind < PMT_EV_KIND_COUNT ? ev->kind : PMT_EV_KIND_COUNT]++;
        if (ev->kind == PMT_EV_SAMPLE) { /* at the time it was taken: between the events */
            timeline_add(&tl, ev->sample ? ev->sample->time_ns : ev->time_ns, ev->rss, ev->seq);
            t->samples++;
            uint64_t peak = ev->sample ? ev->sample->peak_rss : 0;
            t->sample_peak = peak > t->sample_peak ? peak : t->sample_peak;
            Py_XDECREF(last_sample);
            if (!(last_sample = pmt_py_event_new(event_type, sample_type, ev)))
                goto done;
            continue;
        }
        timeline_add(&tl, ev->time_ns, ev->rss, ev->seq);
        switch (ev->kind) {
        case PMT_EV_MARK:
            if (append_new(marks, Py_BuildValue("(KN)", (unsigned long long)ev->time_ns,
                                                text(ev->message ? ev->message : ""))) != 0)
                goto done;
            break;
        case PMT_EV_GC_DONE:
            if (append_new(gcs, Py_BuildValue("(KiK)", (unsigned long long)ev->time_ns,
                                              (int)ev->gc_generation,
                                              (unsigned long long)ev->gc_duration_ns)) != 0)
                goto done;
            break;
        case PMT_EV_ALLOC:
        case PMT_EV_REALLOC: {
            if (places_add(&allocated, ev->file, ev->function, (int64_t)ev->size) != 0)
                goto no_memory;
            unsigned bits = 0;
            for (uint64_t v = ev->size ? ev->size - 1 : 0; v; v >>= 1)
                bits++;
            if (ev->size)
                t->sizes[bits]++;
            else
                t->empty_blocks++;
            break;
        }
        case PMT_EV_OBJECT_COUNT: {
            PyObject *counts =
                Py_BuildValue("(KKL)", (unsigned long long)ev->type_created,
                              (unsigned long long)ev->type_destroyed, (long long)ev->type_live);
            PyObject *name = text(ev->type_name ? ev->type_name : "");
            int failed = !counts || !name || PyDict_SetItem(objects, name, counts) != 0;
            Py_XDECREF(counts);
            Py_XDECREF(name);
            if (failed)
                goto done;
            break;
        }
        default:
            break;
        }
        if (ev->reason != PMT_REASON_FIRST && ev->reason != PMT_REASON_MESSAGE && ev->d_rss > 0 &&
            places_add(&growth, ev->file, ev->function, ev->d_rss) != 0)
            goto no_memory;
    }
    PyObject *kinds = PyDict_New(), *sizes = PyDict_New();
    int failed = !kinds || !sizes;
    for (int k = 0; !failed && k <= PMT_EV_KIND_COUNT; k++)
        if (t->kinds[k])
            failed = count_in(kinds, PyUnicode_FromString(pmt_event_kind_name(k)),
                              (long long)t->kinds[k]) != 0;
    for (unsigned b = 0; !failed && b <= 64; b++) /* report.py's key: 1 << bit_length(size-1) */
        if (t->sizes[b]) {
            PyObject *one = PyLong_FromLong(1), *shift = PyLong_FromLong((long)b);
            PyObject *key = one && shift ? PyNumber_Lshift(one, shift) : NULL;
            Py_XDECREF(one);
            Py_XDECREF(shift);
            failed = count_in(sizes, key, (long long)t->sizes[b]) != 0;
        }
    if (!failed && t->empty_blocks)
        failed = count_in(sizes, PyLong_FromLong(0), (long long)t->empty_blocks) != 0;
    if (!failed)
        result = Py_BuildValue(
            "{s:N,s:N,s:N,s:K,s:K,s:K,s:N,s:N,s:O,s:O,s:O,s:O,s:K,s:K}", "kinds", kinds, "sizes",
            sizes, "buckets", buckets_list(&tl), "width", (unsigned long long)tl.width, "origin",
            (unsigned long long)tl.origin, "end", (unsigned long long)tl.end, "growth",
            places_list(&growth), "allocated", places_list(&allocated), "marks", marks, "gcs", gcs,
            "objects", objects, "last_sample", last_sample ? last_sample : Py_None, "samples",
            (unsigned long long)t->samples, "sample_peak", (unsigned long long)t->sample_peak);
    else {
        Py_XDECREF(kinds);
        Py_XDECREF(sizes);
    }
    goto done;
no_memory:
    PyErr_NoMemory();
done:
    free(tl.buckets);
    free(growth.slots);
    free(allocated.slots);
    free(t);
    Py_XDECREF(marks);
    Py_XDECREF(gcs);
    Py_XDECREF(objects);
    Py_XDECREF(last_sample);
    return result;
}
