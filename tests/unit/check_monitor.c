/* The RSS monitor with the real sampler: samples at its interval into a JSON-lines file and a
 * callback, labels from another thread each taken at once, a stop that does not wait for the
 * next tick, and its errors. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "binlog.h"
#include "fakes.h"
#include "suites.h"
#include "platform/os.h"

typedef struct seen {
    uint64_t count, last_seq, last_time, rss;
    int labels, ordered;
    char last_label[64];
} seen;

static int on_sample(const pmt_sample *s, void *user_data)
{
    seen *w = user_data;
    if (w->count && (s->seq != w->last_seq + 1 || s->time_ns < w->last_time))
        w->ordered = 0;
    w->count++;
    w->last_seq = s->seq;
    w->last_time = s->time_ns;
    w->rss = s->rss;
    if (s->label) {
        w->labels++;
        snprintf(w->last_label, sizeof w->last_label, "%s", s->label);
    }
    return 0;
}

static void *label_from_another_thread(void *monitor)
{
    ck_assert_int_eq(pmt_monitor_label(monitor, "from \"another\" thread"), PMT_OK);
    return NULL;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

START_TEST(samples_labels_and_a_prompt_stop)
{
    char *dir = temp_dir_create();
    char *path;
    ck_assert_int_gt(asprintf(&path, "%s/m.jsonl", dir), 0);
    pmt_monitor *m = NULL;
    ck_assert_int_eq(pmt_monitor_create(&m), PMT_OK);
    ck_assert_int_eq(pmt_monitor_set_interval_ns(m, 10000000), PMT_OK); /* 10 ms */
    ck_assert_int_eq(pmt_monitor_open_jsonl(m, path), PMT_OK);
    seen w = {.ordered = 1};
    ck_assert_int_eq(pmt_monitor_set_callback(m, on_sample, &w), PMT_OK);
    ck_assert_int_eq(pmt_monitor_start(m), PMT_OK);
    ck_assert_int_eq(pmt_monitor_start(m), PMT_ESTATE);
    sleep_ms(100);
    pthread_t other;
    ck_assert_int_eq(pthread_create(&other, NULL, label_from_another_thread, m), 0);
    pthread_join(other, NULL);
    sleep_ms(30);
    ck_assert_int_eq(pmt_monitor_stop(m), PMT_OK);
    ck_assert_int_eq(pmt_monitor_stop(m), PMT_ESTATE);
    ck_assert_int_eq(pmt_monitor_label(m, "late"), PMT_ESTATE);
    uint64_t samples = 0;
    ck_assert_int_eq(pmt_monitor_samples(m, &samples), PMT_OK);
    ck_assert_uint_ge(samples, 5); /* ~13 at 10 ms, however busy the machine */
    ck_assert_uint_eq(w.count, samples);
    ck_assert(w.ordered);
    ck_assert_int_eq(w.labels, 1);
    ck_assert_str_eq(w.last_label, "from \"another\" thread");
    ck_assert_uint_gt(w.rss, 1 << 20);
    char *text = read_whole_file(path, NULL);
    ck_assert_ptr_nonnull(text);
    size_t lines = 0;
    for (char *p = text; (p = strchr(p, '\n')); p++)
        lines++;
    ck_assert_uint_eq(lines, samples);
    ck_assert_ptr_nonnull(strstr(text, "\"label\": \"from \\\"another\\\" thread\""));
    ck_assert_ptr_nonnull(strstr(text, "\"memory_info\": {\"rss\": "));
    free(text);
    pmt_monitor_destroy(m);

    /* An existing file is never overwritten. */
    ck_assert_int_eq(pmt_monitor_create(&m), PMT_OK);
    ck_assert_int_eq(pmt_monitor_open_jsonl(m, path), PMT_EIO);
    pmt_monitor_destroy(m);
    unlink(path);
    free(path);
    temp_dir_remove(dir);
}
END_TEST

START_TEST(a_stop_does_not_wait_for_the_next_tick)
{
    pmt_monitor *m = NULL;
    ck_assert_int_eq(pmt_monitor_create(&m), PMT_OK);
    ck_assert_int_eq(pmt_monitor_set_interval_ns(m, UINT64_C(3600) * 1000000000u), PMT_OK);
    ck_assert_int_eq(pmt_monitor_start(m), PMT_OK);
    sleep_ms(20);
    /* With an hour's interval the thread waits for its next tick: the stop wakes it (this test
     * would time out otherwise). */
    ck_assert_int_eq(pmt_monitor_stop(m), PMT_OK);
    uint64_t samples = 0;
    ck_assert_int_eq(pmt_monitor_samples(m, &samples), PMT_OK);
    ck_assert_uint_eq(samples, 2); /* the first, and the last at the stop */
    pmt_monitor_destroy(m);
}
END_TEST

START_TEST(a_child_of_fork_stops_without_the_parents_thread)
{
    pmt_monitor *m = NULL;
    ck_assert_int_eq(pmt_monitor_create(&m), PMT_OK);
    ck_assert_int_eq(pmt_monitor_set_interval_ns(m, 10000000), PMT_OK);
    ck_assert_int_eq(pmt_monitor_start(m), PMT_OK);
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) { /* joining a thread this process does not have would hang or crash */
        int rc = pmt_monitor_stop(m);
        pmt_monitor_destroy(m);
        _exit(rc == PMT_OK ? 0 : 1);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    sleep_ms(30);
    uint64_t before = 0, after = 0;
    ck_assert_int_eq(pmt_monitor_samples(m, &before), PMT_OK);
    sleep_ms(50);
    ck_assert_int_eq(pmt_monitor_samples(m, &after), PMT_OK);
    ck_assert_uint_gt(after, before); /* the parent's thread samples on */
    ck_assert_int_eq(pmt_monitor_stop(m), PMT_OK);
    pmt_monitor_destroy(m);
}
END_TEST

/* One Python event now (the tracer's fake clock set to the monotonic clock the samples use). */
static void event_now(pmt_tracer *t, fake_clock *clock, pmt_event_kind kind, int32_t line)
{
    clock->now = pmt__monotonic_ns();
    pmt__tracer_event(t, kind, "app.py", "work", line, 1);
}

static size_t count_of(const char *text, const char *what)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, what)); p += strlen(what))
        n++;
    return n;
}

START_TEST(samples_reach_a_tracers_sinks_beside_its_events)
{
    char *dir = temp_dir_create();
    char *binary, *text_path;
    ck_assert_int_gt(asprintf(&binary, "%s/t.pmt", dir), 0);
    ck_assert_int_gt(asprintf(&text_path, "%s/t.log", dir), 0);
    fake_clock clock = {.now = pmt__monotonic_ns()};
    fake_rss rss = {.value = 100 << 20};
    capture cap = {0};
    pmt_tracer *t = fake_tracer(&clock, &rss, 4096, &cap);
    pmt_sink *b = NULL, *x = NULL;
    ck_assert_int_eq(pmt_sink_binary_open(&b, binary, NULL, NULL), PMT_OK);
    ck_assert_int_eq(pmt_sink_text_open(&x, text_path, NULL), PMT_OK);
    ck_assert_int_eq(pmt_tracer_add_sink(t, b), PMT_OK);
    ck_assert_int_eq(pmt_tracer_add_sink(t, x), PMT_OK);

    pmt_monitor *m = NULL, *other = NULL;
    ck_assert_int_eq(pmt_monitor_create(&m), PMT_OK);
    ck_assert_int_eq(pmt_monitor_set_interval_ns(m, 2000000), PMT_OK); /* 2 ms */
    ck_assert_int_eq(pmt_monitor_add_tracer(m, NULL), PMT_EINVAL);
    ck_assert_int_eq(pmt_monitor_add_tracer(m, t), PMT_OK);
    ck_assert_int_eq(pmt_monitor_add_tracer(m, t), PMT_EBUSY);
    ck_assert_int_eq(pmt_monitor_create(&other), PMT_OK);
    ck_assert_int_eq(pmt_monitor_add_tracer(other, t), PMT_EBUSY); /* one monitor per tracer */
    pmt_monitor_destroy(other);

    ck_assert_int_eq(pmt_tracer_start(t), PMT_OK);
    ck_assert_int_eq(pmt_monitor_start(m), PMT_OK);
    ck_assert_int_eq(pmt_monitor_add_tracer(m, t), PMT_ESTATE); /* started */
    for (int i = 0; i < 40; i++) {
        if (i % 10 == 5)
            rss.value += 1 << 20; /* a triggered event now and then */
        event_now(t, &clock, i % 2 ? PMT_EV_RETURN : PMT_EV_CALL, 10 + i);
        if (i == 20) {
            ck_assert_int_eq(pmt_monitor_label(m, "half way"), PMT_OK);
            sleep_ms(5);
        }
        sleep_ms(1);
    }
    ck_assert_int_eq(pmt_monitor_stop(m), PMT_OK);
    clock.now = pmt__monotonic_ns();
    ck_assert_int_eq(pmt_tracer_stop(t), PMT_OK);

    uint64_t taken = 0, written = 0, lost = 1;
    ck_assert_int_eq(pmt_monitor_samples(m, &taken), PMT_OK);
    ck_assert_int_eq(pmt_tracer_get_stat(t, PMT_STAT_SAMPLES_WRITTEN, &written), PMT_OK);
    ck_assert_int_eq(pmt_tracer_get_stat(t, PMT_STAT_SAMPLES_LOST, &lost), PMT_OK);
    ck_assert_uint_ge(taken, 5);
    ck_assert_uint_eq(written, taken); /* the monitor ran inside the tracer's run */
    ck_assert_uint_eq(lost, 0);

    size_t samples = 0, labelled = 0;
    uint64_t last_time = 0, last_sample_seq = 0, event_rss = 0;
    for (size_t i = 0; i < cap.count; i++) {
        const captured *c = &cap.events[i];
        ck_assert_uint_ge(c->ev.time_ns, last_time); /* one stream, in time order */
        last_time = c->ev.time_ns;
        if (c->ev.kind != PMT_EV_SAMPLE) {
            /* Samples leave the events' dRSS alone: each is against the last event's RSS. */
            ck_assert_int_eq(c->ev.d_rss, (int64_t)(c->ev.rss - event_rss));
            event_rss = c->ev.rss;
            ck_assert(!c->has_sample);
            continue;
        }
        ck_assert(c->has_sample);
        ck_assert_int_eq(c->ev.reason, PMT_REASON_SAMPLE);
        ck_assert_str_eq(c->function, "<monitor>");
        ck_assert_uint_eq(c->ev.rss, c->sample.rss);
        ck_assert_uint_gt(c->sample.rss, 1 << 20); /* the process's real RSS, not the fake's */
        ck_assert_uint_ne(c->ev.thread_id, pmt__os_thread_id()); /* the monitor's thread */
        if (samples)
            ck_assert_uint_eq(c->sample.seq, last_sample_seq + 1);
        last_sample_seq = c->sample.seq;
        samples++;
        if (c->message) {
            ck_assert_str_eq(c->message, "half way");
            labelled++;
        }
    }
    ck_assert_uint_eq(samples, taken);
    ck_assert_uint_eq(labelled, 1);
    ck_assert_int_eq(cap.events[cap.count - 1].ev.kind, PMT_EV_STOP); /* the last sample before */
    pmt_monitor_destroy(m); /* the monitor first, the tracer after (it closes the logs) */
    pmt_tracer_destroy(t);

    /* The binary log gives back every event and sample, field by field. */
    binlog_read got;
    binlog_read_file(binary, &got);
    ck_assert_msg(got.status == PMT_OK, "read back: %d %s", got.status, got.reason);
    ck_assert_uint_eq(got.events.count, cap.count);
    binlog_assert_prefix(&got.events, &cap, "samples");
    binlog_read_free(&got);

    char *text = read_whole_file(text_path, NULL);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(count_of(text, "SMPL: "), samples);
    ck_assert_ptr_nonnull(strstr(text, " max "));
    ck_assert_ptr_nonnull(strstr(text, " # half way\n"));
    free(text);
    capture_free(&cap);
    unlink(binary);
    unlink(text_path);
    free(binary);
    free(text_path);
    temp_dir_remove(dir);
}
END_TEST

START_TEST(a_tracer_may_go_before_its_monitor)
{
    fake_clock clock = {.now = pmt__monotonic_ns()};
    fake_rss rss = {.value = 1 << 20};
    capture cap = {0};
    pmt_tracer *t = fake_tracer(&clock, &rss, 4096, &cap);
    pmt_monitor *m = NULL;
    ck_assert_int_eq(pmt_monitor_create(&m), PMT_OK);
    ck_assert_int_eq(pmt_monitor_set_interval_ns(m, 1000000), PMT_OK);
    /* Samples taken before the tracer's run are no one's. */
    ck_assert_int_eq(pmt_monitor_add_tracer(m, t), PMT_OK);
    ck_assert_int_eq(pmt_monitor_start(m), PMT_OK);
    sleep_ms(10);
    ck_assert_int_eq(pmt_tracer_start(t), PMT_OK);
    ck_assert_int_eq(cap.events[0].ev.kind, PMT_EV_START);
    sleep_ms(10);
    event_now(t, &clock, PMT_EV_CALL, 1);
    ck_assert_uint_gt(cap.count, 1); /* samples of the run, before the event */
    ck_assert_uint_ge(cap.events[1].ev.time_ns, cap.events[0].ev.time_ns);
    pmt_tracer_destroy(t); /* stops it; the monitor samples on into nothing */
    sleep_ms(10);
    ck_assert_int_eq(pmt_monitor_stop(m), PMT_OK);
    pmt_monitor_destroy(m);
    capture_free(&cap);

    /* A stopped tracer takes no monitor. */
    t = fake_tracer(&clock, &rss, 4096, NULL);
    ck_assert_int_eq(pmt_tracer_start(t), PMT_OK);
    ck_assert_int_eq(pmt_tracer_stop(t), PMT_OK);
    ck_assert_int_eq(pmt_monitor_create(&m), PMT_OK);
    ck_assert_int_eq(pmt_monitor_add_tracer(m, t), PMT_ESTATE);
    pmt_monitor_destroy(m);
    pmt_tracer_destroy(t);
}
END_TEST

START_TEST(a_full_queue_counts_what_it_loses)
{
    pmt__sample_queue *q = pmt__sample_queue_new();
    ck_assert_ptr_nonnull(q);
    pmt_sample s = {.struct_size = sizeof s, .rss = 1};
    ck_assert_int_eq(pmt__sample_queue_push(q, &s, 7), 0); /* closed: dropped, not lost */
    ck_assert_uint_eq(atomic_load(&q->lost), 0);
    pmt__sample_queue_set_open(q, 1);
    s.label = "first";
    for (int i = 0; i < PMT__SAMPLE_QUEUE_SIZE; i++) {
        s.seq = (uint64_t)i;
        ck_assert_int_eq(pmt__sample_queue_push(q, &s, 7), 1);
        s.label = NULL;
    }
    ck_assert_int_eq(pmt__sample_queue_push(q, &s, 7), 0);
    ck_assert_uint_eq(atomic_load(&q->lost), 1);
    ck_assert(pmt__sample_queue_ready(q));
    pmt__queued_sample *e = pmt__sample_queue_peek(q);
    ck_assert_str_eq(e->sample.label, "first"); /* a copy of its own */
    ck_assert_uint_eq(e->thread_id, 7);
    pmt__sample_queue_pop(q);
    ck_assert_int_eq(pmt__sample_queue_push(q, &s, 7), 1); /* room again */
    pmt__sample_queue_release(q);
    pmt__sample_queue_release(q); /* the last frees the labels still waiting (ASan checks) */
}
END_TEST

START_TEST(bad_arguments)
{
    pmt_monitor *m = NULL;
    ck_assert_int_eq(pmt_monitor_create(NULL), PMT_EINVAL);
    ck_assert_int_eq(pmt_monitor_create(&m), PMT_OK);
    ck_assert_int_eq(pmt_monitor_set_interval_ns(m, 999999), PMT_EINVAL);
    ck_assert_ptr_nonnull(strstr(pmt_last_error_message(), "between 1 ms and 1 hour"));
    ck_assert_int_eq(pmt_monitor_set_interval_ns(m, UINT64_C(3601) * 1000000000u), PMT_EINVAL);
    ck_assert_int_eq(pmt_monitor_open_jsonl(m, NULL), PMT_EINVAL);
    ck_assert_int_eq(pmt_monitor_open_jsonl(m, "/nonexistent-dir/m.jsonl"), PMT_EIO);
    ck_assert_int_eq(pmt_monitor_label(m, "not running"), PMT_ESTATE);
    ck_assert_int_eq(pmt_monitor_stop(m), PMT_ESTATE);
    ck_assert_int_eq(pmt_monitor_label(NULL, "x"), PMT_EINVAL);
    ck_assert_int_eq(pmt_monitor_samples(m, NULL), PMT_EINVAL);
    pmt_monitor_destroy(m);
    pmt_monitor_destroy(NULL);
}
END_TEST

Suite *monitor_suite(void)
{
    Suite *s = suite_create("monitor");
    TCase *tc = unit_tcase("monitor");
    tcase_add_test(tc, samples_labels_and_a_prompt_stop);
    tcase_add_test(tc, a_stop_does_not_wait_for_the_next_tick);
    tcase_add_test(tc, a_child_of_fork_stops_without_the_parents_thread);
    tcase_add_test(tc, samples_reach_a_tracers_sinks_beside_its_events);
    tcase_add_test(tc, a_tracer_may_go_before_its_monitor);
    tcase_add_test(tc, a_full_queue_counts_what_it_loses);
    tcase_add_test(tc, bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}
