/* What became of the events given to a sink (pmt_sink_counts): a caller's sink that fails, a
 * file sink whose writes fail (a pipe nobody reads: EPIPE), the tracer's total of lost events,
 * and bad arguments. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fakes.h"
#include "suites.h"

static void events(pmt_tracer *t, fake_clock *clock, fake_rss *rss, int n)
{
    for (int i = 0; i < n; i++) {
        clock->now += 1000;
        rss->value += 4096;
        pmt__tracer_event(t, i % 2 ? PMT_EV_RETURN : PMT_EV_CALL, "app.py", "work", 3 + i % 5,
                          2 + i % 2);
    }
}

static pmt_sink_counts counts_of(const pmt_sink *sink)
{
    pmt_sink_counts c;
    memset(&c, 0xAB, sizeof c);
    c.struct_size = sizeof c;
    ck_assert_int_eq(pmt_sink_counts_get(sink, &c), PMT_OK);
    ck_assert_uint_eq(c.struct_size, sizeof c);
    ck_assert_uint_eq(c.reserved0, 0);
    return c;
}

static uint64_t lost_of(const pmt_tracer *t)
{
    uint64_t lost = 99;
    ck_assert_int_eq(pmt_tracer_get_stat(t, PMT_STAT_EVENTS_LOST, &lost), PMT_OK);
    return lost;
}

START_TEST(a_callers_failing_sink_is_counted)
{
    fake_clock clock = {.now = 1000};
    fake_rss rss = {.value = 1 << 20};
    capture cap = {0};
    cap.fail_at_write = 6; /* the START event and four more are held */
    pmt_sink *kept = capture_sink(&cap);
    pmt_tracer *t = fake_tracer(&clock, &rss, 0, NULL);
    ck_assert_int_eq(pmt_tracer_add_sink(t, kept), PMT_OK);
    ck_assert_int_eq(pmt_tracer_start(t), PMT_OK);
    events(t, &clock, &rss, 20);
    pmt_sink_counts c = counts_of(kept);
    ck_assert_int_eq(c.error, PMT_ECALLBACK);
    ck_assert_int_eq(c.os_error, 0); /* a caller's callback says nothing in errno */
    ck_assert_uint_eq(c.events_given, 21);
    ck_assert_uint_eq(c.events_stored, 5);
    ck_assert_uint_eq(c.events_lost, 16);
    ck_assert_uint_eq(lost_of(t), 16);
    ck_assert_int_eq(pmt_tracer_stop(t), PMT_OK); /* the stop event: given, lost */
    ck_assert_uint_eq(counts_of(kept).events_lost, 17);
    pmt_tracer_destroy(t);
    capture_free(&cap);
}
END_TEST

START_TEST(a_working_sink_loses_nothing)
{
    fake_clock clock = {.now = 1000};
    fake_rss rss = {.value = 1 << 20};
    capture cap = {0};
    pmt_tracer *t = fake_tracer(&clock, &rss, 0, &cap);
    ck_assert_int_eq(pmt_tracer_start(t), PMT_OK);
    events(t, &clock, &rss, 10);
    ck_assert_int_eq(pmt_tracer_stop(t), PMT_OK);
    ck_assert_uint_eq(lost_of(t), 0);
    pmt_tracer_destroy(t);
    ck_assert_uint_eq(cap.count, 12);
    capture_free(&cap);
}
END_TEST

/* A text sink on a pipe whose reader went away: every write fails with EPIPE once the buffer
 * goes out. What it held before is counted as stored, the rest as lost. */
START_TEST(a_file_sink_counts_rows_that_reached_the_file)
{
    signal(SIGPIPE, SIG_IGN);
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pmt_sink *text = NULL;
    ck_assert_int_eq(pmt_sink_text_fd(&text, fds[1], NULL), PMT_OK);
    fake_clock clock = {.now = 1000};
    fake_rss rss = {.value = 1 << 20};
    pmt_tracer *t = fake_tracer(&clock, &rss, 0, NULL);
    ck_assert_int_eq(pmt_tracer_add_sink(t, text), PMT_OK);
    ck_assert_int_eq(pmt_tracer_start(t), PMT_OK);
    events(t, &clock, &rss, 30);
    ck_assert_int_eq(pmt_tracer_mark(t, "flush"), PMT_OK); /* a mark writes the buffer out */
    pmt_sink_counts c = counts_of(text);
    ck_assert_int_eq(c.error, 0);
    ck_assert_uint_eq(c.events_given, 32);
    ck_assert_uint_eq(c.events_stored, 32);
    close(fds[0]); /* nobody reads any more */
    events(t, &clock, &rss, 10);
    ck_assert_int_eq(pmt_tracer_mark(t, "fails"), PMT_OK);
    events(t, &clock, &rss, 5);
    c = counts_of(text);
    ck_assert_int_eq(c.error, PMT_EIO);
    ck_assert_int_eq(c.os_error, EPIPE);
    ck_assert_uint_eq(c.events_given, 48);
    ck_assert_uint_eq(c.events_stored, 32);
    ck_assert_uint_eq(c.events_lost, 16);
    ck_assert_int_eq(pmt_tracer_stop(t), PMT_OK);
    uint64_t failed = 0;
    ck_assert_int_eq(pmt_tracer_get_stat(t, PMT_STAT_SINKS_FAILED, &failed), PMT_OK);
    ck_assert_uint_eq(failed, 1);
    pmt_tracer_destroy(t);
    close(fds[1]);
}
END_TEST

START_TEST(bad_arguments)
{
    capture cap = {0};
    pmt_sink *sink = capture_sink(&cap);
    pmt_sink_counts c = {.struct_size = sizeof c};
    ck_assert_int_eq(pmt_sink_counts_get(NULL, &c), PMT_EINVAL);
    ck_assert_int_eq(pmt_sink_counts_get(sink, NULL), PMT_EINVAL);
    c.struct_size = 8;
    ck_assert_int_eq(pmt_sink_counts_get(sink, &c), PMT_EVERSION);
    pmt_sink_destroy(sink);
}
END_TEST

Suite *sink_counts_suite(void)
{
    Suite *s = suite_create("sink_counts");
    TCase *tc = tcase_create("counts");
    tcase_add_test(tc, a_callers_failing_sink_is_counted);
    tcase_add_test(tc, a_working_sink_loses_nothing);
    tcase_add_test(tc, a_file_sink_counts_rows_that_reached_the_file);
    tcase_add_test(tc, bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}
