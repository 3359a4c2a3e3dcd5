/* Object lifetimes without Python: the type table against a model (adds, finds, forgets with
 * backward-shift deletion), counting and the object stages, OBJ_CNT rows at marks and at stop,
 * the type globs, and object records through the binary log and the text log. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/object_types.h"
#include "fakes.h"
#include "suites.h"

START_TEST(the_type_table_keeps_what_a_model_keeps)
{
    enum { TYPES = 3000, NAMES = 40 };
    static const char *names[NAMES];
    static char storage[NAMES][16];
    for (int i = 0; i < NAMES; i++) {
        snprintf(storage[i], sizeof storage[i], "T%d", i);
        names[i] = storage[i];
    }
    static int model[TYPES]; /* -1: not in the table, else the name's index */
    pmt__object_types o = {0};
    uint64_t state = 42;
    for (int i = 0; i < TYPES; i++)
        model[i] = -1;
    for (int step = 0; step < 40000; step++) {
        int type = (int)(fake_random(&state) % TYPES);
        uintptr_t key = 0x100000 + (uintptr_t)type * 64; /* aligned, clustered: as types are */
        if (fake_random(&state) % 3 == 0 && model[type] >= 0) {
            pmt__object_types_forget(&o, key);
            model[type] = -1;
        } else if (model[type] < 0) {
            int name = (int)(fake_random(&state) % NAMES);
            pmt__type_entry *e = pmt__object_types_add(&o, key, names[name], 1, 0);
            ck_assert_ptr_nonnull(e);
            ck_assert_ptr_eq(e->name, names[name]); /* one entry per name */
            model[type] = name;
        }
        if (step % 997 == 0) {
            for (int t = 0; t < TYPES; t++) {
                pmt__type_entry *e = pmt__object_types_find(&o, 0x100000 + (uintptr_t)t * 64);
                if (model[t] < 0)
                    ck_assert_ptr_null(e);
                else
                    ck_assert_ptr_eq(e->name, names[model[t]]);
            }
        }
    }
    ck_assert_uint_le(pmt__object_types_count(&o), NAMES);
    pmt__object_types_free(&o);
}
END_TEST

static pmt_tracer *object_tracer(fake_clock *clock, fake_rss *rss, capture *cap, uint64_t mask,
                                 int64_t mode)
{
    pmt_tracer *t = fake_tracer(clock, rss, INT64_C(1) << 40, cap); /* no trigger fires */
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_EVENT_MASK, (int64_t)mask), PMT_OK);
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_OBJECTS, mode), PMT_OK);
    return t;
}

static int sum_rows(const pmt_type_count *row, void *user_data)
{
    int64_t *live = user_data;
    *live += row->live;
    ck_assert_int_eq(row->live, (int64_t)(row->created - row->destroyed));
    return 0;
}

START_TEST(objects_are_counted_and_written_with_their_counts)
{
    fake_clock clock = {.now = 1000};
    fake_rss rss = {.value = 1 << 20};
    capture cap = {0};
    pmt_tracer *t = object_tracer(&clock, &rss, &cap, PMT_EV_MASK_CALLS | PMT_EV_MASK_OBJECTS, 1);
    ck_assert_int_eq(pmt_tracer_start(t), PMT_OK);
    pmt__type_entry *node = pmt__object_types_add(&t->object_types, 0x1000, "Node", 1, 0);
    pmt__type_entry *hidden = pmt__object_types_add(&t->object_types, 0x2000, "int", 0, 0);
    size_t first = cap.count;
    for (uint64_t i = 0; i < 10; i++)
        pmt__tracer_object(t, PMT_EV_OBJECT_NEW, 0x7000 + i * 32, node, "app.py", "build", 5, 1);
    pmt__tracer_object(t, PMT_EV_OBJECT_NEW, 0x9000, hidden, "app.py", "build", 5, 1);
    for (uint64_t i = 0; i < 3; i++)
        pmt__tracer_object(t, PMT_EV_OBJECT_DELETE, 0x7000 + i * 32, node, "app.py", "drop", 9, 1);
    ck_assert_uint_eq(cap.count - first, 13); /* the int is not counted: not written either */
    const pmt_event *e = &cap.events[first + 9].ev;
    ck_assert_int_eq(e->kind, PMT_EV_OBJECT_NEW);
    ck_assert_int_eq(e->reason, PMT_REASON_OBJECT);
    ck_assert_str_eq(e->type_name, "Node");
    ck_assert_uint_eq(e->address, 0x7000 + 9 * 32);
    ck_assert_int_eq(e->type_live, 10);
    ck_assert_int_eq(e->line, 5);
    e = &cap.events[first + 12].ev;
    ck_assert_int_eq(e->kind, PMT_EV_OBJECT_DELETE);
    ck_assert_int_eq(e->type_live, 7);
    ck_assert_str_eq(cap.events[first + 12].function, "drop");
    ck_assert_int_eq(pmt_tracer_mark(t, "here"), PMT_OK); /* a mark, then the counts */
    const captured *c = &cap.events[cap.count - 1];
    ck_assert_int_eq(c->ev.kind, PMT_EV_OBJECT_COUNT);
    ck_assert_str_eq(c->ev.type_name, "Node");
    ck_assert_uint_eq(c->ev.type_created, 10);
    ck_assert_uint_eq(c->ev.type_destroyed, 3);
    ck_assert_int_eq(c->ev.type_live, 7);
    ck_assert_int_eq(cap.events[cap.count - 2].ev.kind, PMT_EV_MARK);
    uint64_t made = 0, gone = 0;
    ck_assert_int_eq(pmt_tracer_get_stat(t, PMT_STAT_OBJECTS_CREATED, &made), PMT_OK);
    ck_assert_int_eq(pmt_tracer_get_stat(t, PMT_STAT_OBJECTS_DESTROYED, &gone), PMT_OK);
    ck_assert_uint_eq(made, 10);
    ck_assert_uint_eq(gone, 3);
    int64_t live = 0;
    ck_assert_int_eq(pmt_tracer_object_counts(t, sum_rows, &live), PMT_OK);
    ck_assert_int_eq(live, 7);
    ck_assert_int_eq(pmt_tracer_stop(t), PMT_OK); /* the last counts, then STOP */
    ck_assert_int_eq(cap.events[cap.count - 1].ev.kind, PMT_EV_STOP);
    ck_assert_int_eq(cap.events[cap.count - 2].ev.kind, PMT_EV_OBJECT_COUNT);
    pmt_tracer_destroy(t);
    capture_free(&cap);
}
END_TEST

START_TEST(counted_only_objects_are_not_events)
{
    fake_clock clock = {.now = 1000};
    fake_rss rss = {.value = 1 << 20};
    capture cap = {0};
    pmt_tracer *t = object_tracer(&clock, &rss, &cap, PMT_EV_MASK_CALLS, 2);
    ck_assert_int_eq(pmt_tracer_start(t), PMT_OK);
    pmt__type_entry *node = pmt__object_types_add(&t->object_types, 0x1000, "Node", 1, 0);
    size_t first = cap.count;
    uint64_t seq_before = 0, seq_after = 0;
    pmt_tracer_get_stat(t, PMT_STAT_EVENTS_SEEN, &seq_before);
    for (uint64_t i = 0; i < 100; i++)
        pmt__tracer_object(t, PMT_EV_OBJECT_NEW, 0x7000 + i * 32, node, "app.py", "f", 1, 1);
    pmt_tracer_get_stat(t, PMT_STAT_EVENTS_SEEN, &seq_after);
    ck_assert_uint_eq(cap.count, first);      /* nothing written */
    ck_assert_uint_eq(seq_after, seq_before); /* nor numbered */
    ck_assert_int_eq(pmt_tracer_stop(t), PMT_OK);
    ck_assert_uint_eq(cap.events[cap.count - 2].ev.type_created, 100);
    pmt_tracer_destroy(t);
    capture_free(&cap);

    /* Object events without a mode that counts: refused at start. */
    capture none = {0};
    t = object_tracer(&clock, &rss, &none, PMT_EV_MASK_CALLS | PMT_EV_MASK_OBJECTS, 0);
    ck_assert_int_eq(pmt_tracer_start(t), PMT_EINVAL);
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_OBJECTS, 3), PMT_EINVAL);
    pmt_tracer_destroy(t);
    capture_free(&none);
}
END_TEST

START_TEST(type_globs_choose_the_types)
{
    fake_clock clock = {.now = 1000};
    fake_rss rss = {.value = 1 << 20};
    pmt_tracer *t = fake_tracer(&clock, &rss, -1, NULL);
    ck_assert_int_eq(pmt_tracer_add_code_filter(t, PMT_FILTER_INCLUDE_TYPE, "app.*"), PMT_OK);
    ck_assert_int_eq(pmt_tracer_add_code_filter(t, PMT_FILTER_EXCLUDE_TYPE, "*Cache"), PMT_OK);
    ck_assert_int_eq(pmt__code_filter_type(&t->code_filter, "app.Node"), 1);
    ck_assert_int_eq(pmt__code_filter_type(&t->code_filter, "app.NodeCache"), 0);
    ck_assert_int_eq(pmt__code_filter_type(&t->code_filter, "dict"), 0);
    ck_assert_int_eq(pmt_tracer_add_code_filter(t, (pmt_code_filter)9, "x"), PMT_EINVAL);
    pmt_tracer_destroy(t);
    t = fake_tracer(&clock, &rss, -1, NULL);
    ck_assert_int_eq(pmt__code_filter_type(&t->code_filter, "anything"), 1); /* no glob: all */
    pmt_tracer_destroy(t);
}
END_TEST

START_TEST(object_records_round_trip_through_both_logs)
{
    char *dir = temp_dir_create();
    char *binary, *text;
    ck_assert_int_gt(asprintf(&binary, "%s/o.pmt", dir), 0);
    ck_assert_int_gt(asprintf(&text, "%s/o.log", dir), 0);
    fake_clock clock = {.now = 1000};
    fake_rss rss = {.value = 1 << 20};
    capture cap = {0};
    pmt_tracer *t = object_tracer(&clock, &rss, &cap, PMT_EV_MASK_CALLS | PMT_EV_MASK_OBJECTS, 2);
    pmt_sink *b = NULL, *x = NULL;
    ck_assert_int_eq(pmt_sink_binary_open(&b, binary, NULL, NULL), PMT_OK);
    ck_assert_int_eq(pmt_sink_text_open(&x, text, NULL), PMT_OK);
    ck_assert_int_eq(pmt_tracer_add_sink(t, b), PMT_OK);
    ck_assert_int_eq(pmt_tracer_add_sink(t, x), PMT_OK);
    ck_assert_int_eq(pmt_tracer_start(t), PMT_OK);
    pmt__type_entry *types[3] = {
        pmt__object_types_add(&t->object_types, 0x1000, "Node", 1, 0),
        pmt__object_types_add(&t->object_types, 0x2000, "dict", 1, 0),
        pmt__object_types_add(&t->object_types, 0x3000, "odd name", 1, 0),
    };
    uint64_t state = 7;
    for (int i = 0; i < 3000; i++) {
        clock.now += 100;
        uint64_t r = fake_random(&state);
        uint64_t address = 0x7f0000000000 + (r % 100000) * (r & 1 ? 16 : 13);
        pmt__tracer_object(t, r & 2 ? PMT_EV_OBJECT_NEW : PMT_EV_OBJECT_DELETE, address,
                           types[r % 3], "app.py", "work", i % 50, 1);
        if (i % 1000 == 999)
            ck_assert_int_eq(pmt_tracer_mark(t, "step"), PMT_OK);
    }
    ck_assert_int_eq(pmt_tracer_stop(t), PMT_OK);
    pmt_tracer_destroy(t);
    pmt_reader *r = NULL;
    ck_assert_int_eq(pmt_reader_open(&r, binary), PMT_OK);
    const pmt_event *ev;
    size_t i = 0, counts = 0;
    while (pmt_reader_next(r, &ev) == 1) {
        const captured *w = &cap.events[i++];
        ck_assert_int_eq(ev->kind, w->ev.kind);
        ck_assert_int_eq(ev->reason, w->ev.reason);
        ck_assert_uint_eq(ev->seq, w->ev.seq);
        if (ev->kind >= PMT_EV_OBJECT_NEW && ev->kind <= PMT_EV_OBJECT_COUNT) {
            ck_assert_str_eq(ev->type_name, w->ev.type_name);
            ck_assert_int_eq(ev->type_live, w->ev.type_live);
            ck_assert_uint_eq(ev->type_created, w->ev.type_created);
            ck_assert_uint_eq(ev->type_destroyed, w->ev.type_destroyed);
            counts += ev->kind == PMT_EV_OBJECT_COUNT;
            if (ev->kind != PMT_EV_OBJECT_COUNT)
                ck_assert_uint_eq(ev->address, w->ev.address);
        } else {
            ck_assert_ptr_null(ev->type_name);
        }
    }
    ck_assert_uint_eq(i, cap.count);
    ck_assert_uint_eq(counts, 4 * 3); /* 3 marks and the stop, 3 types each */
    ck_assert_int_eq(pmt_reader_status(r, NULL, NULL), PMT_OK);
    pmt_reader_close(r);
    char *rows = read_whole_file(text, NULL);
    ck_assert_ptr_nonnull(rows);
    ck_assert_ptr_nonnull(strstr(rows, "OBJ:  "));
    ck_assert_ptr_nonnull(strstr(rows, " OBJ_CNT "));
    ck_assert_ptr_nonnull(strstr(rows, " @ odd name created "));
    free(rows);
    capture_free(&cap);
    free(binary);
    free(text);
    temp_dir_remove(dir);
}
END_TEST

Suite *objects_suite(void)
{
    Suite *s = suite_create("objects");
    TCase *tc = unit_tcase("objects");
    tcase_add_test(tc, the_type_table_keeps_what_a_model_keeps);
    tcase_add_test(tc, objects_are_counted_and_written_with_their_counts);
    tcase_add_test(tc, counted_only_objects_are_not_events);
    tcase_add_test(tc, type_globs_choose_the_types);
    tcase_add_test(tc, object_records_round_trip_through_both_logs);
    suite_add_tcase(s, tc);
    return s;
}
