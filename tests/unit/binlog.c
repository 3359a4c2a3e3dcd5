#define _GNU_SOURCE
#include "binlog.h"

#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log/binary/format.h"
#include "common/bytes.h"

enum { FILES = 37, FUNCTIONS = 53, BATCH = 7 };
static const uint64_t T0 = 1000000000u;

binlog_script binlog_default_script(void)
{
    binlog_script s;
    memset(&s, 0, sizeof s);
    s.compression = PMT_COMPRESS_NONE;
    s.chunk_bytes = 4096;
    s.trigger = 0;
    s.events = 3000;
    s.locations = 600;
    s.thread_every = 400;
    s.mark_every = 700;
    s.jump_every = 900;
    s.pause_at = 1500;
    s.seed = 12345;
    s.message = "binary test run";
    s.with_text = 1;
    return s;
}

/* The state a scripted run shares with the thread that writes some of its events. */
typedef struct script_state {
    const binlog_script *script;
    pmt_tracer *tracer;
    fake_clock clock;
    fake_rss rss;
    uint32_t rng;
    int depth;
    int next; /* next event number */
    char *files[FILES], *functions[FUNCTIONS];
} script_state;

static const pmt_event_kind hook_kinds[] = {PMT_EV_CALL,     PMT_EV_RETURN,      PMT_EV_C_CALL,
                                            PMT_EV_C_RETURN, PMT_EV_C_EXCEPTION, PMT_EV_EXCEPTION,
                                            PMT_EV_LINE};

/* One hook event: a location walking forward through the script's locations, a depth walk,
 * small time steps, and RSS changing now and then, sometimes by a lot, up or down. */
static void one_event(script_state *st)
{
    const binlog_script *sc = st->script;
    int i = st->next++;
    uint32_t r = binlog_rand(&st->rng);
    int loc = (int)(((int64_t)i * sc->locations / (sc->events ? sc->events : 1) + r % 16) %
                    (uint32_t)sc->locations);
    const char *file = st->files[loc % FILES];
    const char *function = st->functions[(loc / FILES) % FUNCTIONS];
    int32_t line = 1 + loc / (FILES * FUNCTIONS) * 1000 + loc % 97;
    pmt_event_kind kind = hook_kinds[(r >> 4) % 7];
    if (kind == PMT_EV_CALL && st->depth < 80)
        st->depth++;
    else if (kind == PMT_EV_RETURN && st->depth > -2)
        st->depth--;
    st->clock.now += 20 + (r >> 8) % 3000;
    if (sc->jump_every && i % sc->jump_every == sc->jump_every - 1)
        st->clock.now += 150000000u; /* 150 ms: the open chunk is written */
    uint32_t change = (r >> 20) % 1000;
    if (change < 30)
        st->rss.value += 4096u * (1 + change % 4);
    else if (change < 50 && st->rss.value > (uint64_t)1 << 24)
        st->rss.value -= 8192u * (1 + change % 3);
    else if (change == 50)
        st->rss.value += (uint64_t)1 << 34;
    else if (change == 51 && st->rss.value > (uint64_t)1 << 34)
        st->rss.value -= (uint64_t)1 << 34;
    if (i == sc->events / 2)
        st->rss.value = (uint64_t)1 << 62; /* a huge step up ... */
    else if (i == sc->events / 2 + 3)
        st->rss.value = 8192; /* ... and down */
    pmt__tracer_event(st->tracer, kind, file, function, line, st->depth);
}

static void *thread_batch(void *arg)
{
    script_state *st = arg;
    for (int k = 0; k < BATCH && st->next < st->script->events; k++)
        one_event(st);
    return NULL;
}

void binlog_run_script(const binlog_script *sc, binlog_run *run)
{
    memset(run, 0, sizeof *run);
    run->dir = temp_dir_create();
    ck_assert_int_gt(asprintf(&run->binary_path, "%s/trace.pmt", run->dir), 0);
    script_state *st = calloc(1, sizeof *st);
    ck_assert_ptr_nonnull(st);
    st->script = sc;
    st->rng = sc->seed ? sc->seed : 1;
    st->rss.value = 50u << 20;
    st->clock.now = T0;
    for (int i = 0; i < FILES; i++)
        ck_assert_int_gt(asprintf(&st->files[i], "pkg/sub%02d/module_%d.py", i % 11, i), 0);
    for (int i = 0; i < FUNCTIONS; i++)
        ck_assert_int_gt(asprintf(&st->functions[i], "Class%d.method_%d", i % 5, i), 0);

    st->tracer = fake_tracer(&st->clock, &st->rss, sc->trigger, &run->written);
    pmt_tracer *t = st->tracer;
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_EVENT_MASK, 0x7F), PMT_OK);
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_CALLS, 2), PMT_OK); /* call paths too */
    pmt_binary_options options = PMT_BINARY_OPTIONS_INIT;
    options.compression = (uint32_t)sc->compression;
    options.chunk_bytes = sc->chunk_bytes;
    options.flush_interval_ms = sc->flush_interval_ms;
    pmt_sink *binary = NULL;
    ck_assert_int_eq(pmt_sink_binary_open(&binary, run->binary_path, sc->message, &options),
                     PMT_OK);
    ck_assert_str_eq(pmt_sink_path(binary), run->binary_path);
    ck_assert_int_eq(pmt_tracer_add_sink(t, binary), PMT_OK);
    if (sc->with_text) {
        ck_assert_int_gt(asprintf(&run->text_path, "%s/trace.log", run->dir), 0);
        pmt_sink *text = NULL;
        ck_assert_int_eq(pmt_sink_text_open(&text, run->text_path, sc->message), PMT_OK);
        ck_assert_int_eq(pmt_tracer_add_sink(t, text), PMT_OK);
    }

    g_source.file = "main.py";
    g_source.function = "<module>";
    g_source.line = 3;
    ck_assert_int_eq(pmt_tracer_start(t), PMT_OK);
    run->start_ns = T0;
    int marks = 0;
    while (st->next < sc->events) {
        int i = st->next;
        if (sc->pause_at && i == sc->pause_at) {
            ck_assert_int_eq(pmt_tracer_pause(t), PMT_OK);
            st->clock.now += 1000;
            ck_assert_int_eq(pmt_tracer_resume(t), PMT_OK);
        }
        if (sc->mark_every && i % sc->mark_every == sc->mark_every - 1) {
            char text[64];
            /* Every other mark repeats a text: names are stored once. */
            if (marks++ % 2)
                snprintf(text, sizeof text, "checkpoint\nsecond line");
            else
                snprintf(text, sizeof text, "phase %d", i);
            st->clock.now += 10;
            g_source.line = 10 + marks;
            ck_assert_int_eq(pmt_tracer_mark(t, text), PMT_OK);
        }
        if (sc->thread_every && i % sc->thread_every == sc->thread_every - 1) {
            pthread_t th;
            ck_assert_int_eq(pthread_create(&th, NULL, thread_batch, st), 0);
            ck_assert_int_eq(pthread_join(th, NULL), 0);
            continue;
        }
        one_event(st);
    }
    st->clock.now += 5000;
    g_source.line = 99;
    ck_assert_int_eq(pmt_tracer_stop(t), PMT_OK);
    ck_assert_int_eq(pmt_tracer_get_stat(t, PMT_STAT_EVENTS_SEEN, &run->seen), PMT_OK);
    ck_assert_int_eq(pmt_tracer_get_stat(t, PMT_STAT_EVENTS_WRITTEN, &run->events_written), PMT_OK);
    ck_assert_int_eq(pmt_tracer_get_stat(t, PMT_STAT_SINKS_FAILED, &run->sinks_failed), PMT_OK);
    run->event_mask = t->event_mask;
    run->trigger_bytes = t->trigger_bytes;
    pmt_tracer_destroy(t); /* closes the logs */
    for (int i = 0; i < FILES; i++)
        free(st->files[i]);
    for (int i = 0; i < FUNCTIONS; i++)
        free(st->functions[i]);
    free(st);
    ck_assert_uint_eq(run->written.count, run->events_written);
}

void binlog_run_free(binlog_run *run)
{
    capture_free(&run->written);
    free(run->binary_path);
    free(run->text_path);
    temp_dir_remove(run->dir);
    memset(run, 0, sizeof *run);
}

static char *copy_or_null(const char *s)
{
    if (!s)
        return NULL;
    char *c = strdup(s);
    if (!c)
        ck_abort_msg("out of memory");
    return c;
}

captured binlog_view(const pmt_event *ev)
{
    captured c = {*ev,
                  (char *)ev->file,
                  (char *)ev->function,
                  (char *)ev->message,
                  (char *)ev->user_file,
                  (char *)ev->user_function,
                  ev->sample != NULL,
                  {0}};
    if (ev->sample)
        c.sample = *ev->sample;
    return c;
}

void binlog_keep(capture *cap, const pmt_event *ev)
{
    if (cap->count == cap->capacity) {
        cap->capacity = cap->capacity ? cap->capacity * 2 : 64;
        cap->events = realloc(cap->events, cap->capacity * sizeof *cap->events);
        if (!cap->events)
            ck_abort_msg("out of memory");
    }
    captured_copy(&cap->events[cap->count++], ev);
}

void binlog_read_file(const char *path, binlog_read *out)
{
    memset(out, 0, sizeof *out);
    pmt_reader *r = NULL;
    out->open_rc = pmt_reader_open(&r, path);
    if (out->open_rc != PMT_OK) {
        ck_assert_ptr_null(r);
        out->status = out->open_rc;
        snprintf(out->reason, sizeof out->reason, "%s", pmt_last_error_message());
        return;
    }
    const pmt_log_info *info = pmt_reader_info(r);
    ck_assert_ptr_nonnull(info);
    out->info = *info;
    out->library_version = copy_or_null(info->library_version);
    out->runtime = copy_or_null(info->runtime);
    out->rss_provider = copy_or_null(info->rss_provider);
    out->message = copy_or_null(info->message);
    const pmt_event *ev = NULL;
    int got;
    while ((got = pmt_reader_next(r, &ev)) == 1) {
        if (!ev || !ev->file || !ev->function)
            ck_abort_msg("%s: event %zu without its names", path, out->events.count);
        binlog_keep(&out->events, ev);
    }
    ck_assert_int_eq(got, 0);
    ck_assert_ptr_null(ev);
    ck_assert_int_eq(pmt_reader_next(r, &ev), 0); /* stays at the end */
    const char *reason = NULL;
    out->status = pmt_reader_status(r, &out->offset, &reason);
    ck_assert_ptr_nonnull(reason);
    snprintf(out->reason, sizeof out->reason, "%s", reason);
    pmt_reader_close(r);
}

void binlog_read_free(binlog_read *r)
{
    capture_free(&r->events);
    free(r->library_version);
    free(r->runtime);
    free(r->rss_provider);
    free(r->message);
    memset(r, 0, sizeof *r);
}

static int str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Plain comparisons, asserting only on a mismatch: a passing ck_assert costs a write to
 * Check's pipe, and the damage tests compare millions of fields. */
void binlog_assert_event_eq(const captured *got, const captured *want, const char *what,
                            size_t index)
{
    const pmt_event *g = &got->ev, *w = &want->ev;
#define FIELD_EQ(f)                                                                                \
    if (g->f != w->f)                                                                              \
    ck_abort_msg("%s: event %zu: " #f " is %lld, expected %lld", what, index, (long long)g->f,     \
                 (long long)w->f)
    FIELD_EQ(kind);
    FIELD_EQ(reason);
    FIELD_EQ(seq);
    FIELD_EQ(time_ns);
    FIELD_EQ(thread_id);
    FIELD_EQ(depth);
    FIELD_EQ(line);
    FIELD_EQ(rss);
    FIELD_EQ(d_rss);
    FIELD_EQ(user_line);
    FIELD_EQ(call_node);
#undef FIELD_EQ
    if (g->struct_size < sizeof(pmt_event))
        ck_abort_msg("%s: event %zu: struct_size %u", what, index, g->struct_size);
    if (!str_eq(got->file, want->file))
        ck_abort_msg("%s: event %zu: file '%s', expected '%s'", what, index, got->file, want->file);
    if (!str_eq(got->function, want->function))
        ck_abort_msg("%s: event %zu: function '%s', expected '%s'", what, index, got->function,
                     want->function);
    if (!str_eq(got->user_file, want->user_file) ||
        !str_eq(got->user_function, want->user_function))
        ck_abort_msg("%s: event %zu: user site '%s' '%s', expected '%s' '%s'", what, index,
                     got->user_file, got->user_function, want->user_file, want->user_function);
    if (got->has_sample != want->has_sample)
        ck_abort_msg("%s: event %zu: %s a sample", what, index,
                     got->has_sample ? "has" : "has not");
    const pmt_sample *gs = &got->sample, *ws = &want->sample;
#define SAMPLE_EQ(f)                                                                               \
    if (gs->f != ws->f)                                                                            \
    ck_abort_msg("%s: event %zu: sample " #f " is %llu, expected %llu", what, index,               \
                 (unsigned long long)gs->f, (unsigned long long)ws->f)
    SAMPLE_EQ(seq);
    SAMPLE_EQ(time_ns);
    SAMPLE_EQ(realtime_ns);
    SAMPLE_EQ(rss);
    SAMPLE_EQ(peak_rss);
    SAMPLE_EQ(minor_faults);
    SAMPLE_EQ(major_faults);
    SAMPLE_EQ(user_cpu_ns);
    SAMPLE_EQ(system_cpu_ns);
    SAMPLE_EQ(rss_anon);
    SAMPLE_EQ(rss_file);
    SAMPLE_EQ(rss_shmem);
    SAMPLE_EQ(cgroup_current);
    SAMPLE_EQ(cgroup_max);
#undef SAMPLE_EQ
    if (!str_eq(got->message, want->message))
        ck_abort_msg("%s: event %zu: message '%s', expected '%s'", what, index,
                     got->message ? got->message : "(null)",
                     want->message ? want->message : "(null)");
}

void binlog_assert_prefix(const capture *got, const capture *want, const char *what)
{
    ck_assert_msg(got->count <= want->count, "%s: %zu events read, only %zu written", what,
                  got->count, want->count);
    for (size_t i = 0; i < got->count; i++)
        binlog_assert_event_eq(&got->events[i], &want->events[i], what, i);
}

size_t binlog_chunks(const char *path, binlog_chunk *out, size_t max, uint64_t *out_data_start)
{
    size_t len = 0;
    unsigned char *data = binlog_load(path, &len);
    ck_assert_uint_ge(len, PMT__FILE_FIXED_SIZE);
    uint64_t at = PMT__FILE_FIXED_SIZE + (uint64_t)pmt__get_u32(data + 16) + 4;
    if (out_data_start)
        *out_data_start = at;
    size_t n = 0;
    while (at + PMT__CHUNK_HEADER_SIZE <= len && pmt__get_u32(data + at) == PMT__CHUNK_MAGIC) {
        const unsigned char *h = data + at;
        binlog_chunk c = {at,
                          h[4],
                          h[5],
                          pmt__get_u32(h + 8),
                          pmt__get_u32(h + 12),
                          pmt__get_u32(h + 40),
                          pmt__get_u64(h + 16),
                          pmt__get_u64(h + 24)};
        if (at + PMT__CHUNK_HEADER_SIZE + c.stored > len)
            break;
        if (n < max)
            out[n] = c;
        n++;
        at += PMT__CHUNK_HEADER_SIZE + c.stored;
    }
    free(data);
    return n;
}

unsigned char *binlog_load(const char *path, size_t *out_len)
{
    return (unsigned char *)read_whole_file(path, out_len);
}

void binlog_store(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ck_assert_int_ge(fd, 0);
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, (const char *)data + done, len - done);
        ck_assert_int_gt(n, 0);
        done += (size_t)n;
    }
    ck_assert_int_eq(close(fd), 0);
}

void binlog_patch(const char *path, uint64_t offset, const void *bytes, size_t n)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || pwrite(fd, bytes, n, (off_t)offset) != (ssize_t)n || close(fd) != 0)
        ck_abort_msg("cannot patch %s", path);
}

void binlog_cut(const char *path, uint64_t len)
{
    if (truncate(path, (off_t)len) != 0)
        ck_abort_msg("cannot cut %s", path);
}
