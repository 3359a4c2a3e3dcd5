/* The USDT probes without a consumer: the public calls about them, and that raising every
 * semaphore (as an attached bpftrace does) runs every probe's path and changes nothing the sinks
 * get: the same run, event for event, with nobody listening and with everybody listening. What
 * the probes carry is tested with bpftrace for real (bindings/python/tests/test_probes.py). */
#include <stdlib.h>
#include <string.h>

#include "fakes.h"
#include "platform/probes.h"
#include "suites.h"

START_TEST(the_public_calls)
{
    ck_assert_int_eq(pmt_probes_available(), PMT__PROBES_BUILT);
    unsigned listeners = 99;
    ck_assert_int_eq(pmt_probe_listeners(NULL, &listeners), PMT_EINVAL);
    ck_assert_int_eq(pmt_probe_listeners("event", NULL), PMT_EINVAL);
    if (!PMT__PROBES_BUILT) {
        ck_assert_int_eq(pmt_probe_listeners("event", &listeners), PMT_ENOTSUP);
        return;
    }
    ck_assert_int_eq(pmt_probe_listeners("nope", &listeners), PMT_EINVAL);
    ck_assert_ptr_nonnull(strstr(pmt_last_error_message(), "'nope' is not a probe"));
    const char *names[] = {"event",    "rss_change", "alloc", "free",         "realloc",
                           "gc_start", "gc_done",    "mark",  "tracer_start", "tracer_stop"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        listeners = 99;
        ck_assert_int_eq(pmt_probe_listeners(names[i], &listeners), PMT_OK);
        ck_assert_uint_eq(listeners, 0);
    }
}
END_TEST

#if defined(PMT_HAVE_USDT)
static void raise_all(unsigned short value)
{
    pymemtrace_event_semaphore = pymemtrace_rss_change_semaphore = value;
    pymemtrace_alloc_semaphore = pymemtrace_free_semaphore = value;
    pymemtrace_realloc_semaphore = pymemtrace_gc_start_semaphore = value;
    pymemtrace_gc_done_semaphore = pymemtrace_mark_semaphore = value;
    pymemtrace_tracer_start_semaphore = pymemtrace_tracer_stop_semaphore = value;
}
#endif

/* A run touching every probe: calls and returns across the trigger, allocations of each kind,
 * a collection, a mark; what the sink got. */
static void scripted_run(capture *cap)
{
    fake_clock clock = {.now = 1000};
    fake_rss rss = {.value = 1 << 20};
    pmt_tracer *t = fake_tracer(&clock, &rss, 4096, cap);
    ck_assert_int_eq(
        pmt_tracer_set_param(t, PMT_PARAM_EVENT_MASK, PMT_EV_MASK_CALLS | PMT_EV_MASK_GC), PMT_OK);
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_ALLOCATORS, PMT_ALLOCATORS_PYTHON), PMT_OK);
    ck_assert_int_eq(pmt_tracer_start(t), PMT_OK);
    for (int i = 0; i < 200; i++) {
        clock.now += 1000;
        rss.value += (uint64_t)(i % 7 == 0 ? 8192 : 0);
        pmt__tracer_event(t, i % 2 ? PMT_EV_RETURN : PMT_EV_CALL, "app.py", "work", i, i % 5);
        pmt__allocation a = {PMT_EV_ALLOC, PMT_ALLOCATOR_OBJ, 0x1000 + (uint64_t)i * 64, 48, 0};
        pmt__tracer_allocation(t, &a, "app.py", "work", i, 2);
        if (i % 3 == 0) {
            pmt__allocation r = {PMT_EV_REALLOC, PMT_ALLOCATOR_OBJ, 0x900000 + (uint64_t)i * 64, 96,
                                 a.address};
            pmt__tracer_allocation(t, &r, "app.py", "work", i, 2);
            pmt__allocation f = {PMT_EV_FREE, PMT_ALLOCATOR_OBJ, r.address, 0, 0};
            pmt__tracer_allocation(t, &f, "app.py", "work", i, 2);
        }
    }
    pmt__gc start = {PMT_EV_GC_START, 1, 0, 0, 0};
    pmt__tracer_gc(t, &start, "app.py", "work", 3, 1);
    pmt__gc done = {PMT_EV_GC_DONE, 1, 10, 0, 900};
    pmt__tracer_gc(t, &done, "app.py", "work", 3, 1);
    ck_assert_int_eq(pmt_tracer_mark(t, "a mark"), PMT_OK);
    ck_assert_int_eq(pmt_tracer_stop(t), PMT_OK);
    pmt_tracer_destroy(t);
}

START_TEST(listeners_change_nothing_the_sinks_get)
{
#if !defined(PMT_HAVE_USDT)
    ck_assert_int_eq(pmt_probes_available(), 0); /* nothing to raise in this build */
#else
    capture quiet = {0}, heard = {0};
    raise_all(0);
    scripted_run(&quiet);
    raise_all(1);
    unsigned listeners = 0; /* the semaphore raised is the one the library reads */
    ck_assert_int_eq(pmt_probe_listeners("tracer_stop", &listeners), PMT_OK);
    ck_assert_uint_eq(listeners, 1);
    scripted_run(&heard);
    raise_all(0);
    ck_assert_uint_gt(quiet.count, 100);
    ck_assert_uint_eq(quiet.count, heard.count);
    for (size_t i = 0; i < quiet.count; i++) {
        const pmt_event *a = &quiet.events[i].ev, *b = &heard.events[i].ev;
        ck_assert_uint_eq(a->seq, b->seq);
        ck_assert_int_eq(a->kind, b->kind);
        ck_assert_int_eq(a->reason, b->reason);
        ck_assert_int_eq(a->line, b->line);
        ck_assert_uint_eq(a->rss, b->rss);
        ck_assert_int_eq(a->d_rss, b->d_rss);
        ck_assert_uint_eq(a->size, b->size);
        ck_assert_uint_eq(a->address, b->address);
        ck_assert_str_eq(quiet.events[i].file, heard.events[i].file);
    }
    capture_free(&quiet);
    capture_free(&heard);
#endif
}
END_TEST

Suite *probes_suite(void)
{
    Suite *s = suite_create("probes");
    TCase *tc = unit_tcase("probes");
    tcase_add_test(tc, the_public_calls);
    tcase_add_test(tc, listeners_change_nothing_the_sinks_get);
    suite_add_tcase(s, tc);
    return s;
}
