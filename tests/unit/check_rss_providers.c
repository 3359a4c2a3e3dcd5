/* Each Linux RSS provider against its accuracy contract (doc/rss-providers.md): touch a known
 * number of pages, release them with munmap or MADV_DONTNEED, and compare what the provider
 * reports with /proc/self/statm at the same moment. */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pymemtrace/pymemtrace.h>

#include "platform/os.h"
#include "platform/linux/linux_ring.h"
#include "platform/rss_os.h"
#include "core/tracer_internal.h"
#include "fakes.h"
#include "suites.h"

/* Releasing 8 MiB may leave a few pages of bookkeeping behind (a sanitizer's shadow memory). */
enum { MIB = 1 << 20, TOUCHED = 8 * MIB, SLACK = 64 * 1024 };

/* A sanitizer's interceptors fault in shadow pages of their own around every read (a pread's
 * buffer, a deeper stack), which statm then counts: a few pages between two reads (6 seen on a
 * loaded machine, hence 8). */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZER_PAGES 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZER_PAGES 1
#endif
#endif
#ifdef SANITIZER_PAGES
enum { BETWEEN_READS = 8 * 4096 };
#else
enum { BETWEEN_READS = 0 };
#endif

static uint64_t distance(uint64_t a, uint64_t b)
{
    return a > b ? a - b : b - a;
}

typedef struct provider {
    pmt_rss_provider ops;
    void *state;
} provider;

static uint64_t statm(void)
{
    uint64_t v = 0;
    ck_assert_int_eq(pmt_rss_current(&v), PMT_OK);
    return v;
}

/* What the tracer would record for an event at now_ns: the gate, then a read if it opened. */
static uint64_t at_event(provider *p, uint64_t *last, uint64_t now_ns)
{
    if (p->ops.may_have_changed && !p->ops.may_have_changed(p->state, now_ns))
        return *last;
    ck_assert_int_eq(p->ops.read(p->state, last), PMT_OK);
    return *last;
}

static unsigned char *touch(size_t bytes)
{
    unsigned char *m =
        mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(m, MAP_FAILED);
    for (size_t i = 0; i < bytes; i += 4096)
        m[i] = 1;
    return m;
}

static int open_mode(pmt_rss_mode mode, uint64_t interval_ns, provider *p)
{
    memset(p, 0, sizeof *p);
    return pmt__rss_os_provider(mode, interval_ns, &p->ops, &p->state);
}

START_TEST(exact_follows_growth_and_release)
{
    provider p;
    ck_assert_int_eq(open_mode(PMT_RSS_EXACT, 0, &p), PMT_OK);
    uint64_t last = 0;
    uint64_t before = at_event(&p, &last, pmt__monotonic_ns());
    unsigned char *m = touch(TOUCHED);
    uint64_t grown = at_event(&p, &last, pmt__monotonic_ns());
    ck_assert_uint_ge(grown - before, TOUCHED);
    munmap(m, TOUCHED);
    ck_assert_uint_le(at_event(&p, &last, pmt__monotonic_ns()), grown - TOUCHED + SLACK);
    p.ops.release(p.state);
}
END_TEST

START_TEST(interval_is_stale_by_at_most_the_interval)
{
    const uint64_t interval = 50u * 1000 * 1000; /* a clock of our own: no sleeping */
    provider p;
    ck_assert_int_eq(open_mode(PMT_RSS_INTERVAL, interval, &p), PMT_OK);
    uint64_t last = 0, t0 = interval; /* the first event reads */
    uint64_t before = at_event(&p, &last, t0);
    unsigned char *m = touch(TOUCHED);
    ck_assert_uint_eq(at_event(&p, &last, t0 + interval - 1), before); /* within: reused */
    ck_assert_uint_ge(at_event(&p, &last, t0 + interval) - before, TOUCHED);
    munmap(m, TOUCHED);
    p.ops.release(p.state);
}
END_TEST

START_TEST(fault_gate_sees_faults_at_once_and_releases_within_the_staleness)
{
    const uint64_t staleness = 50u * 1000 * 1000;
    provider p;
    int rc = open_mode(PMT_RSS_FAULT_GATE, staleness, &p);
    if (rc == PMT_ENOTSUP)
        return; /* perf_event_paranoid > 2: AUTO falls back, tested by the interval case */
    ck_assert_int_eq(rc, PMT_OK);
    uint64_t last = 0, t = staleness;
    uint64_t before = at_event(&p, &last, t);
    unsigned char *m = touch(TOUCHED);
    uint64_t grown = at_event(&p, &last, t + 1);
    ck_assert_uint_ge(grown - before, TOUCHED); /* the faults opened the gate */
    ck_assert_uint_le(distance(grown, statm()), SLACK + BETWEEN_READS);
    /* MADV_DONTNEED drops the pages without a fault: the contract allows the old value until the
     * staleness passes, and requires the new one after it. */
    ck_assert_int_eq(madvise(m, TOUCHED, MADV_DONTNEED), 0);
    uint64_t soon = at_event(&p, &last, t + 2); /* stale is allowed, a fresh read too */
    ck_assert(soon == grown || soon <= grown - TOUCHED + SLACK + BETWEEN_READS);
    ck_assert_uint_le(at_event(&p, &last, t + 1 + staleness),
                      grown - TOUCHED + SLACK + BETWEEN_READS);
    munmap(m, TOUCHED);
    p.ops.release(p.state);
}
END_TEST

/* An exact provider against statm. Running a code path for the first time faults its text in,
 * 16 pages at a time (fault-around), so RSS can move between two reads made one after the other:
 * the provider must agree with statm read just before it, or with statm read just after (within
 * what a sanitizer adds between two reads). */
static void assert_exact(provider *p, uint64_t *last)
{
    uint64_t before = statm();
    uint64_t seen = at_event(p, last, 0);
    if (distance(seen, before) > BETWEEN_READS)
        ck_assert_uint_le(distance(seen, statm()), BETWEEN_READS);
}

/* The ring needs root and tracefs; as root the test mounts tracefs itself (the library never
 * does). Anywhere else it checks that the refusal says why. */
static int ring_available(void)
{
    if (geteuid() == 0 && access("/sys/kernel/tracing/events", F_OK) != 0)
        mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL);
    provider p;
    int rc = open_mode(PMT_RSS_KERNEL_RING, 0, &p);
    if (rc == PMT_OK) {
        p.ops.release(p.state);
        return 1;
    }
    ck_assert_int_eq(rc, PMT_ENOTSUP);
    ck_assert_ptr_nonnull(strstr(pmt_last_error_message(), "rss_stat"));
    return 0;
}

START_TEST(ring_is_exact_at_every_step)
{
    if (!ring_available())
        return;
    provider p;
    ck_assert_int_eq(open_mode(PMT_RSS_KERNEL_RING, 0, &p), PMT_OK);
    uint64_t last = 0;
    for (int round = 0; round < 20; round++) {
        size_t bytes = (size_t)(round + 1) * 64 * 4096;
        unsigned char *m = touch(bytes);
        assert_exact(&p, &last);
        ck_assert_int_eq(madvise(m, bytes / 2, MADV_DONTNEED), 0);
        assert_exact(&p, &last);
        munmap(m, bytes);
        assert_exact(&p, &last);
    }
    p.ops.release(p.state);
}
END_TEST

static void *touch_in_thread(void *bytes)
{
    return touch((size_t)(uintptr_t)bytes);
}

START_TEST(ring_sees_another_threads_growth)
{
    if (!ring_available())
        return;
    provider p;
    ck_assert_int_eq(open_mode(PMT_RSS_KERNEL_RING, 0, &p), PMT_OK);
    uint64_t last = 0;
    uint64_t before = at_event(&p, &last, 0);
    pthread_t thread;
    void *m = NULL;
    ck_assert_int_eq(pthread_create(&thread, NULL, touch_in_thread, (void *)(uintptr_t)TOUCHED), 0);
    ck_assert_int_eq(pthread_join(thread, &m), 0);
    uint64_t grown = at_event(&p, &last, 0);
    ck_assert_uint_ge(grown - before, TOUCHED);
    assert_exact(&p, &last);
    munmap(m, TOUCHED);
    p.ops.release(p.state);
}
END_TEST

START_TEST(ring_survives_lost_records)
{
    if (!ring_available())
        return;
    provider p;
    memset(&p, 0, sizeof p);
    ck_assert_int_eq(pmt__ring_provider(1, &p.ops, &p.state), PMT_OK); /* one page: overflows */
    uint64_t last = 0;
    unsigned char *m = touch(64 * MIB); /* ~16k samples into a ring of ~100 */
    assert_exact(&p, &last);
    ck_assert_uint_ge(pmt__ring_resyncs(p.state), 1);
    munmap(m, 64 * MIB);
    assert_exact(&p, &last);
    p.ops.release(p.state);
}
END_TEST

/* Two tracers share the process's rings: each sees every change, whichever of them drained it;
 * after both stop the rings are off, and the next tracer finds them re-seeded, exact again. */
START_TEST(ring_is_shared_and_comes_back_exact)
{
    if (!ring_available())
        return;
    provider a, b;
    ck_assert_int_eq(open_mode(PMT_RSS_KERNEL_RING, 0, &a), PMT_OK);
    ck_assert_int_eq(open_mode(PMT_RSS_KERNEL_RING, 0, &b), PMT_OK);
    uint64_t last_a = 0, last_b = 0;
    assert_exact(&a, &last_a);
    assert_exact(&b, &last_b);
    unsigned char *m = touch(TOUCHED);
    assert_exact(&a, &last_a); /* a drains what b has not seen yet */
    assert_exact(&b, &last_b); /* b's gate must open all the same */
    a.ops.release(a.state);
    munmap(m, TOUCHED);
    assert_exact(&b, &last_b);
    b.ops.release(b.state);
    unsigned char *idle = touch(TOUCHED); /* while no tracer uses the rings */
    provider c;
    ck_assert_int_eq(open_mode(PMT_RSS_KERNEL_RING, 0, &c), PMT_OK);
    uint64_t last_c = 0;
    assert_exact(&c, &last_c);
    munmap(idle, TOUCHED);
    assert_exact(&c, &last_c);
    c.ops.release(c.state);
}
END_TEST

START_TEST(ring_in_a_forked_child_follows_the_child)
{
    if (!ring_available())
        return;
    provider p;
    ck_assert_int_eq(open_mode(PMT_RSS_KERNEL_RING, 0, &p), PMT_OK);
    uint64_t last = 0;
    at_event(&p, &last, 0);
    pid_t child = fork();
    if (child == 0) {
        unsigned char *m = touch(32 * MIB);
        uint64_t seen = 0, before = statm();
        int rc = p.ops.read(p.state, &seen);
        uint64_t truth = seen == before ? before : statm(); /* as assert_exact */
        munmap(m, 32 * MIB);
        _exit(rc != PMT_OK ? 10 : seen < truth ? 11 : seen > truth ? 12 : 0);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0); /* 10: read failed, 11/12: below/above statm */
    assert_exact(&p, &last);
    p.ops.release(p.state);
}
END_TEST

START_TEST(auto_always_finds_a_provider_that_states_its_contract)
{
    int64_t lo, hi;
    ck_assert_int_eq(pmt_param_bounds(PMT_PARAM_RSS_MODE, &lo, &hi), PMT_OK);
    ck_assert_int_eq(lo, PMT_RSS_AUTO);
    ck_assert_int_eq(hi, PMT_RSS_NONE);
    provider p;
    int ring = ring_available();                              /* (as root, mounts tracefs) */
    ck_assert_int_eq(open_mode(PMT_RSS_AUTO, 0, &p), PMT_OK); /* AUTO always finds one */
    ck_assert_ptr_nonnull(p.ops.name);
    ck_assert_ptr_nonnull(p.ops.accuracy);
    /* The exact tier first wherever it can be had; else one of the unprivileged ones. */
    if (ring)
        ck_assert_str_eq(p.ops.name, "linux-rss_stat-ring");
    else
        ck_assert(strcmp(p.ops.name, "linux-fault-gate") == 0 ||
                  strcmp(p.ops.name, "linux-statm-interval") == 0);
    p.ops.release(p.state);
}
END_TEST

START_TEST(none_reads_nothing_and_is_named)
{
    pmt_tracer *t = NULL;
    capture cap = {0};
    ck_assert_int_eq(pmt__tracer_create_with_source(&t, &fake_source_ops, &g_source), PMT_OK);
    fake_source_reset();
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_RSS_MODE, PMT_RSS_NONE), PMT_OK);
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_D_RSS_TRIGGER, 0), PMT_OK);
    ck_assert_int_eq(pmt_tracer_add_sink(t, capture_sink(&cap)), PMT_OK);
    ck_assert_ptr_null(pmt_tracer_rss_provider_name(t)); /* chosen at start */
    ck_assert_int_eq(pmt_tracer_start(t), PMT_OK);
    ck_assert_str_eq(pmt_tracer_rss_provider_name(t), "none");
    unsigned char *grown = touch(TOUCHED); /* RSS grows; the provider must not notice */
    pmt__tracer_event(t, PMT_EV_CALL, "f.py", "f", 1, 1);
    ck_assert_int_eq(pmt_tracer_stop(t), PMT_OK);
    ck_assert_uint_eq(cap.count, 3);
    for (size_t i = 0; i < cap.count; i++)
        ck_assert_uint_eq(cap.events[i].ev.rss, 0);
    pmt_tracer_destroy(t);
    capture_free(&cap);
    munmap(grown, TOUCHED);
}
END_TEST

Suite *rss_providers_suite(void)
{
    Suite *s = suite_create("rss_providers");
    TCase *tc = unit_tcase("contracts");
    tcase_add_test(tc, exact_follows_growth_and_release);
    tcase_add_test(tc, interval_is_stale_by_at_most_the_interval);
    tcase_add_test(tc, fault_gate_sees_faults_at_once_and_releases_within_the_staleness);
    tcase_add_test(tc, ring_is_exact_at_every_step);
    tcase_add_test(tc, ring_sees_another_threads_growth);
    tcase_add_test(tc, ring_survives_lost_records);
    tcase_add_test(tc, ring_is_shared_and_comes_back_exact);
    tcase_add_test(tc, ring_in_a_forked_child_follows_the_child);
    tcase_add_test(tc, auto_always_finds_a_provider_that_states_its_contract);
    tcase_add_test(tc, none_reads_nothing_and_is_named);
    suite_add_tcase(s, tc);
    return s;
}
