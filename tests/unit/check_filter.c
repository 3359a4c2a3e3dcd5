/* The trigger filter: which events reach the sinks, with which reason, numbers and dRSS. The
 * expectations come from a small model of the documented rules (tracer.h, event.h), checked
 * against hand-worked cases first. */
#define _GNU_SOURCE /* syscall */
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fakes.h"
#include "suites.h"

/* An event the fake source reports: the time and RSS the tracer will see at it. */
typedef fake_input input;

typedef struct expected {
    uint32_t reason, kind;
    uint64_t seq, time, rss;
    int64_t d_rss;
    const char *file, *function;
    int32_t line, depth;
} expected;

/* The documented filter: an observed event is written when |rss - rss of the last written event|
 * >= trigger; an unwritten event just before a written one is written first as PREV. */
typedef struct model {
    uint64_t trigger, mask;
    uint64_t seq;
    int64_t last_written_rss;
    int prev_written;
    expected prev;
    expected *out;
    size_t count, capacity;
} model;

static void model_push(model *m, expected e, uint32_t reason)
{
    if (m->count == m->capacity) {
        m->capacity = m->capacity ? m->capacity * 2 : 64;
        m->out = realloc(m->out, m->capacity * sizeof *m->out);
        ck_assert_ptr_nonnull(m->out);
    }
    e.reason = reason;
    e.d_rss = (int64_t)e.rss - m->last_written_rss;
    m->last_written_rss = (int64_t)e.rss;
    m->out[m->count++] = e;
}

static expected model_event(model *m, pmt_event_kind kind, uint64_t time, uint64_t rss,
                            const char *file, const char *function, int32_t line, int32_t depth)
{
    expected e = {0, (uint32_t)kind, m->seq++, time, rss, 0, file, function, line, depth};
    return e;
}

static void model_start(model *m, uint64_t trigger, uint64_t mask, uint64_t time, uint64_t rss)
{
    memset(m, 0, sizeof *m);
    m->trigger = trigger;
    m->mask = mask;
    model_push(m,
               model_event(m, PMT_EV_START, time, rss, g_source.file, g_source.function,
                           g_source.line, g_source.depth),
               PMT_REASON_FIRST);
    m->prev_written = 1;
}

static void model_input(model *m, const input *in)
{
    if (!(m->mask & PMT_EV_BIT(in->kind)))
        return;
    expected e =
        model_event(m, in->kind, in->time, in->rss, in->file, in->function, in->line, in->depth);
    int64_t change = (int64_t)in->rss - m->last_written_rss;
    if ((uint64_t)llabs(change) >= m->trigger) {
        if (!m->prev_written)
            model_push(m, m->prev, PMT_REASON_BEFORE);
        model_push(m, e, PMT_REASON_TRIGGER);
        m->prev_written = 1;
    } else {
        m->prev_written = 0;
    }
    m->prev = e;
}

static void feed(pmt_tracer *t, fake_clock *clock, fake_rss *rss, const input *in)
{
    clock->now = in->time;
    rss->value = in->rss;
    pmt__tracer_event(t, in->kind, in->file, in->function, in->line, in->depth);
}

static void start_at(pmt_tracer *t, fake_clock *clock, fake_rss *rss, uint64_t time, uint64_t value)
{
    clock->now = time;
    rss->value = value;
    ck_assert_int_eq(pmt_tracer_start(t), PMT_OK);
}

static void stop_at(pmt_tracer *t, fake_clock *clock, fake_rss *rss, uint64_t time, uint64_t value)
{
    clock->now = time;
    rss->value = value;
    ck_assert_int_eq(pmt_tracer_stop(t), PMT_OK);
}

static void assert_events(const capture *cap, const expected *exp, size_t n)
{
    ck_assert_uint_eq(cap->count, n);
    for (size_t i = 0; i < n; i++) {
        const pmt_event *ev = &cap->events[i].ev;
        const expected *e = &exp[i];
        ck_assert_msg(ev->reason == e->reason, "row %zu: reason %u, expected %u", i, ev->reason,
                      e->reason);
        ck_assert_msg(ev->kind == e->kind, "row %zu: kind %u, expected %u", i, ev->kind, e->kind);
        ck_assert_msg(ev->seq == e->seq, "row %zu: seq %llu, expected %llu", i,
                      (unsigned long long)ev->seq, (unsigned long long)e->seq);
        ck_assert_msg(ev->time_ns == e->time, "row %zu: time %llu, expected %llu", i,
                      (unsigned long long)ev->time_ns, (unsigned long long)e->time);
        ck_assert_msg(ev->rss == e->rss, "row %zu: rss %llu, expected %llu", i,
                      (unsigned long long)ev->rss, (unsigned long long)e->rss);
        ck_assert_msg(ev->d_rss == e->d_rss, "row %zu: d_rss %lld, expected %lld", i,
                      (long long)ev->d_rss, (long long)e->d_rss);
        ck_assert_msg(ev->line == e->line, "row %zu: line %d, expected %d", i, ev->line, e->line);
        ck_assert_msg(ev->depth == e->depth, "row %zu: depth %d, expected %d", i, ev->depth,
                      e->depth);
        ck_assert_str_eq(cap->events[i].file, e->file);
        ck_assert_str_eq(cap->events[i].function, e->function);
    }
}

/* The stop row: its own values, and dRSS against whatever row came just before it (the rules
 * say nothing of a PREV row before an always-written row, so either is accepted). */
static void assert_last_row(const capture *cap, uint64_t seq, uint64_t time, uint64_t rss)
{
    ck_assert_uint_ge(cap->count, 2);
    const pmt_event *ev = &cap->events[cap->count - 1].ev;
    ck_assert_uint_eq(ev->reason, PMT_REASON_LAST);
    ck_assert_uint_eq(ev->kind, PMT_EV_STOP);
    ck_assert_uint_eq(ev->seq, seq);
    ck_assert_uint_eq(ev->time_ns, time);
    ck_assert_uint_eq(ev->rss, rss);
    ck_assert_int_eq(ev->d_rss, (int64_t)rss - (int64_t)cap->events[cap->count - 2].ev.rss);
    ck_assert_str_eq(cap->events[cap->count - 1].file, g_source.file);
    ck_assert_int_eq(ev->line, g_source.line);
}

static uint64_t page_size(void)
{
    long page = sysconf(_SC_PAGESIZE);
    ck_assert_int_gt(page, 0);
    return (uint64_t)page;
}

static const char *const files[] = {"a.py", "b.py", "c.py", "d.py", "e.py", "f.py", "g.py"};
static const char *const functions[] = {"fa", "fb", "fc", "fd", "fe", "ff", "fg"};

/* Inputs with distinct times, places and the given RSS values, all of one kind. */
static void make_inputs(input *in, const uint64_t *rss, size_t n, pmt_event_kind kind)
{
    for (size_t i = 0; i < n; i++) {
        in[i].kind = kind;
        in[i].time = 1000000 + 1000 * (uint64_t)i;
        in[i].rss = rss[i];
        in[i].file = files[i % 7];
        in[i].function = functions[(i + 3) % 7];
        in[i].line = (int32_t)(10 + i);
        in[i].depth = (int32_t)(i % 4);
    }
}

/* Runs inputs through a tracer and through the model, and compares what reached the sink. */
static void run_against_model(int64_t trigger_param, uint64_t mask, const input *in, size_t n)
{
    fake_clock clock = {0};
    fake_rss rss = {0};
    capture cap = {0};
    pmt_tracer *t = fake_tracer(&clock, &rss, trigger_param, &cap);
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_EVENT_MASK, (int64_t)mask), PMT_OK);
    model m;
    uint64_t trigger = trigger_param < 0 ? page_size() : (uint64_t)trigger_param;
    start_at(t, &clock, &rss, 500, 1u << 30);
    model_start(&m, trigger, mask, 500, 1u << 30);
    for (size_t i = 0; i < n; i++) {
        feed(t, &clock, &rss, &in[i]);
        model_input(&m, &in[i]);
    }
    uint64_t seen, written;
    ck_assert_int_eq(pmt_tracer_get_stat(t, PMT_STAT_EVENTS_SEEN, &seen), PMT_OK);
    ck_assert_uint_eq(seen, m.seq);
    ck_assert_int_eq(pmt_tracer_get_stat(t, PMT_STAT_EVENTS_WRITTEN, &written), PMT_OK);
    ck_assert_uint_eq(written, m.count);
    assert_events(&cap, m.out, m.count);
    stop_at(t, &clock, &rss, in[n - 1].time + 1, in[n - 1].rss + 1);
    assert_last_row(&cap, m.seq, in[n - 1].time + 1, in[n - 1].rss + 1);
    pmt_tracer_destroy(t);
    capture_free(&cap);
    free(m.out);
}

START_TEST(trigger_n_hand_worked)
{
    /* Trigger 100 from a start at 1000: 99 is below it, exactly 100 reaches it, and so does a
     * decrease of 100. */
    const uint64_t values[] = {1050, 1099, 1100, 1150, 1000, 1001};
    input in[6];
    make_inputs(in, values, 6, PMT_EV_CALL);
    fake_clock clock = {0};
    fake_rss rss = {0};
    capture cap = {0};
    pmt_tracer *t = fake_tracer(&clock, &rss, 100, &cap);
    start_at(t, &clock, &rss, 500, 1000);
    for (size_t i = 0; i < 6; i++)
        feed(t, &clock, &rss, &in[i]);
    const expected want[] = {
        {PMT_REASON_FIRST, PMT_EV_START, 0, 500, 1000, 1000, "main.py", "<module>", 1, 0},
        {PMT_REASON_BEFORE, PMT_EV_CALL, 2, in[1].time, 1099, 99, in[1].file, in[1].function,
         in[1].line, in[1].depth},
        {PMT_REASON_TRIGGER, PMT_EV_CALL, 3, in[2].time, 1100, 1, in[2].file, in[2].function,
         in[2].line, in[2].depth},
        {PMT_REASON_BEFORE, PMT_EV_CALL, 4, in[3].time, 1150, 50, in[3].file, in[3].function,
         in[3].line, in[3].depth},
        {PMT_REASON_TRIGGER, PMT_EV_CALL, 5, in[4].time, 1000, -150, in[4].file, in[4].function,
         in[4].line, in[4].depth},
    };
    assert_events(&cap, want, 5);
    stop_at(t, &clock, &rss, 9000, 1001);
    assert_last_row(&cap, 7, 9000, 1001);
    pmt_tracer_destroy(t);
    capture_free(&cap);
    /* The model agrees with the hand-worked rows, so the model-driven tests check the same
     * rules. */
    run_against_model(100, PMT_EV_MASK_PROFILE, in, 6);
}
END_TEST

START_TEST(trigger_zero_writes_every_event)
{
    const uint64_t values[] = {4096, 4096, 4096, 8192, 0, 0, 1};
    input in[7];
    make_inputs(in, values, 7, PMT_EV_RETURN);
    fake_clock clock = {0};
    fake_rss rss = {0};
    capture cap = {0};
    pmt_tracer *t = fake_tracer(&clock, &rss, 0, &cap);
    start_at(t, &clock, &rss, 1, 4096);
    for (size_t i = 0; i < 7; i++)
        feed(t, &clock, &rss, &in[i]);
    ck_assert_uint_eq(cap.count, 8);
    for (size_t i = 1; i < 8; i++) {
        ck_assert_uint_eq(cap.events[i].ev.reason, PMT_REASON_TRIGGER);
        ck_assert_uint_eq(cap.events[i].ev.seq, i);
        ck_assert_uint_eq(cap.events[i].ev.rss, values[i - 1]);
    }
    pmt_tracer_destroy(t);
    capture_free(&cap);
    run_against_model(0, PMT_EV_MASK_PROFILE, in, 7);
}
END_TEST

START_TEST(trigger_minus_one_is_page_size)
{
    pmt_tracer *t = NULL;
    ck_assert_int_eq(pmt__tracer_create_with_source(&t, &fake_source_ops, &g_source), PMT_OK);
    int64_t value = 0;
    ck_assert_int_eq(pmt_tracer_get_param(t, PMT_PARAM_D_RSS_TRIGGER, &value), PMT_OK);
    ck_assert_int_eq(value, -1); /* the documented default */
    pmt_tracer_destroy(t);

    const uint64_t page = page_size();
    const uint64_t base = 1000000;
    const uint64_t values[] = {base + page - 1, base + page, base + 1, base, base - page + 1};
    input in[5];
    make_inputs(in, values, 5, PMT_EV_C_CALL);
    fake_clock clock = {0};
    fake_rss rss = {0};
    capture cap = {0};
    t = fake_tracer(&clock, &rss, -1, &cap);
    start_at(t, &clock, &rss, 500, base);
    for (size_t i = 0; i < 5; i++)
        feed(t, &clock, &rss, &in[i]);
    /* One byte short of a page is not enough; a page is, either way. */
    ck_assert_uint_eq(cap.count, 5);
    ck_assert_uint_eq(cap.events[1].ev.reason, PMT_REASON_BEFORE);
    ck_assert_uint_eq(cap.events[1].ev.rss, base + page - 1);
    ck_assert_uint_eq(cap.events[2].ev.reason, PMT_REASON_TRIGGER);
    ck_assert_uint_eq(cap.events[2].ev.rss, base + page);
    ck_assert_uint_eq(cap.events[3].ev.reason, PMT_REASON_BEFORE);
    ck_assert_uint_eq(cap.events[3].ev.rss, base + 1);
    ck_assert_uint_eq(cap.events[4].ev.reason, PMT_REASON_TRIGGER);
    ck_assert_uint_eq(cap.events[4].ev.rss, base);
    ck_assert_int_eq(cap.events[4].ev.d_rss, -1);
    pmt_tracer_destroy(t);
    capture_free(&cap);
    run_against_model(-1, PMT_EV_MASK_PROFILE, in, 5);
}
END_TEST

START_TEST(prev_row_has_its_own_values)
{
    fake_clock clock = {0};
    fake_rss rss = {0};
    capture cap = {0};
    pmt_tracer *t = fake_tracer(&clock, &rss, 1000, &cap);
    start_at(t, &clock, &rss, 100, 50000);
    const input skipped1 = {PMT_EV_CALL, 200, 50001, "first.py", "one", 11, 1};
    const input skipped2 = {PMT_EV_C_CALL, 300, 50500, "second.py", "two", 22, 2};
    const input trigger = {PMT_EV_C_RETURN, 400, 51000, "third.py", "three", 33, 3};
    feed(t, &clock, &rss, &skipped1);
    feed(t, &clock, &rss, &skipped2);
    feed(t, &clock, &rss, &trigger);
    ck_assert_uint_eq(cap.count, 3);
    /* The row before the trigger is the second skipped event, not the first and not a copy of
     * the last written (start) row. */
    const pmt_event *prev = &cap.events[1].ev;
    ck_assert_uint_eq(prev->reason, PMT_REASON_BEFORE);
    ck_assert_uint_eq(prev->kind, PMT_EV_C_CALL);
    ck_assert_uint_eq(prev->seq, 2);
    ck_assert_uint_eq(prev->time_ns, 300);
    ck_assert_uint_eq(prev->rss, 50500);
    ck_assert_int_eq(prev->d_rss, 500);
    ck_assert_str_eq(cap.events[1].file, "second.py");
    ck_assert_str_eq(cap.events[1].function, "two");
    ck_assert_int_eq(prev->line, 22);
    ck_assert_int_eq(prev->depth, 2);
    const pmt_event *next = &cap.events[2].ev;
    ck_assert_uint_eq(next->reason, PMT_REASON_TRIGGER);
    ck_assert_uint_eq(next->seq, 3);
    ck_assert_uint_eq(next->time_ns, 400);
    ck_assert_int_eq(next->d_rss, 500);
    ck_assert_str_eq(cap.events[2].file, "third.py");
    pmt_tracer_destroy(t);
    capture_free(&cap);
}
END_TEST

START_TEST(seq_counts_every_event_seen)
{
    fake_clock clock = {0};
    fake_rss rss = {0};
    capture cap = {0};
    pmt_tracer *t = fake_tracer(&clock, &rss, INT64_MAX, &cap);
    start_at(t, &clock, &rss, 1, 4096);
    for (int i = 0; i < 1000; i++)
        pmt__tracer_event(t, PMT_EV_CALL, "x.py", "f", i, 0);
    uint64_t seen = 0, written = 0;
    ck_assert_int_eq(pmt_tracer_get_stat(t, PMT_STAT_EVENTS_SEEN, &seen), PMT_OK);
    ck_assert_int_eq(pmt_tracer_get_stat(t, PMT_STAT_EVENTS_WRITTEN, &written), PMT_OK);
    ck_assert_uint_eq(seen, 1001);
    ck_assert_uint_eq(written, 1);
    rss.value = 4096 + (uint64_t)INT64_MAX; /* the largest trigger is still reachable */
    pmt__tracer_event(t, PMT_EV_RETURN, "x.py", "f", 5000, 0);
    ck_assert_uint_eq(cap.count, 3);
    ck_assert_uint_eq(cap.events[1].ev.reason, PMT_REASON_BEFORE);
    ck_assert_uint_eq(cap.events[1].ev.seq, 1000);
    ck_assert_int_eq(cap.events[1].ev.line, 999);
    ck_assert_uint_eq(cap.events[2].ev.seq, 1001);
    stop_at(t, &clock, &rss, 2, 4096);
    ck_assert_uint_eq(cap.events[3].ev.seq, 1002);
    ck_assert_int_eq(pmt_tracer_get_stat(t, PMT_STAT_EVENTS_SEEN, &seen), PMT_OK);
    ck_assert_uint_eq(seen, 1003);
    ck_assert_int_eq(pmt_tracer_get_stat(t, PMT_STAT_EVENTS_WRITTEN, &written), PMT_OK);
    ck_assert_uint_eq(written, cap.count);
    pmt_tracer_destroy(t);
    capture_free(&cap);
}
END_TEST

START_TEST(first_d_rss_is_its_rss_and_d_rss_chains)
{
    fake_clock clock = {0};
    fake_rss rss = {0};
    capture cap = {0};
    pmt_tracer *t = fake_tracer(&clock, &rss, 10, &cap);
    start_at(t, &clock, &rss, 1, 123456);
    const uint64_t values[] = {123460, 123470, 123400, 123405, 200000, 5, 7, 30};
    for (size_t i = 0; i < 8; i++) {
        rss.value = values[i];
        pmt__tracer_event(t, PMT_EV_CALL, "x.py", "f", (int32_t)i, 0);
    }
    stop_at(t, &clock, &rss, 2, 31);
    ck_assert_uint_eq(cap.events[0].ev.reason, PMT_REASON_FIRST);
    ck_assert_int_eq(cap.events[0].ev.d_rss, 123456);
    int64_t sum = 0;
    for (size_t i = 0; i < cap.count; i++) {
        if (i > 0)
            ck_assert_int_eq(cap.events[i].ev.d_rss,
                             (int64_t)cap.events[i].ev.rss - (int64_t)cap.events[i - 1].ev.rss);
        sum += cap.events[i].ev.d_rss;
    }
    ck_assert_int_eq(sum, 31);
    pmt_tracer_destroy(t);
    capture_free(&cap);
}
END_TEST

START_TEST(kinds_outside_the_mask_are_not_numbered)
{
    fake_clock clock = {0};
    fake_rss rss = {0};
    capture cap = {0};
    pmt_tracer *t = fake_tracer(&clock, &rss, 0, &cap);
    int64_t mask = 0;
    ck_assert_int_eq(pmt_tracer_get_param(t, PMT_PARAM_EVENT_MASK, &mask), PMT_OK);
    ck_assert_int_eq(mask, (int64_t)PMT_EV_MASK_PROFILE);
    mask = (int64_t)(PMT_EV_BIT(PMT_EV_CALL) | PMT_EV_BIT(PMT_EV_LINE));
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_EVENT_MASK, mask), PMT_OK);
    start_at(t, &clock, &rss, 1, 4096);
    const pmt_event_kind kinds[] = {PMT_EV_CALL,     PMT_EV_RETURN,      PMT_EV_C_CALL,
                                    PMT_EV_C_RETURN, PMT_EV_C_EXCEPTION, PMT_EV_EXCEPTION,
                                    PMT_EV_LINE,     PMT_EV_CALL};
    for (size_t i = 0; i < 8; i++)
        pmt__tracer_event(t, kinds[i], "x.py", "f", (int32_t)i, 0);
    uint64_t seen = 0;
    ck_assert_int_eq(pmt_tracer_get_stat(t, PMT_STAT_EVENTS_SEEN, &seen), PMT_OK);
    ck_assert_uint_eq(seen, 4);
    ck_assert_uint_eq(cap.count, 4);
    ck_assert_uint_eq(cap.events[1].ev.kind, PMT_EV_CALL);
    ck_assert_uint_eq(cap.events[1].ev.seq, 1);
    ck_assert_uint_eq(cap.events[2].ev.kind, PMT_EV_LINE);
    ck_assert_uint_eq(cap.events[2].ev.seq, 2);
    ck_assert_int_eq(cap.events[2].ev.line, 6);
    ck_assert_uint_eq(cap.events[3].ev.seq, 3);
    ck_assert_int_eq(cap.events[3].ev.line, 7);
    /* START, STOP and MARK are always on, whatever the mask. */
    ck_assert_int_eq(pmt_tracer_mark(t, "m"), PMT_OK);
    stop_at(t, &clock, &rss, 2, 4096);
    ck_assert_uint_eq(cap.count, 6);
    ck_assert_uint_eq(cap.events[4].ev.kind, PMT_EV_MARK);
    ck_assert_uint_eq(cap.events[4].ev.seq, 4);
    ck_assert_uint_eq(cap.events[5].ev.kind, PMT_EV_STOP);
    ck_assert_uint_eq(cap.events[5].ev.seq, 5);
    pmt_tracer_destroy(t);
    capture_free(&cap);
}
END_TEST

START_TEST(pause_resume_no_prev_from_before_the_pause)
{
    fake_clock clock = {0};
    fake_rss rss = {0};
    capture cap = {0};
    pmt_tracer *t = fake_tracer(&clock, &rss, 100, &cap);
    start_at(t, &clock, &rss, 1, 1000);
    const input before = {PMT_EV_CALL, 10, 1010, "before.py", "b", 1, 0};
    feed(t, &clock, &rss, &before);
    ck_assert_int_eq(pmt_tracer_pause(t), PMT_OK);
    ck_assert_int_eq(g_source.detach_calls, 1);
    ck_assert_int_eq(pmt_tracer_state_of(t), PMT_STATE_PAUSED);
    ck_assert_int_eq(pmt_tracer_resume(t), PMT_OK);
    ck_assert_int_eq(g_source.attach_calls, 2);
    ck_assert_int_eq(pmt_tracer_state_of(t), PMT_STATE_RUNNING);
    const input after = {PMT_EV_CALL, 20, 1200, "after.py", "a", 2, 0};
    feed(t, &clock, &rss, &after);
    ck_assert_uint_eq(cap.count, 2);
    ck_assert_uint_eq(cap.events[1].ev.reason, PMT_REASON_TRIGGER);
    ck_assert_uint_eq(cap.events[1].ev.seq, 2);
    ck_assert_int_eq(cap.events[1].ev.d_rss, 200);
    /* After the resume the rule applies again to events seen since. */
    const input skipped = {PMT_EV_RETURN, 30, 1250, "skipped.py", "s", 3, 0};
    const input next = {PMT_EV_RETURN, 40, 1300, "next.py", "n", 4, 0};
    feed(t, &clock, &rss, &skipped);
    feed(t, &clock, &rss, &next);
    ck_assert_uint_eq(cap.count, 4);
    ck_assert_uint_eq(cap.events[2].ev.reason, PMT_REASON_BEFORE);
    ck_assert_str_eq(cap.events[2].file, "skipped.py");
    ck_assert_uint_eq(cap.events[3].ev.reason, PMT_REASON_TRIGGER);
    ck_assert_uint_eq(cap.events[3].ev.seq, 4);
    pmt_tracer_destroy(t);
    capture_free(&cap);
}
END_TEST

START_TEST(marks_are_always_written)
{
    fake_clock clock = {0};
    fake_rss rss = {0};
    capture cap = {0};
    pmt_tracer *t = fake_tracer(&clock, &rss, INT64_MAX, &cap);
    start_at(t, &clock, &rss, 1, 1000);
    pmt__tracer_event(t, PMT_EV_CALL, "x.py", "f", 1, 0);
    clock.now = 77;
    rss.value = 900;
    g_source.file = "here.py";
    g_source.line = 42;
    int flushes = cap.flushes;
    ck_assert_int_eq(pmt_tracer_mark(t, "checkpoint"), PMT_OK);
    ck_assert_uint_ge(cap.count, 2);
    const captured *c = &cap.events[cap.count - 1];
    ck_assert_uint_eq(c->ev.kind, PMT_EV_MARK);
    ck_assert_uint_eq(c->ev.reason, PMT_REASON_MESSAGE);
    ck_assert_uint_eq(c->ev.seq, 2);
    ck_assert_uint_eq(c->ev.time_ns, 77);
    ck_assert_uint_eq(c->ev.rss, 900);
    ck_assert_int_eq(c->ev.d_rss, 900 - (int64_t)cap.events[cap.count - 2].ev.rss);
    ck_assert_str_eq(c->message, "checkpoint");
    ck_assert_str_eq(c->file, "here.py");
    ck_assert_int_eq(c->ev.line, 42);
    /* A mark reaches the file at once, and marks work while paused. */
    ck_assert_int_gt(cap.flushes, flushes);
    ck_assert_int_eq(pmt_tracer_pause(t), PMT_OK);
    size_t count = cap.count;
    ck_assert_int_eq(pmt_tracer_mark(t, "paused"), PMT_OK);
    ck_assert_uint_eq(cap.count, count + 1);
    ck_assert_str_eq(cap.events[count].message, "paused");
    ck_assert_uint_eq(cap.events[count].ev.seq, 3);
    pmt_tracer_destroy(t);
    capture_free(&cap);
}
END_TEST

START_TEST(event_fields)
{
    fake_clock clock = {0};
    fake_rss rss = {0};
    capture cap = {0};
    pmt_tracer *t = fake_tracer(&clock, &rss, 0, &cap);
    start_at(t, &clock, &rss, 1, 1000);
    pmt__tracer_event(t, PMT_EV_C_EXCEPTION, "x.py", "mod.func", 9, 17);
    stop_at(t, &clock, &rss, 2, 1000);
    ck_assert_uint_eq(cap.count, 3);
    const uint64_t tid = (uint64_t)syscall(SYS_gettid);
    for (size_t i = 0; i < cap.count; i++) {
        const pmt_event *ev = &cap.events[i].ev;
        ck_assert_uint_eq(ev->struct_size, sizeof(pmt_event));
        ck_assert_uint_eq(ev->reserved0, 0);
        ck_assert_uint_eq(ev->thread_id, tid);
        ck_assert_ptr_null(cap.events[i].message);
        ck_assert_ptr_nonnull(cap.events[i].file);
        ck_assert_ptr_nonnull(cap.events[i].function);
    }
    ck_assert_int_eq(cap.events[1].ev.depth, 17);
    ck_assert_str_eq(cap.events[1].function, "mod.func");
    ck_assert_uint_eq(cap.events[2].ev.kind, PMT_EV_STOP);
    ck_assert_uint_eq(cap.events[2].ev.reason, PMT_REASON_LAST);
    pmt_tracer_destroy(t);
    capture_free(&cap);
}
END_TEST

START_TEST(random_walks_match_the_model)
{
    const int64_t triggers[] = {-1, 0, 1, 1000, 4096, 50000};
    const uint64_t masks[] = {PMT_EV_MASK_PROFILE, PMT_EV_MASK_TRACE,
                              PMT_EV_MASK_PROFILE | PMT_EV_MASK_TRACE};
    enum { N = 3000 };
    input *in = calloc(N, sizeof *in);
    ck_assert_ptr_nonnull(in);
    uint64_t state = 0x9e3779b97f4a7c15u;
    for (size_t k = 0; k < sizeof triggers / sizeof *triggers; k++) {
        for (size_t mi = 0; mi < 3; mi++) {
            fake_random_events(in, N, &state, files, functions);
            run_against_model(triggers[k], masks[mi], in, N);
        }
    }
    free(in);
}
END_TEST

Suite *filter_suite(void)
{
    Suite *s = suite_create("filter");
    TCase *tc = unit_tcase("filter");
    tcase_add_test(tc, trigger_n_hand_worked);
    tcase_add_test(tc, trigger_zero_writes_every_event);
    tcase_add_test(tc, trigger_minus_one_is_page_size);
    tcase_add_test(tc, prev_row_has_its_own_values);
    tcase_add_test(tc, seq_counts_every_event_seen);
    tcase_add_test(tc, first_d_rss_is_its_rss_and_d_rss_chains);
    tcase_add_test(tc, kinds_outside_the_mask_are_not_numbered);
    tcase_add_test(tc, pause_resume_no_prev_from_before_the_pause);
    tcase_add_test(tc, marks_are_always_written);
    tcase_add_test(tc, event_fields);
    tcase_add_test(tc, random_walks_match_the_model);
    suite_add_tcase(s, tc);
    return s;
}
