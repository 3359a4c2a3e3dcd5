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

#include "fakes.h"
#include "suites.h"

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
    tcase_add_test(tc, bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}
