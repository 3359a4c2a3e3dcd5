/* The call aggregation (core/calls.c) on scripted calls and returns: totals and own growth per
 * call path, recursion, a thread switch, returns of frames entered before the run. */
#include <stdlib.h>
#include <string.h>

#include "core/calls.h"
#include "suites.h"

typedef struct found {
    pmt_call_stats rows[16];
    int count;
} found;

static int collect(const pmt_call_stats *row, void *user_data)
{
    found *f = user_data;
    if (f->count < 16)
        f->rows[f->count++] = *row;
    return 0;
}

static const pmt_call_stats *row_of(found *f, const char *function, uint32_t parent)
{
    for (int i = 0; i < f->count; i++)
        if (!strcmp(f->rows[i].function, function) && f->rows[i].parent == parent)
            return &f->rows[i];
    ck_abort_msg("no row %s under %u", function, parent);
    return NULL;
}

static const int OUTER = 1, INNER = 2; /* keys: any distinct addresses */
static pmt__call_memo outer_memo, inner_memo;

/* Each test's calls object is new: so are the memos of its keys. */
static void new_memos(void)
{
    outer_memo = inner_memo = (pmt__call_memo){0, 0, 0, 0};
}

START_TEST(total_is_own_plus_callees)
{
    new_memos();
    pmt__calls c = {0};
    pmt__shadow s = {0};
    pmt__calls_start(&c, 1000);
    pmt__calls_enter(&c, &s, &OUTER, &outer_memo, "a.py", "outer", 1, PMT_CALL_USER_CODE, 1000);
    pmt__calls_seen(&c, &s, 1100); /* outer grows 100 */
    pmt__calls_enter(&c, &s, &INNER, &inner_memo, "a.py", "inner", 5, 0, 1150); /* outer: 50 more */
    pmt__calls_leave(&c, &s, 1400);                                             /* inner: 250 */
    pmt__calls_enter(&c, &s, &INNER, &inner_memo, "a.py", "inner", 5, 0, 1400);
    pmt__calls_leave(&c, &s, 1300); /* inner: -100 */
    pmt__calls_leave(&c, &s, 1310); /* outer: 10 more */
    found f = {0};
    ck_assert_int_eq(pmt__calls_each(&c, collect, &f), 0);
    ck_assert_int_eq(f.count, 2);
    const pmt_call_stats *outer = row_of(&f, "outer", 0), *inner = row_of(&f, "inner", 1);
    ck_assert_uint_eq(outer->calls, 1);
    ck_assert_int_eq(outer->own, 160);
    ck_assert_int_eq(outer->total, 310);
    ck_assert_uint_eq(outer->flags, PMT_CALL_USER_CODE);
    ck_assert_uint_eq(inner->calls, 2);
    ck_assert_int_eq(inner->total, 150);
    ck_assert_int_eq(inner->own, 150);
    ck_assert_int_eq(inner->largest, 250);
    ck_assert_uint_eq(inner->peak_rss, 1400);
    ck_assert_uint_eq(outer->peak_rss, 1400);
    free(s.frames);
    pmt__calls_free(&c);
}
END_TEST

START_TEST(direct_recursion_is_one_node)
{
    new_memos();
    pmt__calls c = {0};
    pmt__shadow s = {0};
    pmt__calls_start(&c, 0);
    for (int i = 0; i < 3; i++)
        pmt__calls_enter(&c, &s, &OUTER, &outer_memo, "a.py", "f", 1, 0, (uint64_t)i * 10);
    for (int i = 0; i < 3; i++)
        pmt__calls_leave(&c, &s, 20 + (uint64_t)i * 10);
    found f = {0};
    pmt__calls_each(&c, collect, &f);
    ck_assert_int_eq(f.count, 1);
    ck_assert_uint_eq(f.rows[0].calls, 3);
    ck_assert_int_eq(f.rows[0].total, 40); /* the outermost call's: nothing counted twice */
    ck_assert_int_eq(f.rows[0].own, 40);
    free(s.frames);
    pmt__calls_free(&c);
}
END_TEST

START_TEST(a_change_goes_to_the_thread_that_ran)
{
    new_memos();
    pmt__calls c = {0};
    pmt__shadow main_thread = {0}, worker = {0};
    pmt__calls_start(&c, 0);
    pmt__calls_enter(&c, &main_thread, &OUTER, &outer_memo, "a.py", "waits", 1, 0, 0);
    pmt__calls_enter(&c, &worker, &INNER, &inner_memo, "a.py", "grows", 1, 0, 0);
    /* The worker grows, then the main thread's next event is the first to see it. */
    pmt__calls_leave(&c, &main_thread, 500);
    pmt__calls_leave(&c, &worker, 500);
    found f = {0};
    pmt__calls_each(&c, collect, &f);
    ck_assert_int_eq(row_of(&f, "grows", 0)->own, 500);
    ck_assert_int_eq(row_of(&f, "waits", 0)->own, 0);
    free(main_thread.frames);
    free(worker.frames);
    pmt__calls_free(&c);
}
END_TEST

START_TEST(returns_of_frames_entered_before_are_not_charged)
{
    new_memos();
    pmt__calls c = {0};
    pmt__shadow s = {0};
    pmt__calls_start(&c, 100);
    pmt__calls_leave(&c, &s, 300); /* a frame of before the start */
    ck_assert_uint_eq(s.depth, 0);
    pmt__calls_enter(&c, &s, &OUTER, &outer_memo, "a.py", "f", 1, 0, 300);
    pmt__calls_leave(&c, &s, 350);
    found f = {0};
    pmt__calls_each(&c, collect, &f);
    ck_assert_int_eq(f.count, 1);
    ck_assert_int_eq(f.rows[0].total, 50);
    /* A new run keeps the nodes and starts their figures from 0. */
    pmt__calls_start(&c, 0);
    f.count = 0;
    pmt__calls_each(&c, collect, &f);
    ck_assert_int_eq(f.count, 1);
    ck_assert_uint_eq(f.rows[0].calls, 0);
    ck_assert_int_eq(f.rows[0].total, 0);
    free(s.frames);
    pmt__calls_free(&c);
}
END_TEST

START_TEST(many_paths_and_a_deep_stack)
{
    pmt__calls c = {0};
    pmt__shadow s = {0};
    static char keys[3000];
    static pmt__call_memo memos[3000];
    pmt__calls_start(&c, 0);
    for (int i = 0; i < 3000; i++)
        pmt__calls_enter(&c, &s, &keys[i], &memos[i], "deep.py", "level", i, 0, (uint64_t)i);
    for (int i = 0; i < 3000; i++)
        pmt__calls_leave(&c, &s, 3000);
    ck_assert_uint_eq(c.count, 3000);
    found f = {0};
    pmt__calls_each(&c, collect, &f);
    ck_assert_int_eq(f.rows[0].total, 3000);
    free(s.frames);
    pmt__calls_free(&c);
}
END_TEST

Suite *calls_suite(void)
{
    Suite *s = suite_create("calls");
    TCase *tc = unit_tcase("calls");
    tcase_add_test(tc, total_is_own_plus_callees);
    tcase_add_test(tc, direct_recursion_is_one_node);
    tcase_add_test(tc, a_change_goes_to_the_thread_that_ran);
    tcase_add_test(tc, returns_of_frames_entered_before_are_not_charged);
    tcase_add_test(tc, many_paths_and_a_deep_stack);
    suite_add_tcase(s, tc);
    return s;
}
