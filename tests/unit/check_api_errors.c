/* The documented failure modes of the public API: NULL arguments, bounds, states, struct sizes,
 * error messages, and failing collaborators (sinks, RSS providers, the event source). */
#define _GNU_SOURCE
#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fakes.h"
#include "suites.h"

static pmt_tracer *plain_tracer(void)
{
    fake_source_reset();
    pmt_tracer *t = NULL;
    ck_assert_int_eq(pmt__tracer_create_with_source(&t, &fake_source_ops, &g_source), PMT_OK);
    return t;
}

static int write_nothing(const pmt_event *event, void *user_data)
{
    (void)event;
    (void)user_data;
    return 0;
}

static int read_nothing(void *user_data, uint64_t *out_bytes)
{
    (void)user_data;
    *out_bytes = 0;
    return 0;
}

START_TEST(null_arguments_are_einval)
{
    pmt_tracer *t = plain_tracer();
    pmt_sink *sink = NULL;
    pmt_sink_ops ops = PMT_SINK_OPS_INIT;
    ops.write = write_nothing;
    pmt_rss_provider provider = PMT_RSS_PROVIDER_INIT;
    provider.read = read_nothing;
    int64_t value = 0, lo = 0, hi = 0;
    uint64_t u = 0;

    ck_assert_int_eq(pmt__tracer_create_with_source(NULL, &fake_source_ops, &g_source), PMT_EINVAL);
    ck_assert_int_eq(pmt_tracer_set_param(NULL, PMT_PARAM_D_RSS_TRIGGER, 0), PMT_EINVAL);
    ck_assert_int_eq(pmt_tracer_get_param(NULL, PMT_PARAM_D_RSS_TRIGGER, &value), PMT_EINVAL);
    ck_assert_int_eq(pmt_tracer_get_param(t, PMT_PARAM_D_RSS_TRIGGER, NULL), PMT_EINVAL);
    ck_assert_int_eq(pmt_param_bounds(PMT_PARAM_D_RSS_TRIGGER, NULL, &hi), PMT_EINVAL);
    ck_assert_int_eq(pmt_param_bounds(PMT_PARAM_D_RSS_TRIGGER, &lo, NULL), PMT_EINVAL);
    ck_assert_int_eq(pmt_tracer_get_stat(NULL, PMT_STAT_EVENTS_SEEN, &u), PMT_EINVAL);
    ck_assert_int_eq(pmt_tracer_get_stat(t, PMT_STAT_EVENTS_SEEN, NULL), PMT_EINVAL);
    ck_assert_int_eq(pmt_tracer_state_of(NULL), PMT_EINVAL);
    ck_assert_int_eq(pmt_tracer_set_rss_provider(NULL, &provider, NULL), PMT_EINVAL);
    ck_assert_int_eq(pmt_tracer_set_rss_provider(t, NULL, NULL), PMT_EINVAL);
    provider.read = NULL;
    ck_assert_int_eq(pmt_tracer_set_rss_provider(t, &provider, NULL), PMT_EINVAL);
    ck_assert_int_eq(pmt_tracer_add_sink(NULL, NULL), PMT_EINVAL);
    ck_assert_int_eq(pmt_tracer_add_sink(t, NULL), PMT_EINVAL);
    ck_assert_int_eq(pmt_tracer_start(NULL), PMT_EINVAL);
    ck_assert_int_eq(pmt_tracer_pause(NULL), PMT_EINVAL);
    ck_assert_int_eq(pmt_tracer_resume(NULL), PMT_EINVAL);
    ck_assert_int_eq(pmt_tracer_stop(NULL), PMT_EINVAL);
    ck_assert_int_eq(pmt_tracer_mark(NULL, "x"), PMT_EINVAL);
    ck_assert_int_eq(pmt_sink_create(NULL, &ops, NULL), PMT_EINVAL);
    ck_assert_int_eq(pmt_sink_create(&sink, NULL, NULL), PMT_EINVAL);
    ops.write = NULL;
    ck_assert_int_eq(pmt_sink_create(&sink, &ops, NULL), PMT_EINVAL);
    ck_assert_int_eq(pmt_sink_text_open(NULL, "never-created.log", NULL), PMT_EINVAL);
    ck_assert_int_eq(access("never-created.log", F_OK), -1);
    ck_assert_int_eq(pmt_rss_current(NULL), PMT_EINVAL);
    ck_assert_int_eq(pmt_rss_peak(NULL), PMT_EINVAL);
    ck_assert_ptr_null(pmt_sink_path(NULL));
    pmt_sink_destroy(NULL);
    pmt_tracer_destroy(NULL);

    /* A started tracer still rejects a NULL mark text. */
    fake_clock clock = {0};
    fake_rss rss = {0};
    pmt_tracer_destroy(t);
    t = fake_tracer(&clock, &rss, 0, NULL);
    ck_assert_int_eq(pmt_tracer_start(t), PMT_OK);
    ck_assert_int_eq(pmt_tracer_mark(t, NULL), PMT_EINVAL);
    pmt_tracer_destroy(t);
}
END_TEST

START_TEST(parameters_bounds_and_unknowns)
{
    pmt_tracer *t = plain_tracer();
    int64_t lo = 0, hi = 0, value = 0;
    ck_assert_int_eq(pmt_param_bounds(PMT_PARAM_D_RSS_TRIGGER, &lo, &hi), PMT_OK);
    ck_assert_int_eq(lo, -1);
    ck_assert_int_eq(hi, INT64_MAX);
    ck_assert_int_eq(pmt_param_bounds(PMT_PARAM_EVENT_MASK, &lo, &hi), PMT_OK);
    ck_assert_int_eq(lo, 0); /* 0: allocations only (checked at start) */
    ck_assert_int_eq(hi, (INT64_C(1) << PMT_EV_KIND_COUNT) - 1);

    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_D_RSS_TRIGGER, 4242), PMT_OK);
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_D_RSS_TRIGGER, -2), PMT_EINVAL);
    ck_assert_str_ne(pmt_last_error_message(), "");
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_D_RSS_TRIGGER, INT64_MIN), PMT_EINVAL);
    ck_assert_int_eq(pmt_tracer_get_param(t, PMT_PARAM_D_RSS_TRIGGER, &value), PMT_OK);
    ck_assert_int_eq(value, 4242); /* a rejected value changes nothing */
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_D_RSS_TRIGGER, INT64_MAX), PMT_OK);
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_D_RSS_TRIGGER, -1), PMT_OK);
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_D_RSS_TRIGGER, 0), PMT_OK);

    const int64_t trace = (int64_t)PMT_EV_MASK_TRACE;
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_EVENT_MASK, trace), PMT_OK);
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_EVENT_MASK, 0), PMT_OK);
    ck_assert_int_eq(pmt_tracer_start(t), PMT_EINVAL); /* nothing to observe */
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_EVENT_MASK, trace), PMT_OK);
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_EVENT_MASK, hi + 1), PMT_EINVAL);
    const int64_t past_the_last_kind = (hi + 1) | (int64_t)PMT_EV_BIT(PMT_EV_CALL);
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_EVENT_MASK, past_the_last_kind), PMT_EINVAL);
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_EVENT_MASK, -1), PMT_EINVAL);
    ck_assert_int_eq(pmt_tracer_get_param(t, PMT_PARAM_EVENT_MASK, &value), PMT_OK);
    ck_assert_int_eq(value, trace);

    const pmt_param unknown[] = {(pmt_param)0, (pmt_param)1000, (pmt_param)99, (pmt_param)-1};
    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_eq(pmt_tracer_set_param(t, unknown[i], 0), PMT_ENOTSUP);
        ck_assert_int_eq(pmt_tracer_get_param(t, unknown[i], &value), PMT_ENOTSUP);
        ck_assert_int_eq(pmt_param_bounds(unknown[i], &lo, &hi), PMT_ENOTSUP);
    }
    uint64_t u = 0;
    ck_assert_int_eq(pmt_tracer_get_stat(t, (pmt_stat)0, &u), PMT_ENOTSUP);
    ck_assert_int_eq(pmt_tracer_get_stat(t, (pmt_stat)15, &u), PMT_ENOTSUP);
    pmt_tracer_destroy(t);
}
END_TEST

START_TEST(life_cycle_state_errors)
{
    fake_clock clock = {0};
    fake_rss rss = {0};
    capture cap = {0};
    pmt_tracer *t = fake_tracer(&clock, &rss, 0, &cap);
    ck_assert_int_eq(pmt_tracer_state_of(t), PMT_STATE_CREATED);
    ck_assert_int_eq(pmt_tracer_stop(t), PMT_ESTATE);
    ck_assert_int_eq(pmt_tracer_pause(t), PMT_ESTATE);
    ck_assert_int_eq(pmt_tracer_resume(t), PMT_ESTATE);
    ck_assert_int_eq(pmt_tracer_mark(t, "early"), PMT_ESTATE);
    ck_assert_uint_eq(cap.count, 0);

    ck_assert_int_eq(pmt_tracer_start(t), PMT_OK);
    ck_assert_int_eq(pmt_tracer_state_of(t), PMT_STATE_RUNNING);
    ck_assert_int_eq(pmt_tracer_start(t), PMT_ESTATE);
    ck_assert_str_ne(pmt_last_error_message(), "");
    ck_assert_int_eq(pmt_tracer_resume(t), PMT_ESTATE);
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_D_RSS_TRIGGER, 5), PMT_ESTATE);
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_EVENT_MASK, 1), PMT_ESTATE);
    pmt_rss_provider p = fake_rss_provider(0);
    fake_rss other = {0};
    ck_assert_int_eq(pmt_tracer_set_rss_provider(t, &p, &other), PMT_ESTATE);
    ck_assert_int_eq(other.releases, 0);
    capture late = {0};
    pmt_sink *late_sink = capture_sink(&late);
    ck_assert_int_eq(pmt_tracer_add_sink(t, late_sink), PMT_ESTATE);
    pmt_sink_destroy(late_sink); /* still the caller's after a failure */
    ck_assert_int_eq(late.closes, 1);

    ck_assert_int_eq(pmt_tracer_pause(t), PMT_OK);
    ck_assert_int_eq(pmt_tracer_pause(t), PMT_ESTATE);
    ck_assert_int_eq(pmt_tracer_start(t), PMT_ESTATE);
    ck_assert_int_eq(pmt_tracer_stop(t), PMT_OK); /* a paused tracer can be stopped */
    ck_assert_int_eq(pmt_tracer_state_of(t), PMT_STATE_STOPPED);
    ck_assert_int_eq(g_source.release_calls, 1);
    ck_assert_int_eq(pmt_tracer_stop(t), PMT_ESTATE);
    ck_assert_int_eq(pmt_tracer_start(t), PMT_ESTATE);
    ck_assert_int_eq(pmt_tracer_pause(t), PMT_ESTATE);
    ck_assert_int_eq(pmt_tracer_resume(t), PMT_ESTATE);
    ck_assert_int_eq(pmt_tracer_mark(t, "late"), PMT_ESTATE);
    size_t written = cap.count;
    pmt_tracer_destroy(t);
    ck_assert_uint_eq(cap.count, written); /* no second stop row */
    ck_assert_int_eq(g_source.release_calls, 1);
    ck_assert_int_eq(cap.closes, 1);
    capture_free(&cap);
}
END_TEST

START_TEST(a_sink_cannot_join_two_tracers)
{
    pmt_tracer *a = plain_tracer();
    pmt_tracer *b = plain_tracer();
    capture cap = {0};
    pmt_sink *sink = capture_sink(&cap);
    ck_assert_int_eq(pmt_tracer_add_sink(a, sink), PMT_OK);
    ck_assert_int_eq(pmt_tracer_add_sink(b, sink), PMT_EINVAL);
    ck_assert_int_eq(pmt_tracer_add_sink(a, sink), PMT_EINVAL);
    pmt_tracer_destroy(b);
    ck_assert_int_eq(cap.closes, 0);
    pmt_tracer_destroy(a);
    ck_assert_int_eq(cap.closes, 1);
}
END_TEST

START_TEST(destroy_stops_a_running_tracer)
{
    fake_clock clock = {0};
    fake_rss rss = {0};
    capture cap = {0};
    pmt_tracer *t = fake_tracer(&clock, &rss, 0, &cap);
    ck_assert_int_eq(pmt_tracer_start(t), PMT_OK);
    pmt_tracer_destroy(t);
    ck_assert_uint_eq(cap.count, 2);
    ck_assert_uint_eq(cap.events[1].ev.reason, PMT_REASON_LAST);
    ck_assert_int_eq(g_source.detach_calls, 1);
    ck_assert_int_eq(g_source.release_calls, 1);
    ck_assert_int_eq(cap.closes, 1);
    ck_assert_int_eq(rss.releases, 1);
    capture_free(&cap);
}
END_TEST

START_TEST(source_failures_are_returned)
{
    fake_clock clock = {0};
    fake_rss rss = {0};
    capture cap = {0};
    pmt_tracer *t = fake_tracer(&clock, &rss, 0, &cap);
    g_source.check_result = PMT_ENOTHREAD;
    ck_assert_int_eq(pmt_tracer_start(t), PMT_ENOTHREAD);
    ck_assert_int_eq(pmt_tracer_state_of(t), PMT_STATE_CREATED);
    ck_assert_uint_eq(cap.count, 0);
    g_source.check_result = PMT_OK;
    ck_assert_int_eq(pmt_tracer_start(t), PMT_OK);
    g_source.check_result = PMT_ENOTHREAD;
    ck_assert_int_eq(pmt_tracer_pause(t), PMT_ENOTHREAD);
    ck_assert_int_eq(pmt_tracer_stop(t), PMT_ENOTHREAD);
    ck_assert_int_eq(pmt_tracer_state_of(t), PMT_STATE_RUNNING);
    g_source.check_result = PMT_OK;
    ck_assert_int_eq(pmt_tracer_stop(t), PMT_OK);
    pmt_tracer_destroy(t);
    capture_free(&cap);
}
END_TEST

static int fail_flush(void *user_data)
{
    (void)user_data;
    ck_abort_msg("flush is outside the declared struct_size and must not be called");
    return -1;
}

static int gate_closed(void *user_data, uint64_t now_ns)
{
    (void)user_data;
    (void)now_ns;
    return 0;
}

START_TEST(struct_size_is_checked_and_honoured)
{
    pmt_sink *sink = NULL;
    pmt_sink_ops ops = PMT_SINK_OPS_INIT;
    ops.write = write_nothing;
    const uint32_t bad_sink_sizes[] = {0,
                                       4,
                                       (uint32_t)offsetof(pmt_sink_ops, write),
                                       (uint32_t)sizeof(pmt_sink_ops) + 1,
                                       (uint32_t)sizeof(pmt_sink_ops) + 64,
                                       UINT32_MAX};
    for (size_t i = 0; i < sizeof bad_sink_sizes / sizeof *bad_sink_sizes; i++) {
        ops.struct_size = bad_sink_sizes[i];
        ck_assert_int_eq(pmt_sink_create(&sink, &ops, NULL), PMT_EVERSION);
    }
    /* An older, shorter struct: the fields beyond it are not read. */
    ops.struct_size = (uint32_t)offsetof(pmt_sink_ops, flush);
    ops.flush = fail_flush;
    ck_assert_int_eq(pmt_sink_create(&sink, &ops, NULL), PMT_OK);
    pmt_sink_destroy(sink);

    pmt_tracer *t = plain_tracer();
    pmt_rss_provider p = PMT_RSS_PROVIDER_INIT;
    p.read = fake_rss_read;
    const uint32_t bad_provider_sizes[] = {0, 4, (uint32_t)offsetof(pmt_rss_provider, read),
                                           (uint32_t)sizeof(pmt_rss_provider) + 1, UINT32_MAX};
    fake_rss rss = {0};
    for (size_t i = 0; i < sizeof bad_provider_sizes / sizeof *bad_provider_sizes; i++) {
        p.struct_size = bad_provider_sizes[i];
        ck_assert_int_eq(pmt_tracer_set_rss_provider(t, &p, &rss), PMT_EVERSION);
    }
    p.struct_size = (uint32_t)offsetof(pmt_rss_provider, may_have_changed);
    p.may_have_changed = gate_closed;
    ck_assert_int_eq(pmt_tracer_set_rss_provider(t, &p, &rss), PMT_OK);
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_D_RSS_TRIGGER, 0), PMT_OK);
    ck_assert_int_eq(pmt_tracer_start(t), PMT_OK);
    int reads = rss.reads;
    pmt__tracer_event(t, PMT_EV_CALL, "x.py", "f", 1, 0);
    ck_assert_int_eq(rss.reads, reads + 1); /* the gate was not part of the struct */
    pmt_tracer_destroy(t);
}
END_TEST

START_TEST(strerror_knows_every_code)
{
    const int codes[] = {PMT_OK,      PMT_EINVAL,     PMT_ENOMEM,    PMT_EIO,     PMT_ENOTSUP,
                         PMT_ESTATE,  PMT_EVERSION,   PMT_ECALLBACK, PMT_EPYTHON, PMT_ENOTHREAD,
                         PMT_EFORMAT, PMT_ETRUNCATED, PMT_EBUSY};
    const size_t n = sizeof codes / sizeof *codes;
    const char *unknown = pmt_strerror(-1000);
    ck_assert_str_eq(unknown, "unknown error");
    ck_assert_str_eq(pmt_strerror(1), "unknown error");
    ck_assert_str_eq(pmt_strerror(PMT_EBUSY - 1), "unknown error");
    ck_assert_str_eq(pmt_strerror(INT_MIN), "unknown error");
    ck_assert_str_eq(pmt_strerror(INT_MAX), "unknown error");
    for (size_t i = 0; i < n; i++) {
        const char *text = pmt_strerror(codes[i]);
        ck_assert_ptr_nonnull(text);
        ck_assert_str_ne(text, "");
        ck_assert_str_ne(text, unknown);
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne(text, pmt_strerror(codes[j]));
    }
}
END_TEST

static void *message_in_new_thread(void *arg)
{
    (void)arg;
    /* A thread that has not failed yet has an empty message, whatever others did. */
    if (strcmp(pmt_last_error_message(), "") != 0 || pmt_last_os_error() != 0)
        return "not empty at first";
    if (pmt_tracer_state_of(NULL) != PMT_EINVAL)
        return "no EINVAL";
    if (strcmp(pmt_last_error_message(), "") == 0)
        return "empty after a failure";
    return NULL;
}

START_TEST(error_messages_are_per_thread)
{
    ck_assert_int_eq(pmt_rss_current(NULL), PMT_EINVAL);
    const char *mine = pmt_last_error_message();
    ck_assert_str_ne(mine, "");
    char *copy = strdup(mine);
    ck_assert_int_eq(pmt_last_os_error(), 0); /* not an OS error */
    pthread_t thread;
    void *result = "not run";
    ck_assert_int_eq(pthread_create(&thread, NULL, message_in_new_thread, NULL), 0);
    ck_assert_int_eq(pthread_join(thread, &result), 0);
    ck_assert_msg(result == NULL, "other thread: %s", (const char *)result);
    ck_assert_str_eq(pmt_last_error_message(), copy);
    free(copy);
}
END_TEST

START_TEST(a_failing_sink_is_disabled_and_others_go_on)
{
    fake_clock clock = {0};
    fake_rss rss = {0};
    capture failing = {0}, healthy = {0};
    failing.fail_at_write = 3;
    pmt_tracer *t = fake_tracer(&clock, &rss, 0, &failing);
    ck_assert_int_eq(pmt_tracer_add_sink(t, capture_sink(&healthy)), PMT_OK);
    ck_assert_int_eq(pmt_tracer_start(t), PMT_OK);
    for (int i = 0; i < 10; i++)
        pmt__tracer_event(t, PMT_EV_CALL, "x.py", "f", i, 0);
    uint64_t failed = 0, written = 0;
    ck_assert_int_eq(pmt_tracer_get_stat(t, PMT_STAT_SINKS_FAILED, &failed), PMT_OK);
    ck_assert_uint_eq(failed, 1);
    ck_assert_int_eq(failing.writes, 3); /* no call after the failure */
    ck_assert_uint_eq(failing.count, 2);
    ck_assert_int_eq(pmt_tracer_mark(t, "still here"), PMT_OK);
    ck_assert_int_eq(pmt_tracer_stop(t), PMT_OK);
    ck_assert_int_eq(failing.writes, 3);
    ck_assert_int_eq(pmt_tracer_get_stat(t, PMT_STAT_EVENTS_WRITTEN, &written), PMT_OK);
    ck_assert_uint_eq(healthy.count, 13);
    ck_assert_uint_eq(written, healthy.count);
    for (size_t i = 0; i < healthy.count; i++)
        ck_assert_uint_eq(healthy.events[i].ev.seq, i);
    ck_assert_int_eq(pmt_tracer_get_stat(t, PMT_STAT_SINKS_FAILED, &failed), PMT_OK);
    ck_assert_uint_eq(failed, 1);
    pmt_tracer_destroy(t);
    ck_assert_int_eq(failing.closes, 1);
    ck_assert_int_eq(healthy.closes, 1);
    capture_free(&failing);
    capture_free(&healthy);
}
END_TEST

START_TEST(a_failing_flush_disables_the_sink)
{
    fake_clock clock = {0};
    fake_rss rss = {0};
    capture failing = {0}, healthy = {0};
    failing.fail_flush = 1;
    pmt_tracer *t = fake_tracer(&clock, &rss, 0, &failing);
    ck_assert_int_eq(pmt_tracer_add_sink(t, capture_sink(&healthy)), PMT_OK);
    ck_assert_int_eq(pmt_tracer_start(t), PMT_OK);
    ck_assert_int_eq(pmt_tracer_mark(t, "flush now"), PMT_OK);
    uint64_t failed = 0;
    ck_assert_int_eq(pmt_tracer_get_stat(t, PMT_STAT_SINKS_FAILED, &failed), PMT_OK);
    ck_assert_uint_eq(failed, 1);
    int writes = failing.writes;
    pmt__tracer_event(t, PMT_EV_CALL, "x.py", "f", 1, 0);
    ck_assert_int_eq(failing.writes, writes);
    ck_assert_uint_eq(healthy.count, 3);
    pmt_tracer_destroy(t);
    ck_assert_int_eq(failing.closes, 1);
    capture_free(&failing);
    capture_free(&healthy);
}
END_TEST

START_TEST(a_failing_rss_provider_reuses_the_last_value)
{
    fake_clock clock = {0};
    fake_rss rss = {0};
    capture cap = {0};
    pmt_tracer *t = fake_tracer(&clock, &rss, 0, &cap);
    rss.value = 5000;
    ck_assert_int_eq(pmt_tracer_start(t), PMT_OK);
    rss.value = 6000;
    pmt__tracer_event(t, PMT_EV_CALL, "x.py", "f", 1, 0);
    rss.fail = 1;
    rss.value = 999999; /* never delivered: the read fails */
    pmt__tracer_event(t, PMT_EV_CALL, "x.py", "f", 2, 0);
    pmt__tracer_event(t, PMT_EV_CALL, "x.py", "f", 3, 0);
    uint64_t errors = 0;
    ck_assert_int_eq(pmt_tracer_get_stat(t, PMT_STAT_RSS_ERRORS, &errors), PMT_OK);
    ck_assert_uint_eq(errors, 2);
    rss.fail = 0;
    rss.value = 7000;
    pmt__tracer_event(t, PMT_EV_CALL, "x.py", "f", 4, 0);
    ck_assert_uint_eq(cap.count, 5);
    ck_assert_uint_eq(cap.events[2].ev.rss, 6000);
    ck_assert_int_eq(cap.events[2].ev.d_rss, 0);
    ck_assert_uint_eq(cap.events[3].ev.rss, 6000);
    ck_assert_uint_eq(cap.events[4].ev.rss, 7000);
    ck_assert_int_eq(cap.events[4].ev.d_rss, 1000);
    ck_assert_int_eq(pmt_tracer_get_stat(t, PMT_STAT_RSS_ERRORS, &errors), PMT_OK);
    ck_assert_uint_eq(errors, 2);
    pmt_tracer_destroy(t);
    capture_free(&cap);
}
END_TEST

START_TEST(a_closed_gate_prevents_reads)
{
    fake_clock clock = {0};
    fake_rss rss = {0};
    capture cap = {0};
    pmt_tracer *t = fake_tracer(&clock, &rss, 0, &cap);
    pmt_rss_provider p = fake_rss_provider(1);
    fake_rss gated = {0};
    ck_assert_int_eq(pmt_tracer_set_rss_provider(t, &p, &gated), PMT_OK);
    ck_assert_int_eq(rss.releases, 1); /* the replaced provider */
    gated.gate_open = 1;
    gated.value = 3000;
    ck_assert_int_eq(pmt_tracer_start(t), PMT_OK);
    gated.gate_open = 0;
    gated.value = 4000;
    int reads = gated.reads;
    for (int i = 0; i < 5; i++)
        pmt__tracer_event(t, PMT_EV_CALL, "x.py", "f", i, 0);
    ck_assert_int_eq(gated.reads, reads);
    ck_assert_int_ge(gated.gate_calls, 5);
    ck_assert_uint_eq(cap.events[5].ev.rss, 3000);
    gated.gate_open = 1;
    pmt__tracer_event(t, PMT_EV_CALL, "x.py", "f", 9, 0);
    ck_assert_int_gt(gated.reads, reads);
    ck_assert_uint_eq(cap.events[6].ev.rss, 4000);
    pmt_tracer_destroy(t);
    ck_assert_int_eq(gated.releases, 1);
    ck_assert_int_eq(rss.releases, 1);
    capture_free(&cap);
}
END_TEST

START_TEST(event_kind_names)
{
    ck_assert_str_eq(pmt_event_kind_name(PMT_EV_CALL), "CALL");
    ck_assert_str_eq(pmt_event_kind_name(PMT_EV_C_EXCEPTION), "C_EXCEPT");
    ck_assert_str_eq(pmt_event_kind_name(-1), "UNKNOWN");
    ck_assert_str_eq(pmt_event_kind_name(PMT_EV_KIND_COUNT), "UNKNOWN");
    ck_assert_str_eq(pmt_event_kind_name(INT_MAX), "UNKNOWN");
    for (int k = 0; k < PMT_EV_KIND_COUNT; k++) {
        const char *name = pmt_event_kind_name(k);
        ck_assert_ptr_nonnull(name);
        ck_assert_str_ne(name, "UNKNOWN");
        /* Upper case and short enough for the What column of the text log. */
        ck_assert_uint_le(strlen(name), 8);
        for (const char *p = name; *p; p++)
            ck_assert(isupper((unsigned char)*p) || *p == '_');
        for (int j = 0; j < k; j++)
            ck_assert_str_ne(name, pmt_event_kind_name(j));
    }
}
END_TEST

Suite *api_errors_suite(void)
{
    Suite *s = suite_create("api_errors");
    TCase *tc = unit_tcase("api_errors");
    tcase_add_test(tc, null_arguments_are_einval);
    tcase_add_test(tc, parameters_bounds_and_unknowns);
    tcase_add_test(tc, life_cycle_state_errors);
    tcase_add_test(tc, a_sink_cannot_join_two_tracers);
    tcase_add_test(tc, destroy_stops_a_running_tracer);
    tcase_add_test(tc, source_failures_are_returned);
    tcase_add_test(tc, struct_size_is_checked_and_honoured);
    tcase_add_test(tc, strerror_knows_every_code);
    tcase_add_test(tc, error_messages_are_per_thread);
    tcase_add_test(tc, a_failing_sink_is_disabled_and_others_go_on);
    tcase_add_test(tc, a_failing_flush_disables_the_sink);
    tcase_add_test(tc, a_failing_rss_provider_reuses_the_last_value);
    tcase_add_test(tc, a_closed_gate_prevents_reads);
    tcase_add_test(tc, event_kind_names);
    suite_add_tcase(s, tc);
    return s;
}
