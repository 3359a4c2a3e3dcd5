/* Test doubles for the core: an event source, a clock and an RSS provider the test drives by
 * hand, a sink that keeps copies of what it receives, and a few file helpers. */
#ifndef PMT_TESTS_UNIT_FAKES_H
#define PMT_TESTS_UNIT_FAKES_H

#include <stddef.h>
#include <stdint.h>

#include <pymemtrace/pymemtrace.h>

#include "core/tracer_internal.h"

/* The source the tests drive; fake_tracer() and the tests pass g_source as the ops' self. */
typedef struct fake_source {
    int check_result; /* what check_thread returns */
    int attach_result;
    int check_calls, attach_calls, detach_calls, release_calls, locate_calls;
    /* Where start, stop and mark events happen. */
    const char *file, *function;
    int32_t line, depth;
} fake_source;

extern fake_source g_source;
extern const pmt__source_ops fake_source_ops;
void fake_source_reset(void);

/* The clock returns whatever the test put in `now`, so an event's time is the value set just
 * before it, however often the tracer reads the clock. */
typedef struct fake_clock {
    uint64_t now;
    int calls;
} fake_clock;
uint64_t fake_clock_read(void *user_data);

/* The RSS provider returns `value` (or fails while `fail` is set), likewise set by the test. */
typedef struct fake_rss {
    uint64_t value;
    int fail;
    int gate_open;          /* what may_have_changed answers */
    uint64_t gate_last_now; /* the time the gate was last asked at */
    int reads, gate_calls, releases;
} fake_rss;
int fake_rss_read(void *user_data, uint64_t *out_bytes);
int fake_rss_gate(void *user_data, uint64_t now_ns);
void fake_rss_release(void *user_data);
/* A provider table with read and release (and the gate when with_gate). */
pmt_rss_provider fake_rss_provider(int with_gate);

/* One delivered event, with its strings copied so it outlives the tracer. */
typedef struct captured {
    pmt_event ev; /* ev.sample is NULL: see has_sample and sample */
    char *file, *function, *message;
    char *user_file, *user_function;
    int has_sample;
    pmt_sample sample; /* a copy of a PMT_EV_SAMPLE's sample (its label is `message`) */
} captured;

/* Copies ev into c: its strings and its sample. */
void captured_copy(captured *c, const pmt_event *ev);

typedef struct capture {
    captured *events;
    size_t count, capacity;
    int fail_at_write; /* 1-based write call that returns -1; 0 = never */
    int fail_flush;    /* flush returns -1 */
    int writes, flushes, closes;
} capture;

/* A callback sink appending to cap. */
pmt_sink *capture_sink(capture *cap);
void capture_free(capture *cap);

/* An event as a source reports it (with the clock and RSS it happens at), for scripted and
 * random event streams. */
typedef struct fake_input {
    pmt_event_kind kind;
    uint64_t time, rss;
    const char *file, *function;
    int32_t line, depth;
} fake_input;

/* xorshift64: deterministic, so that a failure reproduces. */
uint64_t fake_random(uint64_t *state);

/* n events of a random walk for the model-based tests: RSS from 1 GiB in mostly small steps,
 * now and then a big one, either way; times 1000 ns apart from 1000; kinds of every hook and
 * names drawn from seven each; lines 0, 1, ...; depths 0..49. */
void fake_random_events(fake_input *out, size_t n, uint64_t *state, const char *const files[7],
                        const char *const functions[7]);

/* A tracer with the fake source, clock and RSS provider, the given trigger, and (if cap is not
 * NULL) a capturing sink. Resets g_source. */
pmt_tracer *fake_tracer(fake_clock *clock, fake_rss *rss, int64_t trigger, capture *cap);

/* A fresh empty directory (malloc'd path), and its recursive removal. */
char *temp_dir_create(void);
void temp_dir_remove(char *path);

/* The whole content of a file (malloc'd, NUL-terminated), or NULL. */
char *read_whole_file(const char *path, size_t *out_len);

/* A growing string for building expected output. */
typedef struct strbuf {
    char *data;
    size_t len, capacity;
} strbuf;
void strbuf_append(strbuf *b, const char *text, size_t n);
void strbuf_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_free(strbuf *b);

#endif
