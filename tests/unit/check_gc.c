/* Garbage collection events without Python: written whenever their kind is in the event mask
 * (never otherwise, whatever the trigger), with their fields, through the binary log (kinds 13
 * and 14 behind the record's kind escape) and as text rows. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fakes.h"
#include "suites.h"

static void collect(pmt_tracer *t, fake_clock *clock, int generation, uint64_t collected)
{
    pmt__gc start = {PMT_EV_GC_START, generation, 0, 0, 0};
    pmt__tracer_gc(t, &start, "app.py", "work", 12, 2);
    clock->now += 5000;
    pmt__gc done = {PMT_EV_GC_DONE, generation, collected, 1, 5000};
    pmt__tracer_gc(t, &done, "app.py", "work", 12, 2);
}

static pmt_tracer *gc_tracer(fake_clock *clock, fake_rss *rss, capture *cap, uint64_t mask)
{
    pmt_tracer *t = fake_tracer(clock, rss, INT64_C(1) << 40, cap); /* no trigger ever fires */
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_EVENT_MASK, (int64_t)mask), PMT_OK);
    ck_assert_int_eq(pmt_tracer_start(t), PMT_OK);
    return t;
}

START_TEST(gc_events_are_written_when_the_mask_has_them)
{
    fake_clock clock = {.now = 1000};
    fake_rss rss = {.value = 1 << 20};
    capture cap = {0};
    pmt_tracer *t = gc_tracer(&clock, &rss, &cap, PMT_EV_MASK_CALLS | PMT_EV_MASK_GC);
    size_t first = cap.count;
    collect(t, &clock, 2, 77);
    ck_assert_uint_eq(cap.count - first, 2);
    const pmt_event *s = &cap.events[first].ev, *d = &cap.events[first + 1].ev;
    ck_assert_int_eq(s->kind, PMT_EV_GC_START);
    ck_assert_int_eq(s->reason, PMT_REASON_GC);
    ck_assert_int_eq(s->gc_generation, 2);
    ck_assert_int_eq(d->kind, PMT_EV_GC_DONE);
    ck_assert_uint_eq(d->gc_collected, 77);
    ck_assert_uint_eq(d->gc_uncollectable, 1);
    ck_assert_uint_eq(d->gc_duration_ns, 5000);
    ck_assert_str_eq(cap.events[first].file, "app.py");
    ck_assert_int_eq(s->line, 12);
    ck_assert_int_eq(pmt_tracer_stop(t), PMT_OK);
    /* The slot they used carries no GC fields into the next event. */
    ck_assert_int_eq(cap.events[cap.count - 1].ev.gc_generation, 0);
    pmt_tracer_destroy(t);
    capture_free(&cap);

    capture none = {0};
    t = gc_tracer(&clock, &rss, &none, PMT_EV_MASK_CALLS);
    first = none.count;
    collect(t, &clock, 0, 5);
    ck_assert_uint_eq(none.count, first); /* not in the mask: not written */
    pmt_tracer_destroy(t);
    capture_free(&none);
}
END_TEST

START_TEST(gc_events_round_trip_through_both_logs)
{
    char *dir = temp_dir_create();
    char *binary, *text;
    ck_assert_int_gt(asprintf(&binary, "%s/gc.pmt", dir), 0);
    ck_assert_int_gt(asprintf(&text, "%s/gc.log", dir), 0);
    fake_clock clock = {.now = 1000};
    fake_rss rss = {.value = 1 << 20};
    capture cap = {0};
    pmt_tracer *t = fake_tracer(&clock, &rss, INT64_C(1) << 40, &cap);
    pmt_sink *b = NULL, *x = NULL;
    ck_assert_int_eq(pmt_sink_binary_open(&b, binary, NULL, NULL), PMT_OK);
    ck_assert_int_eq(pmt_sink_text_open(&x, text, NULL), PMT_OK);
    ck_assert_int_eq(pmt_tracer_add_sink(t, b), PMT_OK);
    ck_assert_int_eq(pmt_tracer_add_sink(t, x), PMT_OK);
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_EVENT_MASK, (int64_t)PMT_EV_MASK_GC),
                     PMT_OK);
    ck_assert_int_eq(pmt_tracer_start(t), PMT_OK);
    for (int i = 0; i < 50; i++) {
        rss.value -= 4096; /* collections give memory back */
        collect(t, &clock, i % 3, (uint64_t)i * 1000);
    }
    ck_assert_int_eq(pmt_tracer_stop(t), PMT_OK);
    pmt_tracer_destroy(t);
    pmt_reader *r = NULL;
    ck_assert_int_eq(pmt_reader_open(&r, binary), PMT_OK);
    const pmt_event *ev;
    size_t i = 0;
    while (pmt_reader_next(r, &ev) == 1) {
        const pmt_event *w = &cap.events[i++].ev;
        ck_assert_int_eq(ev->kind, w->kind);
        ck_assert_int_eq(ev->reason, w->reason);
        ck_assert_uint_eq(ev->seq, w->seq);
        ck_assert_uint_eq(ev->rss, w->rss);
        ck_assert_int_eq(ev->gc_generation, w->gc_generation);
        ck_assert_uint_eq(ev->gc_collected, w->gc_collected);
        ck_assert_uint_eq(ev->gc_uncollectable, w->gc_uncollectable);
        ck_assert_uint_eq(ev->gc_duration_ns, w->gc_duration_ns);
    }
    ck_assert_uint_eq(i, cap.count);
    ck_assert_int_eq(pmt_reader_status(r, NULL, NULL), PMT_OK);
    pmt_reader_close(r);
    char *rows = read_whole_file(text, NULL);
    ck_assert_ptr_nonnull(rows);
    ck_assert_ptr_nonnull(strstr(rows, "GC:   "));
    ck_assert_ptr_nonnull(strstr(rows, " @ gen 1 collected 49000 uncollectable 1 ns 5000\n"));
    free(rows);
    capture_free(&cap);
    free(binary);
    free(text);
    temp_dir_remove(dir);
}
END_TEST

Suite *gc_suite(void)
{
    Suite *s = suite_create("gc");
    TCase *tc = tcase_create("gc");
    tcase_add_test(tc, gc_events_are_written_when_the_mask_has_them);
    tcase_add_test(tc, gc_events_round_trip_through_both_logs);
    suite_add_tcase(s, tc);
    return s;
}
