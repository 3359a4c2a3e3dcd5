/* The real Linux provider: it sees memory being touched, agrees with the kernel, and a forked
 * child measures itself, not its parent. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fakes.h"
#include "suites.h"

#define MIB (UINT64_C(1) << 20)

/* Through a volatile pointer, so that the compiler cannot drop a memset of memory it then
 * frees unread. */
static void *(*volatile touch)(void *, int, size_t) = memset;

static uint64_t page_bytes(void)
{
    return (uint64_t)sysconf(_SC_PAGESIZE);
}

/* The resident size as the kernel states it, parsed independently of the library. */
static int statm_resident(uint64_t *out)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return -1;
    unsigned long long size = 0, resident = 0;
    int n = fscanf(f, "%llu %llu", &size, &resident);
    fclose(f);
    if (n != 2)
        return -1;
    *out = resident * page_bytes();
    return 0;
}

static uint64_t distance(uint64_t a, uint64_t b)
{
    return a > b ? a - b : b - a;
}

START_TEST(current_is_positive_and_agrees_with_statm)
{
    ck_assert_str_eq(pmt_rss_default_provider_name(), "linux-statm");
    uint64_t current = 0, kernel = 0;
    ck_assert_int_eq(pmt_rss_current(&current), PMT_OK);
    ck_assert_int_eq(statm_resident(&kernel), 0);
    ck_assert_uint_gt(current, 0);
    ck_assert_uint_eq(current % page_bytes(), 0);
    ck_assert_msg(distance(current, kernel) <= 2 * MIB, "library %llu, kernel %llu",
                  (unsigned long long)current, (unsigned long long)kernel);
}
END_TEST

START_TEST(current_grows_when_memory_is_touched)
{
    uint64_t before = 0, after = 0;
    ck_assert_int_eq(pmt_rss_current(&before), PMT_OK);
    const size_t size = 8 * MIB; /* large enough for malloc to mmap fresh pages */
    char *block = malloc(size);
    ck_assert_ptr_nonnull(block);
    touch(block, 0x5a, size);
    ck_assert_int_eq(pmt_rss_current(&after), PMT_OK);
    ck_assert_msg(after >= before + MIB, "RSS went from %llu to %llu after touching 8 MiB",
                  (unsigned long long)before, (unsigned long long)after);
    free(block);
}
END_TEST

static void assert_peak_at_least_current(void)
{
    uint64_t current = 0, peak = 0;
    ck_assert_int_eq(pmt_rss_current(&current), PMT_OK);
    ck_assert_int_eq(pmt_rss_peak(&peak), PMT_OK);
    ck_assert_msg(peak >= current, "peak %llu below current %llu (by %llu)",
                  (unsigned long long)peak, (unsigned long long)current,
                  (unsigned long long)(current - peak));
}

START_TEST(peak_is_at_least_current)
{
    assert_peak_at_least_current();
    const size_t size = 8 * MIB;
    char *block = malloc(size);
    ck_assert_ptr_nonnull(block);
    touch(block, 0x5a, size);
    assert_peak_at_least_current();
    free(block);
}
END_TEST

/* The child's side of the fork test; exit status 0 when it measured itself. */
static int child_measures_itself(pmt_tracer *t, const capture *cap, uint64_t parent_rss)
{
    const size_t size = 64 * MIB;
    char *block = malloc(size);
    if (!block)
        return 10;
    touch(block, 0x33, size);
    pmt__tracer_event(t, PMT_EV_CALL, "child.py", "f", 1, 0);
    const pmt_event *ev = &cap->events[cap->count - 1].ev;
    uint64_t traced = ev->rss, current = 0, kernel = 0;
    if (ev->thread_id != (uint64_t)syscall(SYS_gettid))
        return 15; /* the parent's cached thread id */
    if (pmt_rss_current(&current) != PMT_OK || statm_resident(&kernel) != 0)
        return 11;
    free(block);
    if (traced < parent_rss + 48 * MIB)
        return 12; /* the parent's RSS: the inherited descriptor was not reopened */
    if (distance(traced, kernel) > 8 * MIB)
        return 13;
    if (current < parent_rss + 48 * MIB || distance(current, kernel) > 8 * MIB)
        return 14;
    return 0;
}

START_TEST(a_forked_child_measures_itself)
{
    fake_source_reset();
    pmt_tracer *t = NULL;
    capture cap = {0};
    /* The default provider, opened in the parent before the fork. */
    ck_assert_int_eq(pmt__tracer_create_with_source(&t, &fake_source_ops, &g_source), PMT_OK);
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_D_RSS_TRIGGER, 0), PMT_OK);
    /* The child's copy goes on tracing (the default would leave it silent). */
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_ON_FORK, PMT_FORK_FOLLOW), PMT_OK);
    ck_assert_int_eq(pmt_tracer_add_sink(t, capture_sink(&cap)), PMT_OK);
    ck_assert_int_eq(pmt_tracer_start(t), PMT_OK);
    uint64_t parent_rss = cap.events[0].ev.rss, shared = 0;
    ck_assert_uint_gt(parent_rss, 0);
    ck_assert_int_eq(pmt_rss_current(&shared), PMT_OK);

    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(child_measures_itself(t, &cap, parent_rss));
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(
        WIFEXITED(status) && WEXITSTATUS(status) == 0,
        "child failed (status 0x%x; 12: it read its parent's RSS, 15: its parent's thread id)",
        (unsigned)status);

    /* And the parent still measures itself, not the child. */
    pmt__tracer_event(t, PMT_EV_CALL, "parent.py", "f", 1, 0);
    ck_assert_uint_lt(cap.events[cap.count - 1].ev.rss, parent_rss + 32 * MIB);
    ck_assert_int_eq(pmt_rss_current(&shared), PMT_OK);
    ck_assert_uint_lt(shared, parent_rss + 32 * MIB);
    pmt_tracer_destroy(t);
    capture_free(&cap);
}
END_TEST

Suite *rss_linux_suite(void)
{
    Suite *s = suite_create("rss_linux");
    TCase *tc = unit_tcase("rss_linux");
    tcase_add_test(tc, current_is_positive_and_agrees_with_statm);
    tcase_add_test(tc, current_grows_when_memory_is_touched);
    tcase_add_test(tc, peak_is_at_least_current);
    tcase_add_test(tc, a_forked_child_measures_itself);
    suite_add_tcase(s, tc);
    return s;
}
