/* The filter stages before the sinks (tracer.h, "Filters"): each stage alone, hand-worked, then
 * every combination against a model of the documented order; the globs; what a dropped event
 * costs (no clock or RSS read before the stage that needs them); numbering; the log headers. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "binlog.h"
#include "core/filter.h"
#include "fakes.h"
#include "suites.h"

static void start_at(pmt_tracer *t, fake_clock *clock, fake_rss *rss, uint64_t time, uint64_t value)
{
    clock->now = time;
    rss->value = value;
    ck_assert_int_eq(pmt_tracer_start(t), PMT_OK);
}

static void feed(pmt_tracer *t, fake_clock *clock, fake_rss *rss, pmt_event_kind kind,
                 uint64_t time, uint64_t value, const char *file, const char *function,
                 int32_t line, int32_t depth)
{
    clock->now = time;
    rss->value = value;
    pmt__tracer_event(t, kind, file, function, line, depth);
}

static void set(pmt_tracer *t, pmt_param param, int64_t value)
{
    ck_assert_int_eq(pmt_tracer_set_param(t, param, value), PMT_OK);
}

static uint64_t stat_of(pmt_tracer *t, pmt_stat stat)
{
    uint64_t value = 0;
    ck_assert_int_eq(pmt_tracer_get_stat(t, stat, &value), PMT_OK);
    return value;
}

/* --- globs ---------------------------------------------------------------------------------- */

START_TEST(glob_matching)
{
    static const struct {
        const char *glob, *text;
        int match;
    } cases[] = {
        {"", "", 1},
        {"", "a", 0},
        {"*", "", 1},
        {"*", "/any/path/x.py", 1},
        {"abc", "abc", 1},
        {"abc", "abcd", 0},
        {"abc", "ab", 0},
        {"a*c", "ac", 1},
        {"a*c", "abbbc", 1},
        {"a*c", "abbbd", 0},
        {"*/lib/python3*", "/usr/lib/python3.12/json/decoder.py", 1},
        {"*/lib/python3*", "/home/me/lib/app.py", 0},
        {"*.py", "/a/b.py", 1},
        {"*.py", "/a/b.pyc", 0},
        {"a*b*c", "aXbYbZc", 1},
        {"a*b*c", "aXbYbZ", 0},
        {"**x", "yyx", 1},
        {"*a", "aaaa", 1},
        {"?", "", 0},
        {"?", "x", 1},
        {"?", "xy", 0},
        {"?", "\xc3\xa9", 1},         /* one UTF-8 character, two bytes */
        {"??", "\xc3\xa9", 0},        /* not two */
        {"?", "\xe2\x82\xac", 1},     /* three bytes */
        {"?", "\xf0\x9f\x98\x80", 1}, /* four bytes */
        {"x?y",
         "x\xff"
         "y",
         1}, /* a stray byte is a character of its own */
        {"[abc]", "b", 1},
        {"[abc]", "d", 0},
        {"[a-c]x", "cx", 1},
        {"[a-c]x", "dx", 0},
        {"[!a-c]", "d", 1},
        {"[!a-c]", "a", 0},
        {"[^a-c]", "z", 1},
        {"[]]", "]", 1},
        {"[!]]", "]", 0},
        {"[a-]", "-", 1},
        {"[\xc3\xa0-\xc3\xbf]", "\xc3\xa9", 1}, /* a range of UTF-8 characters */
        {"[\xc3\xa0-\xc3\xbf]", "e", 0},
        {"[abc", "[abc", 1}, /* unclosed: literal */
        {"[abc", "a", 0},
        {"\\*", "*", 1},
        {"\\*", "x", 0},
        {"a\\?c", "a?c", 1},
        {"a\\?c", "abc", 0},
        {"[\\]]", "]", 1},
        {"x\\", "x\\", 1}, /* a trailing backslash is itself */
        {"Foo", "foo", 0}, /* case-sensitive */
        {"test_*", "test_alloc", 1},
        {"<*>", "<module>", 1},
        {"list.*", "list.append", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        ck_assert_msg(pmt__glob_match(cases[i].glob, cases[i].text) == cases[i].match,
                      "glob '%s' on '%s': expected %d", cases[i].glob, cases[i].text,
                      cases[i].match);
}
END_TEST

START_TEST(code_filter_axes)
{
    pmt__code_filter f;
    memset(&f, 0, sizeof f);
    ck_assert_int_eq(pmt__code_filter_axes(&f, "x.py", "f"), PMT__CODE_OK);
    ck_assert_int_eq(pmt__code_filter_add(&f, 0, "x"), PMT_EINVAL);
    ck_assert_int_eq(pmt__code_filter_add(&f, 9, "x"), PMT_EINVAL);
    ck_assert_int_eq(pmt__code_filter_add(&f, PMT_FILTER_EXCLUDE_FILE, NULL), PMT_EINVAL);
    ck_assert_int_eq(f.active, 0);
    /* The user-code rules filter no event; a USER glob wins over a NOT_USER one. */
    ck_assert_int_eq(pmt__code_filter_add(&f, PMT_FILTER_NOT_USER_FILE, "/usr/lib/*"), PMT_OK);
    ck_assert_int_eq(pmt__code_filter_add(&f, PMT_FILTER_USER_FILE, "/usr/lib/mine/*"), PMT_OK);
    ck_assert_int_eq(f.active, 0);
    ck_assert_int_eq(pmt__code_filter_axes(&f, "/usr/lib/x.py", "f"), PMT__CODE_OK);
    ck_assert_int_eq(pmt__code_filter_user(&f, "/usr/lib/x.py", 1), 0);
    ck_assert_int_eq(pmt__code_filter_user(&f, "/usr/lib/mine/x.py", 0), 1);
    ck_assert_int_eq(pmt__code_filter_user(&f, "/home/me/x.py", 1), 1);
    ck_assert_int_eq(pmt__code_filter_user(&f, "/home/me/x.py", 0), 0);
    /* Includes of one axis: any of them; excludes win over includes. */
    ck_assert_int_eq(pmt__code_filter_add(&f, PMT_FILTER_INCLUDE_FILE, "*/app/*"), PMT_OK);
    ck_assert_int_eq(pmt__code_filter_add(&f, PMT_FILTER_INCLUDE_FILE, "*/tools/*"), PMT_OK);
    ck_assert_int_eq(pmt__code_filter_add(&f, PMT_FILTER_EXCLUDE_FILE, "*/app/vendor/*"), PMT_OK);
    ck_assert_int_eq(f.active, 1);
    ck_assert_int_eq(pmt__code_filter_axes(&f, "/src/app/main.py", "f"), PMT__CODE_OK);
    ck_assert_int_eq(pmt__code_filter_axes(&f, "/src/tools/x.py", "f"), PMT__CODE_OK);
    ck_assert_int_eq(pmt__code_filter_axes(&f, "/src/lib/x.py", "f"), PMT__CODE_FUNCTION_OK);
    ck_assert_int_eq(pmt__code_filter_axes(&f, "/src/app/vendor/x.py", "f"), PMT__CODE_FUNCTION_OK);
    ck_assert_int_eq(pmt__code_filter_axes(&f, NULL, "f"), PMT__CODE_FUNCTION_OK);
    /* The function axis on its own: an exclude without includes. */
    ck_assert_int_eq(pmt__code_filter_add(&f, PMT_FILTER_EXCLUDE_FUNCTION, "_*"), PMT_OK);
    ck_assert_int_eq(pmt__code_filter_axes(&f, "/src/app/main.py", "_private"), PMT__CODE_FILE_OK);
    ck_assert_int_eq(pmt__code_filter_axes(&f, "/src/lib/x.py", "_private"), 0);
    ck_assert_int_eq(pmt__code_filter_add(&f, PMT_FILTER_INCLUDE_FUNCTION, "run*"), PMT_OK);
    ck_assert_int_eq(pmt__code_filter_axes(&f, "/src/app/main.py", "runner"), PMT__CODE_OK);
    ck_assert_int_eq(pmt__code_filter_axes(&f, "/src/app/main.py", "walk"), PMT__CODE_FILE_OK);
    ck_assert_int_eq(pmt__code_filter_axes(&f, "/src/app/main.py", NULL), PMT__CODE_FILE_OK);
    pmt__code_filter_free(&f);
    ck_assert_int_eq(f.active, 0);
}
END_TEST

/* The cache answers as the globs do, for many distinct pointer pairs (it grows several times),
 * for pairs whose texts are equal but pointers not, and for NULL names. */
START_TEST(code_filter_cache_agrees_with_the_globs)
{
    pmt__code_filter f;
    memset(&f, 0, sizeof f);
    ck_assert_int_eq(pmt__code_filter_add(&f, PMT_FILTER_EXCLUDE_FILE, "*7.py"), PMT_OK);
    ck_assert_int_eq(pmt__code_filter_add(&f, PMT_FILTER_INCLUDE_FUNCTION, "f[0-4]*"), PMT_OK);
    enum { FILES = 60, FUNCTIONS = 40 };
    char files[FILES][16], functions[FUNCTIONS][16];
    for (int i = 0; i < FILES; i++)
        snprintf(files[i], sizeof files[i], "m%d.py", i);
    for (int i = 0; i < FUNCTIONS; i++)
        snprintf(functions[i], sizeof functions[i], "f%d", i);
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < FILES; i++)
            for (int j = 0; j < FUNCTIONS; j++) {
                int want = pmt__code_filter_axes(&f, files[i], functions[j]) == PMT__CODE_OK;
                ck_assert_int_eq(pmt__code_filter_passes(&f, files[i], functions[j]), want);
            }
    ck_assert_uint_eq(f.count, FILES * FUNCTIONS);
    ck_assert_uint_ge(f.capacity, 4 * f.count);
    char copy17[16], copy18[16]; /* other pointers, same texts */
    strcpy(copy17, files[17]);
    strcpy(copy18, files[18]);
    ck_assert_int_eq(pmt__code_filter_passes(&f, copy17, functions[1]), 0);
    ck_assert_int_eq(pmt__code_filter_passes(&f, copy18, functions[1]), 1);
    ck_assert_int_eq(pmt__code_filter_passes(&f, NULL, NULL), 0); /* "" is no f[0-4]* */
    ck_assert_int_eq(pmt__code_filter_passes(&f, NULL, "f1"), 1);
    ck_assert_int_eq(pmt__code_filter_passes(&f, NULL, "f1"), 1);
    pmt__code_filter_free(&f);
}
END_TEST

/* --- each stage in a tracer ------------------------------------------------------------------ */

START_TEST(params_bounds_defaults_and_state)
{
    pmt_tracer *t = NULL;
    ck_assert_int_eq(pmt__tracer_create_with_source(&t, &fake_source_ops, &g_source), PMT_OK);
    static const struct {
        pmt_param param;
        int64_t lo, hi, value;
    } params[] = {
        {PMT_PARAM_MAX_DEPTH, -1, INT32_MAX, -1},
        {PMT_PARAM_SAMPLE_EVERY, 1, INT64_MAX, 1},
        {PMT_PARAM_TIME_FROM_NS, 0, INT64_MAX, 0},
        {PMT_PARAM_TIME_UNTIL_NS, 0, INT64_MAX, INT64_MAX},
        {PMT_PARAM_RSS_ABOVE, 0, INT64_MAX, 0},
    };
    for (size_t i = 0; i < sizeof params / sizeof *params; i++) {
        int64_t lo = 0, hi = 0, value = 0;
        ck_assert_int_eq(pmt_param_bounds(params[i].param, &lo, &hi), PMT_OK);
        ck_assert_int_eq(lo, params[i].lo);
        ck_assert_int_eq(hi, params[i].hi);
        ck_assert_int_eq(pmt_tracer_get_param(t, params[i].param, &value), PMT_OK);
        ck_assert_int_eq(value, params[i].value);
        ck_assert_int_eq(pmt_tracer_set_param(t, params[i].param, lo - 1), PMT_EINVAL);
        if (hi < INT64_MAX)
            ck_assert_int_eq(pmt_tracer_set_param(t, params[i].param, hi + 1), PMT_EINVAL);
        ck_assert_int_eq(pmt_tracer_set_param(t, params[i].param, hi), PMT_OK);
        ck_assert_int_eq(pmt_tracer_get_param(t, params[i].param, &value), PMT_OK);
        ck_assert_int_eq(value, hi);
    }
    ck_assert_int_eq(pmt_tracer_add_code_filter(NULL, PMT_FILTER_EXCLUDE_FILE, "x"), PMT_EINVAL);
    ck_assert_int_eq(pmt_tracer_add_code_filter(t, PMT_FILTER_EXCLUDE_FILE, NULL), PMT_EINVAL);
    ck_assert_int_eq(pmt_tracer_add_code_filter(t, (pmt_code_filter)0, "x"), PMT_EINVAL);
    ck_assert_int_eq(pmt_tracer_add_code_filter(t, (pmt_code_filter)9, "x"), PMT_EINVAL);
    ck_assert_str_ne(pmt_last_error_message(), "");
    ck_assert_int_eq(pmt_tracer_set_filter(NULL, NULL, NULL), PMT_EINVAL);
    ck_assert_int_eq(pmt_tracer_set_filter(t, NULL, NULL), PMT_OK);
    pmt_tracer_destroy(t);

    /* Fixed once started, like every parameter. */
    fake_clock clock = {0};
    fake_rss rss = {0};
    t = fake_tracer(&clock, &rss, 0, NULL);
    start_at(t, &clock, &rss, 1, 4096);
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_MAX_DEPTH, 3), PMT_ESTATE);
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_SAMPLE_EVERY, 3), PMT_ESTATE);
    ck_assert_int_eq(pmt_tracer_add_code_filter(t, PMT_FILTER_EXCLUDE_FILE, "x"), PMT_ESTATE);
    ck_assert_int_eq(pmt_tracer_set_filter(t, NULL, NULL), PMT_ESTATE);
    pmt_tracer_destroy(t);
}
END_TEST

START_TEST(code_stage)
{
    fake_clock clock = {0};
    fake_rss rss = {0};
    capture cap = {0};
    pmt_tracer *t = fake_tracer(&clock, &rss, 100, &cap);
    ck_assert_int_eq(pmt_tracer_add_code_filter(t, PMT_FILTER_EXCLUDE_FUNCTION, "noisy*"), PMT_OK);
    ck_assert_int_eq(pmt_tracer_add_code_filter(t, PMT_FILTER_INCLUDE_FILE, "app/*"), PMT_OK);
    start_at(t, &clock, &rss, 10, 1000);
    int clock_calls = clock.calls, reads = rss.reads;
    feed(t, &clock, &rss, PMT_EV_CALL, 20, 1050, "app/a.py", "work", 1, 1);      /* seq 1: kept */
    feed(t, &clock, &rss, PMT_EV_CALL, 30, 1300, "app/a.py", "noisy_log", 2, 2); /* excluded */
    feed(t, &clock, &rss, PMT_EV_CALL, 40, 1300, "lib/b.py", "work", 3, 2);      /* not included */
    /* Neither the clock nor the RSS was read for the two dropped events. */
    ck_assert_int_eq(clock.calls, clock_calls + 1);
    ck_assert_int_eq(rss.reads, reads + 1);
    feed(t, &clock, &rss, PMT_EV_RETURN, 50, 1200, "app/a.py", "work", 4, 1); /* seq 4: trigger */
    ck_assert_uint_eq(stat_of(t, PMT_STAT_EVENTS_SEEN), 5);
    ck_assert_uint_eq(cap.count, 3);
    /* The event before the trigger is the last one that reached the trigger stage (seq 1), not
     * the dropped ones, though they came later and their RSS was higher. */
    ck_assert_uint_eq(cap.events[1].ev.reason, PMT_REASON_BEFORE);
    ck_assert_uint_eq(cap.events[1].ev.seq, 1);
    ck_assert_str_eq(cap.events[1].function, "work");
    ck_assert_uint_eq(cap.events[2].ev.reason, PMT_REASON_TRIGGER);
    ck_assert_uint_eq(cap.events[2].ev.seq, 4);
    ck_assert_int_eq(cap.events[2].ev.d_rss, 150);
    /* The source's own answer, kept per code object, skips the lookup but not the number. */
    ck_assert_int_eq(pmt__tracer_code_selected(t, "app/a.py", "noisy"), 0);
    ck_assert_int_eq(pmt__tracer_code_selected(t, "app/a.py", "quiet"), 1);
    ck_assert_int_eq(pmt__tracer_code_axes(t, "lib/b.py", "noisy"), 0);
    ck_assert_int_eq(pmt__tracer_code_axes(t, "lib/b.py", "quiet"), PMT__CODE_FUNCTION_OK);
    ck_assert_int_eq(pmt__tracer_code_axes(t, "app/b.py", "noisy"), PMT__CODE_FILE_OK);
    clock.now = 60;
    rss.value = 5000;
    pmt__tracer_event_selected(t, PMT_EV_CALL, 0, "app/a.py", "work", 5, 1);
    ck_assert_uint_eq(cap.count, 3);
    pmt__tracer_event_selected(t, PMT_EV_CALL, 1, "lib/b.py", "noisy", 6, 1);
    ck_assert_uint_eq(cap.count, 4);
    ck_assert_uint_eq(cap.events[3].ev.seq, 6);
    ck_assert_str_eq(cap.events[3].function, "noisy");
    /* Start, stop and mark pass whatever their place. */
    g_source.file = "lib/elsewhere.py";
    g_source.function = "noisy_main";
    ck_assert_int_eq(pmt_tracer_mark(t, "m"), PMT_OK);
    ck_assert_int_eq(pmt_tracer_stop(t), PMT_OK);
    ck_assert_uint_eq(cap.count, 6);
    ck_assert_uint_eq(cap.events[4].ev.seq, 7);
    ck_assert_uint_eq(cap.events[5].ev.kind, PMT_EV_STOP);
    ck_assert_str_eq(cap.events[5].function, "noisy_main");
    pmt_tracer_destroy(t);
    capture_free(&cap);
}
END_TEST

START_TEST(max_depth_stage)
{
    fake_clock clock = {0};
    fake_rss rss = {0};
    capture cap = {0};
    pmt_tracer *t = fake_tracer(&clock, &rss, 0, &cap);
    set(t, PMT_PARAM_MAX_DEPTH, 2);
    fake_source_reset();
    g_source.depth = 9; /* start and stop deeper than the limit: written all the same */
    start_at(t, &clock, &rss, 1, 1000);
    int clock_calls = clock.calls;
    for (int32_t depth = 0; depth <= 4; depth++)
        feed(t, &clock, &rss, PMT_EV_CALL, 10 + (uint64_t)depth, 1000, "x.py", "f", depth, depth);
    ck_assert_int_eq(clock.calls, clock_calls + 3); /* deeper ones did not read it */
    ck_assert_int_eq(pmt_tracer_stop(t), PMT_OK);
    ck_assert_uint_eq(cap.count, 5);
    ck_assert_int_eq(cap.events[0].ev.depth, 9);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(cap.events[1 + i].ev.depth, i);
        ck_assert_uint_eq(cap.events[1 + i].ev.seq, 1 + (uint64_t)i);
    }
    ck_assert_uint_eq(cap.events[4].ev.seq, 6);
    ck_assert_int_eq(cap.events[4].ev.depth, 9);
    pmt_tracer_destroy(t);
    capture_free(&cap);

    /* 0 keeps only depth 0; -1 (the default) keeps any depth. */
    t = fake_tracer(&clock, &rss, 0, &cap);
    set(t, PMT_PARAM_MAX_DEPTH, 0);
    start_at(t, &clock, &rss, 1, 1000);
    feed(t, &clock, &rss, PMT_EV_CALL, 2, 1000, "x.py", "f", 1, 0);
    feed(t, &clock, &rss, PMT_EV_CALL, 3, 1000, "x.py", "f", 2, 1);
    ck_assert_uint_eq(cap.count, 2);
    pmt_tracer_destroy(t);
    capture_free(&cap);
    t = fake_tracer(&clock, &rss, 0, &cap);
    set(t, PMT_PARAM_MAX_DEPTH, 5);
    set(t, PMT_PARAM_MAX_DEPTH, -1);
    start_at(t, &clock, &rss, 1, 1000);
    feed(t, &clock, &rss, PMT_EV_CALL, 2, 1000, "x.py", "f", 1, INT32_MAX);
    ck_assert_uint_eq(cap.count, 2);
    pmt_tracer_destroy(t);
    capture_free(&cap);
}
END_TEST

START_TEST(time_window_stage)
{
    fake_clock clock = {0};
    fake_rss rss = {0};
    capture cap = {0};
    pmt_tracer *t = fake_tracer(&clock, &rss, 0, &cap);
    set(t, PMT_PARAM_TIME_FROM_NS, 100);
    set(t, PMT_PARAM_TIME_UNTIL_NS, 200);
    start_at(t, &clock, &rss, 1000, 1000);
    const uint64_t times[] = {1000, 1099, 1100, 1150, 1199, 1200, 5000, 1150};
    for (size_t i = 0; i < 8; i++)
        feed(t, &clock, &rss, PMT_EV_CALL, times[i], 1000, "x.py", "f", (int32_t)i, 0);
    clock.now = 9000; /* stop after the window: written */
    ck_assert_int_eq(pmt_tracer_stop(t), PMT_OK);
    ck_assert_uint_eq(cap.count, 6);
    const int32_t kept[] = {2, 3, 4, 7};
    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_eq(cap.events[1 + i].ev.line, kept[i]);
        ck_assert_uint_eq(cap.events[1 + i].ev.seq, 1 + (uint64_t)kept[i]);
    }
    ck_assert_uint_eq(cap.events[5].ev.seq, 9);
    pmt_tracer_destroy(t);
    capture_free(&cap);

    /* Only a start: no end. A window that ends before it starts drops every event. */
    t = fake_tracer(&clock, &rss, 0, &cap);
    set(t, PMT_PARAM_TIME_FROM_NS, 50);
    start_at(t, &clock, &rss, 10, 1000);
    feed(t, &clock, &rss, PMT_EV_CALL, 59, 1000, "x.py", "f", 1, 0);
    feed(t, &clock, &rss, PMT_EV_CALL, 60, 1000, "x.py", "f", 2, 0);
    feed(t, &clock, &rss, PMT_EV_CALL, UINT64_C(1) << 62, 1000, "x.py", "f", 3, 0);
    ck_assert_uint_eq(cap.count, 3);
    pmt_tracer_destroy(t);
    capture_free(&cap);
    t = fake_tracer(&clock, &rss, 0, &cap);
    set(t, PMT_PARAM_TIME_FROM_NS, 50);
    set(t, PMT_PARAM_TIME_UNTIL_NS, 50);
    start_at(t, &clock, &rss, 10, 1000);
    for (uint64_t now = 0; now < 200; now += 5)
        feed(t, &clock, &rss, PMT_EV_CALL, now, 1000, "x.py", "f", 1, 0);
    ck_assert_uint_eq(cap.count, 1);
    ck_assert_uint_eq(stat_of(t, PMT_STAT_EVENTS_SEEN), 41);
    pmt_tracer_destroy(t);
    capture_free(&cap);
}
END_TEST

START_TEST(sample_every_stage)
{
    fake_clock clock = {0};
    fake_rss rss = {0};
    capture cap = {0};
    pmt_tracer *t = fake_tracer(&clock, &rss, 0, &cap);
    set(t, PMT_PARAM_SAMPLE_EVERY, 3);
    set(t, PMT_PARAM_MAX_DEPTH, 1);
    start_at(t, &clock, &rss, 1, 1000);
    int clock_calls = clock.calls, reads = rss.reads;
    /* Depth-2 events are dropped before the sampler: they do not count towards its N. */
    for (int32_t i = 0; i < 20; i++)
        feed(t, &clock, &rss, PMT_EV_CALL, 10 + (uint64_t)i, 1000, "x.py", "f", i, i % 2 ? 2 : 1);
    ck_assert_uint_eq(cap.count, 5); /* start, then lines 0, 6, 12, 18 */
    const int32_t kept[] = {0, 6, 12, 18};
    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_eq(cap.events[1 + i].ev.line, kept[i]);
        ck_assert_uint_eq(cap.events[1 + i].ev.seq, 1 + (uint64_t)kept[i]);
    }
    /* Only the kept events read the clock and the RSS. */
    ck_assert_int_eq(clock.calls, clock_calls + 4);
    ck_assert_int_eq(rss.reads, reads + 4);
    ck_assert_uint_eq(stat_of(t, PMT_STAT_EVENTS_SEEN), 21);
    pmt_tracer_destroy(t);
    capture_free(&cap);
}
END_TEST

START_TEST(rss_above_stage)
{
    fake_clock clock = {0};
    fake_rss rss = {0};
    capture cap = {0};
    pmt_tracer *t = fake_tracer(&clock, &rss, 100, &cap);
    set(t, PMT_PARAM_RSS_ABOVE, 10000);
    start_at(t, &clock, &rss, 1, 500); /* the start is written below the level */
    feed(t, &clock, &rss, PMT_EV_CALL, 2, 10000, "x.py", "a", 1, 0); /* at the level: trigger */
    feed(t, &clock, &rss, PMT_EV_CALL, 3, 10050, "x.py", "b", 2, 0); /* passes, below trigger */
    feed(t, &clock, &rss, PMT_EV_CALL, 4, 9999, "x.py", "c", 3, 0);  /* below the level */
    feed(t, &clock, &rss, PMT_EV_CALL, 5, 10100, "x.py", "d", 4, 0); /* trigger, after b */
    feed(t, &clock, &rss, PMT_EV_CALL, 6, 200, "x.py", "e", 5, 0);   /* below: dropped */
    ck_assert_uint_eq(cap.count, 4);
    ck_assert_str_eq(cap.events[1].function, "a");
    ck_assert_int_eq(cap.events[1].ev.d_rss, 9500);
    ck_assert_uint_eq(cap.events[2].ev.reason, PMT_REASON_BEFORE);
    ck_assert_str_eq(cap.events[2].function, "b");
    ck_assert_uint_eq(cap.events[3].ev.reason, PMT_REASON_TRIGGER);
    ck_assert_str_eq(cap.events[3].function, "d");
    ck_assert_uint_eq(cap.events[3].ev.seq, 4);
    ck_assert_int_eq(pmt_tracer_stop(t), PMT_OK);
    ck_assert_uint_eq(cap.events[4].ev.rss, 200);
    pmt_tracer_destroy(t);
    capture_free(&cap);
}
END_TEST

typedef struct keep_state {
    int calls;
    int drop_lines_from; /* drop events whose line is at least this */
    int kinds_seen;      /* OR of PMT_EV_BIT of every kind seen */
    pmt_tracer *tracer;  /* to check that events caused here are not traced */
    capture seen;
} keep_state;

static int keep_some(const pmt_event *ev, void *user_data)
{
    keep_state *k = user_data;
    k->calls++;
    k->kinds_seen |= (int)PMT_EV_BIT(ev->kind);
    binlog_keep(&k->seen, ev);
    if (k->tracer) /* what the filter does is not the program's work */
        pmt__tracer_event(k->tracer, PMT_EV_CALL, "inside.py", "filter", 1, 0);
    return ev->line < k->drop_lines_from;
}

START_TEST(callback_stage)
{
    fake_clock clock = {0};
    fake_rss rss = {0};
    capture cap = {0};
    keep_state k = {0};
    k.drop_lines_from = 100;
    pmt_tracer *t = fake_tracer(&clock, &rss, 10, &cap);
    ck_assert_int_eq(pmt_tracer_set_filter(t, keep_some, &k), PMT_OK);
    k.tracer = t;
    start_at(t, &clock, &rss, 1, 1000);
    ck_assert_int_eq(k.calls, 0);                                     /* not for the start */
    feed(t, &clock, &rss, PMT_EV_CALL, 2, 1005, "x.py", "f", 1, 0);   /* below the trigger */
    feed(t, &clock, &rss, PMT_EV_CALL, 3, 1050, "x.py", "g", 100, 0); /* trigger; dropped */
    ck_assert_int_eq(k.calls, 2); /* the PREV row (kept) and the trigger (dropped) */
    ck_assert_uint_eq(k.seen.events[0].ev.reason, PMT_REASON_BEFORE);
    ck_assert_int_eq(k.seen.events[0].ev.d_rss, 5);
    ck_assert_uint_eq(k.seen.events[1].ev.reason, PMT_REASON_TRIGGER);
    ck_assert_uint_eq(k.seen.events[1].ev.seq, 2);
    ck_assert_uint_eq(k.seen.events[1].ev.time_ns, 3);
    ck_assert_uint_eq(k.seen.events[1].ev.rss, 1050);
    ck_assert_int_eq(k.seen.events[1].ev.d_rss, 45); /* against the PREV row just written */
    ck_assert_uint_eq(cap.count, 2);
    /* The next trigger: d_rss against the last written row; the dropped trigger, which reached
     * the trigger stage last, is offered as the event before it, and dropped again. */
    feed(t, &clock, &rss, PMT_EV_RETURN, 4, 1100, "x.py", "f", 2, 0);
    ck_assert_int_eq(k.calls, 4);
    ck_assert_uint_eq(k.seen.events[2].ev.reason, PMT_REASON_BEFORE);
    ck_assert_uint_eq(k.seen.events[2].ev.seq, 2);
    ck_assert_uint_eq(cap.count, 3);
    ck_assert_uint_eq(cap.events[2].ev.seq, 3);
    ck_assert_int_eq(cap.events[2].ev.d_rss, 95);
    ck_assert_uint_eq(stat_of(t, PMT_STAT_EVENTS_WRITTEN), 3);
    ck_assert_uint_eq(stat_of(t, PMT_STAT_EVENTS_SEEN), 4); /* not the filter's own */
    ck_assert_int_eq(pmt_tracer_mark(t, "m"), PMT_OK);
    ck_assert_int_eq(pmt_tracer_stop(t), PMT_OK);
    ck_assert_int_eq(k.calls, 4);
    ck_assert_int_eq(k.kinds_seen, (int)(PMT_EV_BIT(PMT_EV_CALL) | PMT_EV_BIT(PMT_EV_RETURN)));
    pmt_tracer_destroy(t);
    capture_free(&cap);
    capture_free(&k.seen);

    /* NULL removes it. */
    keep_state none = {0};
    t = fake_tracer(&clock, &rss, 0, &cap);
    ck_assert_int_eq(pmt_tracer_set_filter(t, keep_some, &none), PMT_OK);
    ck_assert_int_eq(pmt_tracer_set_filter(t, NULL, &none), PMT_OK);
    start_at(t, &clock, &rss, 1, 1000);
    feed(t, &clock, &rss, PMT_EV_CALL, 2, 1000, "x.py", "f", 500, 0);
    ck_assert_int_eq(none.calls, 0);
    ck_assert_uint_eq(cap.count, 2);
    pmt_tracer_destroy(t);
    capture_free(&cap);
}
END_TEST

/* --- every stage together, against a model of the documented order ------------------------- */

static const char *const model_files[] = {"a.py",     "b.py", "lib/c.py", "d.py",
                                          "lib/e.py", "f.py", "g.py"};
static const char *const model_functions[] = {"fa", "fb", "gc", "fd", "ge", "ff", "fg"};

/* The globs the tracer gets, and the same rule written out by hand. */
static void add_model_globs(pmt_tracer *t)
{
    ck_assert_int_eq(pmt_tracer_add_code_filter(t, PMT_FILTER_EXCLUDE_FILE, "lib/*"), PMT_OK);
    ck_assert_int_eq(pmt_tracer_add_code_filter(t, PMT_FILTER_INCLUDE_FUNCTION, "f*"), PMT_OK);
    ck_assert_int_eq(pmt_tracer_add_code_filter(t, PMT_FILTER_EXCLUDE_FUNCTION, "fb"), PMT_OK);
}

static int model_code_passes(const char *file, const char *function)
{
    return strncmp(file, "lib/", 4) != 0 && function[0] == 'f' && strcmp(function, "fb") != 0;
}

static int model_keep(int32_t line, uint32_t reason)
{
    return reason == PMT_REASON_BEFORE ? line % 7 != 0 : line % 5 != 0;
}

static int keep_by_rule(const pmt_event *ev, void *user_data)
{
    (void)user_data;
    return model_keep(ev->line, ev->reason);
}

typedef struct stages {
    int64_t trigger;
    uint64_t mask;
    int code, callback;
    int64_t max_depth, from, until, every, rss_above;
} stages;

typedef struct row {
    uint32_t reason, kind;
    uint64_t seq, time, rss;
    int64_t d_rss;
    const char *file, *function;
    int32_t line, depth;
} row;

typedef struct model {
    stages s;
    uint64_t start, trigger, seq, sample_left;
    int64_t last_written_rss;
    int prev_valid, prev_written;
    row prev;
    row *out;
    size_t count, capacity;
} model;

static int model_deliver(model *m, row r, uint32_t reason, int filtered)
{
    r.reason = reason;
    r.d_rss = (int64_t)r.rss - m->last_written_rss;
    if (filtered && m->s.callback && !model_keep(r.line, reason))
        return 0;
    m->last_written_rss = (int64_t)r.rss;
    if (m->count == m->capacity) {
        m->capacity = m->capacity ? 2 * m->capacity : 256;
        m->out = realloc(m->out, m->capacity * sizeof *m->out);
        ck_assert_ptr_nonnull(m->out);
    }
    m->out[m->count++] = r;
    return 1;
}

static void model_event(model *m, const fake_input *in)
{
    if (!(m->s.mask & PMT_EV_BIT(in->kind)))
        return;
    row r = {0};
    r.kind = (uint32_t)in->kind;
    r.time = in->time;
    r.rss = in->rss;
    r.file = in->file;
    r.function = in->function;
    r.line = in->line;
    r.depth = in->depth;
    r.seq = m->seq++;
    if (m->s.code && !model_code_passes(r.file, r.function))
        return;
    if (m->s.max_depth >= 0 && r.depth > m->s.max_depth)
        return;
    int64_t elapsed = (int64_t)(r.time - m->start);
    if (elapsed < m->s.from || elapsed >= m->s.until)
        return;
    if (m->sample_left) {
        m->sample_left--;
        return;
    }
    m->sample_left = (uint64_t)m->s.every - 1;
    if ((int64_t)r.rss < m->s.rss_above)
        return;
    int64_t change = (int64_t)r.rss - m->last_written_rss;
    if ((uint64_t)llabs(change) < m->trigger) {
        m->prev = r;
        m->prev_valid = 1;
        m->prev_written = 0;
        return;
    }
    if (m->prev_valid && !m->prev_written)
        model_deliver(m, m->prev, PMT_REASON_BEFORE, 1);
    m->prev_written = model_deliver(m, r, PMT_REASON_TRIGGER, 1);
    m->prev = r;
    m->prev_valid = 1;
}

static void run_stages(const stages *s, const fake_input *in, size_t n)
{
    fake_clock clock = {0};
    fake_rss rss = {0};
    capture cap = {0};
    pmt_tracer *t = fake_tracer(&clock, &rss, s->trigger, &cap);
    set(t, PMT_PARAM_EVENT_MASK, (int64_t)s->mask);
    set(t, PMT_PARAM_MAX_DEPTH, s->max_depth);
    set(t, PMT_PARAM_TIME_FROM_NS, s->from);
    set(t, PMT_PARAM_TIME_UNTIL_NS, s->until);
    set(t, PMT_PARAM_SAMPLE_EVERY, s->every);
    set(t, PMT_PARAM_RSS_ABOVE, s->rss_above);
    if (s->code)
        add_model_globs(t);
    if (s->callback)
        ck_assert_int_eq(pmt_tracer_set_filter(t, keep_by_rule, NULL), PMT_OK);
    model m;
    memset(&m, 0, sizeof m);
    m.s = *s;
    m.start = 500;
    m.trigger = (uint64_t)s->trigger;
    start_at(t, &clock, &rss, 500, UINT64_C(1) << 30);
    row first = {0, PMT_EV_START, 0, 500, UINT64_C(1) << 30, 0, "main.py", "<module>", 1, 0};
    m.seq = 1;
    model_deliver(&m, first, PMT_REASON_FIRST, 0);
    m.prev_valid = m.prev_written = 1;
    for (size_t i = 0; i < n; i++) {
        feed(t, &clock, &rss, in[i].kind, in[i].time, in[i].rss, in[i].file, in[i].function,
             in[i].line, in[i].depth);
        model_event(&m, &in[i]);
    }
    ck_assert_uint_eq(stat_of(t, PMT_STAT_EVENTS_SEEN), m.seq);
    ck_assert_uint_eq(cap.count, m.count);
    for (size_t i = 0; i < m.count; i++) {
        const pmt_event *ev = &cap.events[i].ev;
        const row *e = &m.out[i];
        ck_assert_msg(ev->seq == e->seq && ev->reason == e->reason && ev->kind == e->kind &&
                          ev->time_ns == e->time && ev->rss == e->rss && ev->d_rss == e->d_rss &&
                          ev->line == e->line && ev->depth == e->depth,
                      "row %zu: seq %llu reason %u d_rss %lld, expected seq %llu reason %u "
                      "d_rss %lld",
                      i, (unsigned long long)ev->seq, ev->reason, (long long)ev->d_rss,
                      (unsigned long long)e->seq, e->reason, (long long)e->d_rss);
        ck_assert_str_eq(cap.events[i].file, e->file);
        ck_assert_str_eq(cap.events[i].function, e->function);
    }
    pmt_tracer_destroy(t);
    capture_free(&cap);
    free(m.out);
}

START_TEST(every_combination_matches_the_model)
{
    enum { N = 4000 };
    fake_input *in = calloc(N, sizeof *in);
    ck_assert_ptr_nonnull(in);
    uint64_t state = 0x9e3779b97f4a7c15u;
    fake_random_events(in, N, &state, model_files, model_functions);
    const uint64_t all = PMT_EV_MASK_PROFILE | PMT_EV_MASK_TRACE;
    const int64_t until_none = INT64_MAX, level = INT64_C(1) << 30;
    /* Each stage alone, then together, under a few triggers and masks. Bit k of the loop
     * variable turns stage k on. */
    for (unsigned on = 0; on < 64; on++) {
        for (int k = 0; k < 3; k++) {
            stages s = {k == 0   ? 0
                        : k == 1 ? 1000
                                 : 20000,
                        k == 2 ? PMT_EV_MASK_PROFILE : all,
                        (on & 1) != 0,
                        (on & 32) != 0,
                        (on & 2) ? 30 : -1,
                        (on & 4) ? 300000 : 0,
                        (on & 4) ? 3200000 : until_none,
                        (on & 8) ? 3 : 1,
                        (on & 16) ? level : 0};
            run_stages(&s, in, N);
        }
    }
    free(in);
}
END_TEST

/* --- the header ------------------------------------------------------------------------------ */

START_TEST(filters_described_in_stage_order)
{
    pmt_tracer *t = NULL;
    ck_assert_int_eq(pmt__tracer_create_with_source(&t, &fake_source_ops, &g_source), PMT_OK);
    char *text = pmt__filters_describe(t);
    ck_assert_str_eq(text, "");
    free(text);
    set(t, PMT_PARAM_RSS_ABOVE, 1 << 20);
    set(t, PMT_PARAM_SAMPLE_EVERY, 10);
    set(t, PMT_PARAM_TIME_UNTIL_NS, 2000000000);
    set(t, PMT_PARAM_MAX_DEPTH, 5);
    ck_assert_int_eq(pmt_tracer_add_code_filter(t, PMT_FILTER_EXCLUDE_FUNCTION, "_*"), PMT_OK);
    ck_assert_int_eq(pmt_tracer_add_code_filter(t, PMT_FILTER_INCLUDE_FILE, "*/my app/*"), PMT_OK);
    ck_assert_int_eq(pmt_tracer_add_code_filter(t, PMT_FILTER_INCLUDE_FILE, "a\"b\\c\n"), PMT_OK);
    ck_assert_int_eq(pmt_tracer_add_code_filter(t, PMT_FILTER_EXCLUDE_FILE, ""), PMT_OK);
    ck_assert_int_eq(pmt_tracer_set_filter(t, keep_by_rule, NULL), PMT_OK);
    text = pmt__filters_describe(t);
    ck_assert_str_eq(text, "include_file=\"*/my app/*\" include_file=\"a\\\"b\\\\c\\x0a\" "
                           "exclude_file=\"\" exclude_function=_* max_depth=5 "
                           "time_until_ns=2000000000 sample_every=10 rss_above=1048576 "
                           "callback");
    free(text);
    pmt_tracer_destroy(t);
}
END_TEST

static void run_logged(const char *dir, int with_filters, char **text_path, char **binary_path)
{
    fake_clock clock = {0};
    fake_rss rss = {0};
    pmt_tracer *t = fake_tracer(&clock, &rss, 0, NULL);
    if (with_filters) {
        set(t, PMT_PARAM_MAX_DEPTH, 3);
        set(t, PMT_PARAM_TIME_FROM_NS, 7);
        ck_assert_int_eq(pmt_tracer_add_code_filter(t, PMT_FILTER_EXCLUDE_FILE, "*/lib/*"), PMT_OK);
    }
    ck_assert_int_gt(asprintf(text_path, "%s/run%d.log", dir, with_filters), 0);
    ck_assert_int_gt(asprintf(binary_path, "%s/run%d.pmt", dir, with_filters), 0);
    pmt_sink *text = NULL, *binary = NULL;
    ck_assert_int_eq(pmt_sink_text_open(&text, *text_path, "a message"), PMT_OK);
    ck_assert_int_eq(pmt_sink_binary_open(&binary, *binary_path, NULL, NULL), PMT_OK);
    ck_assert_int_eq(pmt_tracer_add_sink(t, text), PMT_OK);
    ck_assert_int_eq(pmt_tracer_add_sink(t, binary), PMT_OK);
    start_at(t, &clock, &rss, 100, 4096);
    feed(t, &clock, &rss, PMT_EV_CALL, 120, 8192, "/app/x.py", "f", 3, 2);
    feed(t, &clock, &rss, PMT_EV_CALL, 130, 8192, "/usr/lib/y.py", "g", 4, 3);
    ck_assert_int_eq(pmt_tracer_stop(t), PMT_OK);
    pmt_tracer_destroy(t);
}

START_TEST(filters_in_log_headers)
{
    char *dir = temp_dir_create();
    char *text_path, *binary_path;
    run_logged(dir, 1, &text_path, &binary_path);
    char *text = read_whole_file(text_path, NULL);
    ck_assert_ptr_nonnull(text);
    const char *hdr = strstr(text, "\nHDR:  ");
    ck_assert_ptr_nonnull(hdr);
    const char *flt = strchr(hdr + 1, '\n') + 1;
    ck_assert_msg(
        strncmp(flt, "FLT:  exclude_file=*/lib/* max_depth=3 time_from_ns=7\nFRST: ", 60) == 0,
        "no FLT line after the header:\n%s", text);
    ck_assert_ptr_null(strstr(text, "y.py"));
    free(text);
    pmt_reader *reader = NULL;
    ck_assert_int_eq(pmt_reader_open(&reader, binary_path), PMT_OK);
    ck_assert_str_eq(pmt_reader_info(reader)->filters,
                     "exclude_file=*/lib/* max_depth=3 time_from_ns=7");
    pmt_reader_close(reader);
    free(text_path);
    free(binary_path);

    /* Without filters: no FLT line, no header field, "" read back. */
    run_logged(dir, 0, &text_path, &binary_path);
    text = read_whole_file(text_path, NULL);
    ck_assert_ptr_null(strstr(text, "FLT:"));
    ck_assert_ptr_nonnull(strstr(text, "y.py"));
    free(text);
    ck_assert_int_eq(pmt_reader_open(&reader, binary_path), PMT_OK);
    ck_assert_str_eq(pmt_reader_info(reader)->filters, "");
    pmt_reader_close(reader);
    free(text_path);
    free(binary_path);
    temp_dir_remove(dir);
}
END_TEST

Suite *stages_suite(void)
{
    Suite *s = suite_create("stages");
    TCase *tc = unit_tcase("stages");
    tcase_add_test(tc, glob_matching);
    tcase_add_test(tc, code_filter_axes);
    tcase_add_test(tc, code_filter_cache_agrees_with_the_globs);
    tcase_add_test(tc, params_bounds_defaults_and_state);
    tcase_add_test(tc, code_stage);
    tcase_add_test(tc, max_depth_stage);
    tcase_add_test(tc, time_window_stage);
    tcase_add_test(tc, sample_every_stage);
    tcase_add_test(tc, rss_above_stage);
    tcase_add_test(tc, callback_stage);
    tcase_add_test(tc, every_combination_matches_the_model);
    tcase_add_test(tc, filters_described_in_stage_order);
    tcase_add_test(tc, filters_in_log_headers);
    suite_add_tcase(s, tc);
    return s;
}
