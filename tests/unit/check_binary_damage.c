/* Damaged binary logs: cut at every byte, bytes flipped at random, a writer killed at full speed.
 * A reader never crashes, returns only events that were written (a prefix of them), and says
 * why it stopped: never PMT_OK unless the file is whole. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "binlog.h"
#include "log/binary/format.h"
#include "common/bytes.h"
#include "fakes.h"
#include "suites.h"

static const int compressions[] = {PMT_COMPRESS_NONE, PMT_COMPRESS_ZSTD, PMT_COMPRESS_LZ4};

/* A small log of several chunks: a few KiB, every feature of the format. */
static void small_log(int compression, binlog_run *run)
{
    ck_assert(pmt_compression_supported(compression));
    binlog_script sc = binlog_default_script();
    sc.compression = compression;
    sc.events = 320;
    sc.locations = 90;
    sc.thread_every = 70;
    sc.mark_every = 110;
    sc.jump_every = 45;
    sc.pause_at = 0;
    sc.with_text = 0;
    binlog_run_script(&sc, run);
}

START_TEST(cut_at_every_byte)
{
    binlog_run run;
    small_log(compressions[_i], &run);
    size_t len = 0;
    unsigned char *data = binlog_load(run.binary_path, &len);
    ck_assert_uint_gt(len, 1500);
    ck_assert_uint_lt(len, 16384);
    binlog_chunk chunks[128];
    uint64_t data_start = 0;
    size_t n = binlog_chunks(run.binary_path, chunks, 128, &data_start);
    ck_assert_uint_ge(n, 8);
    ck_assert_uint_le(n, 128);

    binlog_read whole;
    binlog_read_file(run.binary_path, &whole);
    ck_assert_int_eq(whole.status, PMT_OK);
    ck_assert_uint_eq(whole.events.count, run.written.count);
    binlog_assert_prefix(&whole.events, &run.written, "whole");
    binlog_read_free(&whole);

    char *cut = NULL;
    ck_assert_int_gt(asprintf(&cut, "%s/cut.pmt", run.dir), 0);
    binlog_store(cut, data, len);
    for (size_t at = len; at-- > 0;) {
        binlog_cut(cut, at);
        binlog_read got;
        binlog_read_file(cut, &got);
        /* The events of every complete EVENTS chunk before the cut, and nothing else. */
        size_t complete = 0;
        for (size_t k = 0; k < n; k++)
            if (chunks[k].type == PMT__CHUNK_EVENTS &&
                chunks[k].offset + PMT__CHUNK_HEADER_SIZE + chunks[k].stored <= at)
                complete += chunks[k].records;
        if (at < data_start) {
            ck_assert_msg(got.open_rc == PMT_EFORMAT, "cut at %zu: open gave %d", at, got.open_rc);
        } else {
            ck_assert_msg(got.status == PMT_ETRUNCATED, "cut at %zu: status %d (%s)", at,
                          got.status, got.reason);
            ck_assert_uint_le(got.offset, at);
            ck_assert_uint_ge(got.offset, data_start);
            ck_assert_msg(got.events.count == complete, "cut at %zu: %zu events, expected %zu", at,
                          got.events.count, complete);
        }
        binlog_assert_prefix(&got.events, &run.written, "cut");
        binlog_read_free(&got);
    }
    free(cut);
    free(data);
    binlog_run_free(&run);
}
END_TEST

/* Returned events after a seek are the written ones from the first match on, in order. */
static void check_seek_slice(pmt_reader *r, const capture *w, uint64_t target)
{
    int rc = pmt_reader_seek_seq(r, target);
    ck_assert(rc == PMT_OK || rc == PMT_EFORMAT || rc == PMT_ETRUNCATED || rc == PMT_ENOTSUP);
    size_t from = 0;
    while (from < w->count && w->events[from].ev.seq < target)
        from++;
    const pmt_event *ev;
    for (size_t i = from; pmt_reader_next(r, &ev) == 1; i++) {
        ck_assert_msg(i < w->count, "seek to %llu: more events than written",
                      (unsigned long long)target);
        captured c = binlog_view(ev);
        binlog_assert_event_eq(&c, &w->events[i], "after a seek", i);
    }
}

START_TEST(random_damage)
{
    binlog_run run;
    small_log(compressions[_i], &run);
    size_t len = 0;
    unsigned char *data = binlog_load(run.binary_path, &len);
    unsigned char *copy = malloc(len);
    ck_assert_ptr_nonnull(copy);
    char *damaged = NULL;
    ck_assert_int_gt(asprintf(&damaged, "%s/damaged.pmt", run.dir), 0);
    binlog_store(damaged, data, len);
    memcpy(copy, data, len);
    const uint64_t last_seq = run.written.events[run.written.count - 1].ev.seq;
    int seeds = 1500, opened = 0, some_events = 0;
    for (int seed = 1; seed <= seeds; seed++) {
        uint32_t rng = (uint32_t)seed * 2654435761u + (uint32_t)_i;
        int flips = 1 + (int)(binlog_rand(&rng) % 4);
        size_t where[4] = {0};
        for (int k = 0; k < flips; k++) {
            size_t at = binlog_rand(&rng) % len;
            size_t near = where[0] + binlog_rand(&rng) % 16;
            if (k > 0 && binlog_rand(&rng) % 2 && near < len) /* sometimes a burst */
                at = near;
            where[k] = at;
            copy[at] ^= (unsigned char)(1 + binlog_rand(&rng) % 255);
            if (copy[at] == data[at]) /* two flips of one byte undid each other */
                copy[at] ^= 0x80;
            binlog_patch(damaged, at, copy + at, 1);
        }
        binlog_read got;
        binlog_read_file(damaged, &got);
        ck_assert_msg(got.status != PMT_OK, "seed %d: damage not noticed (%zu events)", seed,
                      got.events.count);
        ck_assert_msg(got.status == PMT_EFORMAT || got.status == PMT_ETRUNCATED ||
                          got.status == PMT_ENOTSUP,
                      "seed %d: status %d", seed, got.status);
        binlog_assert_prefix(&got.events, &run.written, "damaged");
        opened += got.open_rc == PMT_OK;
        some_events += got.events.count > 0;
        if (got.open_rc == PMT_OK) {
            pmt_reader *r = NULL;
            ck_assert_int_eq(pmt_reader_open(&r, damaged), PMT_OK);
            check_seek_slice(r, &run.written, binlog_rand(&rng) % (last_seq + 2));
            check_seek_slice(r, &run.written, binlog_rand(&rng) % (last_seq + 2));
            pmt_reader_seek_time(r, binlog_rand(&rng));
            uint64_t offset;
            const char *reason;
            pmt_reader_status(r, &offset, &reason);
            ck_assert_ptr_nonnull(reason);
            pmt_reader_close(r);
        }
        binlog_read_free(&got);
        for (int k = 0; k < flips; k++) { /* undo */
            copy[where[k]] = data[where[k]];
            binlog_patch(damaged, where[k], data + where[k], 1);
        }
    }
    /* Most damage is in the chunks: the header still opens and the events before are read. */
    ck_assert_int_gt(opened, seeds / 2);
    ck_assert_int_gt(some_events, seeds / 3);
    free(damaged);
    free(copy);
    free(data);
    binlog_run_free(&run);
}
END_TEST

/* --- a writer killed at full speed ---------------------------------------------------------- */

enum { KILL_FILES = 13, KILL_FUNCTIONS = 7 };
static const char *const kill_files[KILL_FILES] = {"app.py",
                                                   "pkg/a.py",
                                                   "pkg/b.py",
                                                   "pkg/sub/c.py",
                                                   "lib/d.py",
                                                   "lib/e.py",
                                                   "x.py",
                                                   "y.py",
                                                   "z.py",
                                                   "w.py",
                                                   "long/path/to/a/module/named/f.py",
                                                   "g.py",
                                                   "h.py"};
static const char *const kill_functions[KILL_FUNCTIONS] = {
    "main", "run", "step", "Class.m", "<listcomp>", "helper", "f"};

/* Event i (1-based) of the killed run: the same in the child that writes it and the parent. */
typedef struct kill_event {
    pmt_event_kind kind;
    const char *file, *function;
    int32_t line, depth;
    uint64_t time_ns, rss;
} kill_event;

static kill_event kill_event_at(uint64_t i)
{
    kill_event e;
    uint64_t j = i % 64; /* 64 locations, and the start's: every location id is one byte */
    e.kind = i % 3 == 0 ? PMT_EV_RETURN : i % 3 == 1 ? PMT_EV_CALL : PMT_EV_C_CALL;
    e.file = kill_files[j % KILL_FILES];
    e.function = kill_functions[j % KILL_FUNCTIONS];
    e.line = (int32_t)(1000 + j);
    e.depth = (int32_t)(i % 40);
    e.time_ns = 1000000000u + 41u * i; /* 100 ms pass every ~2.4 million events */
    e.rss = (64u << 20) + 4096u * (i / 97);
    return e;
}

static void killed_writer(const char *path, volatile uint64_t *produced)
{
    fake_clock clock = {0};
    fake_rss rss = {.value = 64u << 20};
    fake_source_reset();
    pmt_tracer *t = NULL;
    pmt_sink *sink = NULL;
    pmt_rss_provider p = fake_rss_provider(0);
    if (pmt__tracer_create_with_source(&t, &fake_source_ops, &g_source) != PMT_OK)
        _exit(2);
    pmt__tracer_set_clock(t, fake_clock_read, &clock);
    if (pmt_tracer_set_rss_provider(t, &p, &rss) != PMT_OK ||
        pmt_tracer_set_param(t, PMT_PARAM_D_RSS_TRIGGER, 0) != PMT_OK)
        _exit(3);
    if (pmt_sink_binary_open(&sink, path, "killed", NULL) != PMT_OK ||
        pmt_tracer_add_sink(t, sink) != PMT_OK)
        _exit(4);
    clock.now = 1000000000u;
    if (pmt_tracer_start(t) != PMT_OK)
        _exit(5);
    for (uint64_t i = 1;; i++) {
        kill_event e = kill_event_at(i);
        clock.now = e.time_ns;
        rss.value = e.rss;
        pmt__tracer_event(t, e.kind, e.file, e.function, e.line, e.depth);
        *produced = i;
    }
}

/* One run of the writer killed with SIGKILL once it has produced at least `after` events and a
 * pause of pause_us more: every event it wrote is in the log (its live area keeps those not in a
 * chunk yet), in order and as written. The counter may lag the last event by one. */
static void kill_once(const char *dir, int run, uint64_t after, long pause_us)
{
    char *path = NULL;
    ck_assert_int_gt(asprintf(&path, "%s/killed%d.pmt", dir, run), 0);
    volatile uint64_t *produced =
        mmap(NULL, sizeof *produced, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne((void *)produced, MAP_FAILED);
    *produced = 0;
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        killed_writer(path, produced);
    struct timespec nap = {0, 100000};
    for (int waited = 0; *produced < after && waited < 200000; waited++)
        nanosleep(&nap, NULL);
    nap.tv_nsec = pause_us * 1000;
    nanosleep(&nap, NULL);
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    const uint64_t made = *produced;
    ck_assert_uint_ge(made, after);

    binlog_read got;
    binlog_read_file(path, &got);
    ck_assert_msg(got.status == PMT_ETRUNCATED, "run %d: status %d: %s", run, got.status,
                  got.reason);
    ck_assert_uint_eq(got.info.has_summary, 0);
    ck_assert_str_eq(got.message, "killed");
    const capture *e = &got.events;
    ck_assert_uint_ge(e->count, 1);
    ck_assert_int_eq(e->events[0].ev.kind, PMT_EV_START);
    ck_assert_uint_eq(e->events[0].ev.seq, 0);
    const uint64_t thread = e->events[0].ev.thread_id;
    for (size_t i = 1; i < e->count; i++) {
        const pmt_event *ev = &e->events[i].ev;
        kill_event k = kill_event_at(i);
        if (ev->seq != i || ev->kind != (uint32_t)k.kind || strcmp(e->events[i].file, k.file) ||
            strcmp(e->events[i].function, k.function) || ev->line != k.line ||
            ev->depth != k.depth || ev->time_ns != k.time_ns || ev->rss != k.rss ||
            ev->d_rss != (int64_t)(k.rss - kill_event_at(i - 1).rss) || ev->thread_id != thread ||
            ev->reason != PMT_REASON_TRIGGER || ev->message)
            ck_abort_msg("run %d: event %zu is not the one written (seq %llu, %s:%d %s)", run, i,
                         (unsigned long long)ev->seq, e->events[i].file, ev->line,
                         e->events[i].function);
    }
    const uint64_t last = e->count - 1; /* events 0 .. last are in the log */
    ck_assert_msg(last == made || last == made + 1,
                  "run %d: %llu events made, the log holds 0 .. %llu", run,
                  (unsigned long long)made, (unsigned long long)last);
    binlog_read_free(&got);
    munmap((void *)produced, sizeof *produced);
    unlink(path);
    free(path);
}

START_TEST(killed_writer_loses_nothing)
{
    char *dir = temp_dir_create();
    uint64_t rng = 0x9E3779B97F4A7C15u ^ (uint64_t)getpid();
    for (int run = 0; run < 100; run++) {
        /* Anywhere: at the start, in the first chunk, after many (chunks are ~9,000 events). */
        uint64_t r = fake_random(&rng);
        uint64_t after = run % 10 == 0 ? 1 : r % 4 == 0 ? 1 + r % 2000 : 1 + r % 150000;
        kill_once(dir, run, after, (long)(fake_random(&rng) % 3000));
    }
    temp_dir_remove(dir);
}
END_TEST

Suite *binary_damage_suite(void)
{
    Suite *s = suite_create("binary_damage");
    TCase *tc = unit_tcase("binary_damage");
    tcase_set_timeout(tc, 240);
    tcase_add_loop_test(tc, cut_at_every_byte, 0, 3);
    tcase_add_loop_test(tc, random_damage, 0, 3);
    tcase_add_test(tc, killed_writer_loses_nothing);
    suite_add_tcase(s, tc);
    return s;
}
