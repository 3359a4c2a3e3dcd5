/* The binary log: what a tracer writes is what a reader reads, field by field, for every
 * compression; the header and summary; seeking; the text log replayed from it; options. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "binlog.h"
#include "log/binary/format.h"
#include "common/bytes.h"
#include "common/crc32c.h"
#include "fakes.h"
#include "suites.h"

enum { MAX_CHUNKS = 4096 };
static const int compressions[] = {PMT_COMPRESS_NONE, PMT_COMPRESS_ZSTD, PMT_COMPRESS_LZ4};

static void require_codec(int compression)
{
    ck_assert_msg(pmt_compression_supported(compression),
                  "compression %d is not built in (libzstd-dev / liblz4-dev missing?)",
                  compression);
}

static uint64_t realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* --- what is written is what is read ------------------------------------------------------- */

static void check_round_trip(int compression, int64_t trigger)
{
    require_codec(compression);
    binlog_script sc = binlog_default_script();
    sc.compression = compression;
    sc.trigger = trigger;
    binlog_run run;
    uint64_t before = realtime_ns();
    binlog_run_script(&sc, &run);
    uint64_t after = realtime_ns();
    ck_assert_uint_eq(run.sinks_failed, 0);

    binlog_read got;
    binlog_read_file(run.binary_path, &got);
    ck_assert_msg(got.status == PMT_OK, "status %d: %s", got.status, got.reason);
    ck_assert_str_eq(got.reason, "end of log");
    ck_assert_uint_eq(got.events.count, run.written.count);
    binlog_assert_prefix(&got.events, &run.written, "round trip");

    /* The run covered what it should. */
    const capture *w = &run.written;
    int threads = 0, marks = 0, big_up = 0, big_down = 0, gaps = 0, prev_rows = 0;
    uint64_t peak = 0;
    for (size_t i = 0; i < w->count; i++) {
        const pmt_event *ev = &w->events[i].ev;
        threads += i > 0 && ev->thread_id != w->events[i - 1].ev.thread_id;
        marks += ev->kind == PMT_EV_MARK && w->events[i].message != NULL;
        big_up += ev->d_rss >= (int64_t)1 << 34;
        big_down += ev->d_rss <= -((int64_t)1 << 34);
        gaps += i > 0 && ev->seq > w->events[i - 1].ev.seq + 1;
        prev_rows += ev->reason == PMT_REASON_BEFORE;
        peak = ev->rss > peak ? ev->rss : peak;
    }
    ck_assert_int_ge(threads, trigger ? 4 : 10);
    ck_assert_int_ge(marks, 4);
    ck_assert_int_ge(big_up, 1);
    ck_assert_int_ge(big_down, 1);
    if (trigger) {
        ck_assert_int_ge(gaps, 10);
        ck_assert_int_ge(prev_rows, 10);
    } else {
        ck_assert_int_eq(gaps, 0);
        ck_assert_uint_eq(w->count, run.seen);
    }

    /* Several chunks of each kind, an index last, and chunks within their size. */
    binlog_chunk *chunks = calloc(MAX_CHUNKS, sizeof *chunks);
    ck_assert_ptr_nonnull(chunks);
    size_t n = binlog_chunks(run.binary_path, chunks, MAX_CHUNKS, NULL);
    ck_assert_uint_le(n, MAX_CHUNKS);
    int dicts = 0, events = 0, compressed = 0;
    uint64_t records = 0;
    for (size_t i = 0; i < n; i++) {
        dicts += chunks[i].type == PMT__CHUNK_DICT;
        events += chunks[i].type == PMT__CHUNK_EVENTS;
        compressed += chunks[i].codec != PMT_COMPRESS_NONE;
        ck_assert(chunks[i].codec == PMT_COMPRESS_NONE || chunks[i].codec == compression);
        ck_assert_uint_le(chunks[i].raw, sc.chunk_bytes);
        if (chunks[i].type == PMT__CHUNK_EVENTS)
            records += chunks[i].records;
    }
    ck_assert_int_ge(dicts, 3);
    ck_assert_int_ge(events, trigger ? 3 : 6);
    ck_assert_uint_eq(records, w->count);
    ck_assert_int_eq(chunks[n - 1].type, PMT__CHUNK_INDEX);
    if (compression != PMT_COMPRESS_NONE)
        ck_assert_int_ge(compressed, 1); /* where it helps: lz4 does not on every small chunk */
    else
        ck_assert_int_eq(compressed, 0);
    free(chunks);

    /* The header. */
    const pmt_log_info *info = &got.info;
    ck_assert_uint_ge(info->struct_size, sizeof *info);
    ck_assert_uint_eq(info->format_major, 1);
    ck_assert_uint_eq(info->format_minor, 5);
    ck_assert_int_eq(info->process_id, getpid());
    ck_assert_str_eq(got.library_version, pmt_version_string());
    ck_assert_str_eq(got.runtime, "fake runtime 1.0");
    ck_assert_str_eq(got.rss_provider, "fake");
    ck_assert_str_eq(got.message, sc.message);
    ck_assert_uint_eq(info->clock_origin_ns, run.start_ns);
    ck_assert_uint_eq(info->clock_units, 1000000000u);
    ck_assert_uint_ge(info->start_realtime_ns, before);
    ck_assert_uint_le(info->start_realtime_ns, after);
    ck_assert_uint_eq(info->d_rss_trigger, run.trigger_bytes);
    ck_assert_uint_eq(info->d_rss_trigger, (uint64_t)trigger);
    ck_assert_uint_eq(info->event_mask, run.event_mask);
    ck_assert_uint_eq(info->event_mask, 0x3FF); /* every hook kind, marks, start and stop */
    ck_assert_uint_eq(info->compression, (uint32_t)compression);
    /* The summary. */
    ck_assert_uint_eq(info->has_summary, 1);
    ck_assert_uint_eq(info->events_seen, run.seen);
    ck_assert_uint_eq(info->events_written, run.events_written);
    ck_assert_uint_eq(info->peak_rss, peak);
    ck_assert_uint_eq(info->last_time_ns, w->events[w->count - 1].ev.time_ns);
    ck_assert_int_eq(w->events[w->count - 1].ev.kind, PMT_EV_STOP);

    binlog_read_free(&got);
    binlog_run_free(&run);
}

START_TEST(round_trip_every_event)
{
    check_round_trip(compressions[_i], 0);
}
END_TEST

START_TEST(round_trip_with_a_trigger)
{
    check_round_trip(compressions[_i], 4096);
}
END_TEST

/* --- the text log, replayed ---------------------------------------------------------------- */

START_TEST(replayed_text_log_is_byte_identical)
{
    require_codec(compressions[_i]);
    binlog_script sc = binlog_default_script();
    sc.compression = compressions[_i];
    sc.trigger = _i == 1 ? 4096 : 0;
    binlog_run run;
    binlog_run_script(&sc, &run);

    char *replay = NULL;
    ck_assert_int_gt(asprintf(&replay, "%s/replay.log", run.dir), 0);
    int fd = open(replay, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    ck_assert_int_ge(fd, 0);
    pmt_reader *r = NULL;
    ck_assert_int_eq(pmt_reader_open(&r, run.binary_path), PMT_OK);
    pmt_sink *text = NULL;
    ck_assert_int_eq(pmt_sink_text_fd(&text, fd, pmt_reader_info(r)->message), PMT_OK);
    ck_assert_ptr_null(pmt_sink_path(text));
    const pmt_event *ev;
    size_t count = 0;
    while (pmt_reader_next(r, &ev) == 1) {
        ck_assert_int_eq(pmt_sink_write(text, ev), PMT_OK);
        count++;
    }
    ck_assert_int_eq(pmt_reader_status(r, NULL, NULL), PMT_OK);
    ck_assert_uint_eq(count, run.written.count);
    pmt_reader_close(r);
    pmt_sink_destroy(text); /* EOF; the descriptor is still ours */
    ck_assert_int_eq(close(fd), 0);

    size_t want_len = 0, got_len = 0;
    char *want = read_whole_file(run.text_path, &want_len);
    char *got = read_whole_file(replay, &got_len);
    ck_assert_ptr_nonnull(want);
    ck_assert_ptr_nonnull(got);
    ck_assert_uint_gt(want_len, 50000);
    size_t at = 0;
    while (at < want_len && at < got_len && want[at] == got[at])
        at++;
    ck_assert_msg(
        at == want_len && got_len == want_len,
        "the replayed text log differs at byte %zu (%zu and %zu bytes): '%.60s' vs '%.60s'", at,
        got_len, want_len, got + (at < got_len ? at : got_len),
        want + (at < want_len ? at : want_len));
    free(want);
    free(got);
    free(replay);
    binlog_run_free(&run);
}
END_TEST

/* --- seeking -------------------------------------------------------------------------------- */

/* Index of the first written event with seq (or time) >= target; count if none. */
static size_t first_at_or_after(const capture *w, uint64_t target, int by_time)
{
    for (size_t i = 0; i < w->count; i++)
        if ((by_time ? w->events[i].ev.time_ns : w->events[i].ev.seq) >= target)
            return i;
    return w->count;
}

/* Seeks, then reads to the end: the events are w[from..], and the status is `status`. */
static void seek_and_check(pmt_reader *r, const capture *w, uint64_t target, int by_time,
                           size_t stop_at, int want_status)
{
    int rc = by_time ? pmt_reader_seek_time(r, target) : pmt_reader_seek_seq(r, target);
    size_t from = first_at_or_after(w, target, by_time);
    if (from >= stop_at) {
        ck_assert_msg(rc == want_status || rc == PMT_OK, "seek to %llu: %d",
                      (unsigned long long)target, rc);
    } else {
        ck_assert_msg(rc == PMT_OK, "seek to %llu: %d", (unsigned long long)target, rc);
    }
    const pmt_event *ev;
    size_t i = from;
    while (pmt_reader_next(r, &ev) == 1) {
        ck_assert_msg(i < stop_at, "seek to %llu: an event past %zu", (unsigned long long)target,
                      stop_at);
        captured c = binlog_view(ev);
        binlog_assert_event_eq(&c, &w->events[i], by_time ? "seek_time" : "seek_seq", i);
        i++;
    }
    ck_assert_msg(i == (from > stop_at ? from : stop_at),
                  "seek to %llu: read up to event %zu, expected %zu", (unsigned long long)target, i,
                  stop_at);
    ck_assert_int_eq(pmt_reader_status(r, NULL, NULL), want_status);
}

/* Bytes this process has read so far (every read and pread), or 0 without /proc. */
static uint64_t bytes_read_so_far(void)
{
    FILE *fp = fopen("/proc/self/io", "r");
    if (!fp)
        return 0;
    unsigned long long rchar = 0;
    if (fscanf(fp, "rchar: %llu", &rchar) != 1)
        rchar = 0;
    fclose(fp);
    return rchar;
}

START_TEST(seek_lands_on_the_first_match)
{
    require_codec(compressions[_i]);
    binlog_script sc = binlog_default_script();
    sc.compression = compressions[_i];
    sc.trigger = 4096; /* gaps in seq: a target may fall between written events */
    sc.with_text = 0;
    binlog_run run;
    binlog_run_script(&sc, &run);
    const capture *w = &run.written;
    pmt_reader *r = NULL;
    ck_assert_int_eq(pmt_reader_open(&r, run.binary_path), PMT_OK);
    const uint64_t last_seq = w->events[w->count - 1].ev.seq;
    const uint64_t last_time = w->events[w->count - 1].ev.time_ns;
    /* Forward, backward, between events, before the first and past the last. */
    const uint64_t seqs[] = {
        last_seq / 2, 0,          1, last_seq / 3 + 1, last_seq, last_seq - 1, last_seq / 7,
        last_seq + 1, UINT64_MAX, 5};
    for (size_t k = 0; k < sizeof seqs / sizeof *seqs; k++)
        seek_and_check(r, w, seqs[k], 0, w->count, PMT_OK);
    for (uint64_t s = 0; s <= last_seq; s += last_seq / 23 + 1)
        seek_and_check(r, w, s, 0, w->count, PMT_OK);
    const uint64_t t0 = w->events[0].ev.time_ns;
    const uint64_t times[] = {t0,
                              0,
                              t0 + (last_time - t0) / 2,
                              last_time,
                              last_time + 1,
                              t0 + (last_time - t0) / 5 + 1,
                              UINT64_MAX};
    for (size_t k = 0; k < sizeof times / sizeof *times; k++)
        seek_and_check(r, w, times[k], 1, w->count, PMT_OK);
    /* Every written time, some of them. */
    for (size_t i = 0; i < w->count; i += 97)
        seek_and_check(r, w, w->events[i].ev.time_ns, 1, w->count, PMT_OK);
    pmt_reader_close(r);

    /* A seek near the end reads the names and one chunk, not the events before it. */
    binlog_chunk *chunks = calloc(MAX_CHUNKS, sizeof *chunks);
    ck_assert_ptr_nonnull(chunks);
    size_t n = binlog_chunks(run.binary_path, chunks, MAX_CHUNKS, NULL);
    uint64_t dict_bytes = 0, events_bytes = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t size = PMT__CHUNK_HEADER_SIZE + chunks[i].stored;
        if (chunks[i].type == PMT__CHUNK_DICT)
            dict_bytes += size;
        else if (chunks[i].type == PMT__CHUNK_EVENTS)
            events_bytes += size;
    }
    ck_assert_int_eq(pmt_reader_open(&r, run.binary_path), PMT_OK);
    uint64_t before = bytes_read_so_far();
    ck_assert_int_eq(pmt_reader_seek_seq(r, last_seq), PMT_OK);
    uint64_t used = bytes_read_so_far() - before;
    if (before) {
        ck_assert_msg(used <= dict_bytes + sc.chunk_bytes + 2 * PMT__CHUNK_HEADER_SIZE + 1024,
                      "seeking to the last event read %llu bytes (names: %llu, events: %llu)",
                      (unsigned long long)used, (unsigned long long)dict_bytes,
                      (unsigned long long)events_bytes);
        ck_assert_uint_lt(used, dict_bytes + events_bytes / 2);
    }
    pmt_reader_close(r);
    free(chunks);
    binlog_run_free(&run);
}
END_TEST

/* The payload of an EVENTS chunk before the target is damaged: seeking past it never reads it;
 * reading from before it stops there. With the index (a closed log) and without (a killed one). */
START_TEST(seek_skips_a_damaged_earlier_chunk)
{
    require_codec(compressions[_i % 3]);
    const int without_index = _i >= 3;
    binlog_script sc = binlog_default_script();
    sc.compression = compressions[_i % 3];
    sc.with_text = 0;
    binlog_run run;
    binlog_run_script(&sc, &run);
    const capture *w = &run.written;

    binlog_chunk *chunks = calloc(MAX_CHUNKS, sizeof *chunks);
    ck_assert_ptr_nonnull(chunks);
    size_t n = binlog_chunks(run.binary_path, chunks, MAX_CHUNKS, NULL);
    size_t events_at[MAX_CHUNKS], ne = 0;
    for (size_t i = 0; i < n; i++)
        if (chunks[i].type == PMT__CHUNK_EVENTS)
            events_at[ne++] = i;
    ck_assert_uint_ge(ne, 6);
    const binlog_chunk *damaged = &chunks[events_at[1]];
    const binlog_chunk *target = &chunks[events_at[4]];
    size_t len = 0;
    unsigned char *data = binlog_load(run.binary_path, &len);
    data[damaged->offset + PMT__CHUNK_HEADER_SIZE + damaged->stored / 2] ^= 0x5A;
    if (without_index)
        len = chunks[n - 1].offset; /* the INDEX chunk and the trailer are gone */
    binlog_store(run.binary_path, data, len);
    free(data);
    const int end_status = without_index ? PMT_ETRUNCATED : PMT_OK;

    pmt_reader *r = NULL;
    ck_assert_int_eq(pmt_reader_open(&r, run.binary_path), PMT_OK);
    ck_assert_uint_eq(pmt_reader_info(r)->has_summary, !without_index);
    /* Past the damage: every event to the end. */
    seek_and_check(r, w, target->first_seq + 1, 0, w->count, end_status);
    seek_and_check(r, w, target->first_time, 1, w->count, end_status);
    seek_and_check(r, w, w->events[w->count - 1].ev.seq, 0, w->count, end_status);
    /* Into or before the damage: the events up to it, then the damage. Between the damage and
     * the target: every event to the end. */
    size_t damaged_first = first_at_or_after(w, damaged->first_seq, 0);
    for (uint64_t s = 0; s < target->first_seq; s += 37) {
        size_t in = 0; /* the EVENTS chunk that holds s, by its position among them */
        for (size_t k = 0; k < ne; k++)
            if (chunks[events_at[k]].first_seq <= s)
                in = k;
        if (in > 1) {
            seek_and_check(r, w, s, 0, w->count, end_status);
            continue;
        }
        int rc = pmt_reader_seek_seq(r, s);
        ck_assert_int_eq(rc, in == 1 ? PMT_EFORMAT : PMT_OK);
        size_t from = first_at_or_after(w, s, 0);
        const pmt_event *ev;
        size_t i = from;
        while (pmt_reader_next(r, &ev) == 1) {
            captured c = binlog_view(ev);
            binlog_assert_event_eq(&c, &w->events[i], "before the damage", i);
            i++;
        }
        uint64_t offset = 0;
        const char *reason = NULL;
        ck_assert_int_eq(pmt_reader_status(r, &offset, &reason), PMT_EFORMAT);
        ck_assert_uint_eq(offset, damaged->offset);
        ck_assert_msg(strstr(reason, "checksum") != NULL, "reason: %s", reason);
        ck_assert_uint_eq(i, in == 1 ? from : damaged_first);
    }
    pmt_reader_close(r);
    free(chunks);
    binlog_run_free(&run);
}
END_TEST

/* --- events given by hand ------------------------------------------------------------------- */

/* Names in one reused buffer, kinds the format reserves, marks without text, every reason,
 * large and negative steps of every number: read back as written (kinds past 13 become 13). */
START_TEST(sink_write_keeps_reused_buffers_apart)
{
    require_codec(compressions[_i]);
    char *dir = temp_dir_create();
    char *path = NULL;
    ck_assert_int_gt(asprintf(&path, "%s/by_hand.pmt", dir), 0);
    pmt_binary_options options = PMT_BINARY_OPTIONS_INIT;
    options.compression = (uint32_t)compressions[_i];
    options.chunk_bytes = 4096;
    pmt_sink *sink = NULL;
    ck_assert_int_eq(pmt_sink_binary_open(&sink, path, NULL, &options), PMT_OK);
    capture want = {0};
    char file[64], function[64], text[64], user_file[64], user_function[64];
    uint32_t rng = 99;
    uint64_t seq = 5, time_ns = 1, rss = 0, last_rss = 0;
    int32_t depth = 0;
    for (int i = 0; i < 5000; i++) {
        uint32_t r = binlog_rand(&rng);
        snprintf(file, sizeof file, "file_%u.py", r % 50);
        snprintf(function, sizeof function, "function_%u", (r >> 8) % 70);
        snprintf(text, sizeof text, "mark %u", (r >> 16) % 5);
        pmt_event ev;
        memset(&ev, 0, sizeof ev);
        ev.struct_size = sizeof ev;
        ev.kind = (r >> 3) % 17 == 16 ? 200u : (r >> 3) % 17;
        ev.reason = (r >> 9) % 5;
        seq += 1 + ((r >> 12) % 4 == 0 ? (uint64_t)r << 20 : 0);
        if (i == 1000 || i == 3000)
            seq = UINT64_MAX - 100000 - (uint64_t)i; /* a gap too large for a record */
        else if (i == 1001 || i == 3001)
            seq = (uint64_t)i; /* and back */
        ev.seq = seq;
        time_ns += (r >> 5) % 64 == 0 ? (uint64_t)1 << 40 : (r >> 20) % 500;
        ev.time_ns = time_ns;
        ev.thread_id = (r >> 14) % 8 == 0 ? UINT64_MAX - (r % 3) : 77 + (r % 2);
        depth = (int32_t)((uint32_t)depth + (r >> 24) % 9 - 4u); /* wraps at the ends */
        if (i == 100)
            depth = INT32_MIN;
        else if (i == 101)
            depth = INT32_MAX;
        ev.depth = depth;
        ev.file = file;
        ev.function = function;
        ev.line = i == 7 ? INT32_MIN : i == 8 ? -1 : (int32_t)(r % 3000);
        if ((r >> 27) % 8 == 0)
            rss = (r >> 30) == 0 ? UINT64_MAX - r : (uint64_t)r * 4096u;
        ev.rss = rss;
        ev.d_rss = (int64_t)(rss - last_rss); /* what a reader computes */
        last_rss = rss;
        ev.message = ev.kind == PMT_EV_MARK && (r & 1) ? text : NULL;
        /* User sites of every sort: none, the event's own place, others; events of a caller
         * built before they existed (struct_size short of them) read back without one. */
        switch ((r >> 4) % 5) {
        case 0:
            break;
        case 1:
            ev.user_file = file;
            ev.user_function = function;
            ev.user_line = ev.line;
            break;
        case 2:
            ev.struct_size = offsetof(pmt_event, user_file);
            break;
        default:
            snprintf(user_file, sizeof user_file, "user_%u.py", (r >> 7) % 6);
            snprintf(user_function, sizeof user_function, "user_function_%u", (r >> 11) % 9);
            ev.user_file = user_file;
            ev.user_function = user_function;
            ev.user_line = (int32_t)((r >> 13) % 40);
        }
        if (ev.struct_size == sizeof ev)
            ev.call_node = (r >> 6) % 3 == 0 ? r : (r >> 6) % 3 == 1 ? (r >> 20) % 5 : 0;
        ck_assert_int_eq(pmt_sink_write(sink, &ev), PMT_OK);
        /* Every kind reads back as written, those from 13 on behind the record's kind escape. */
        ev.struct_size = sizeof ev;
        if (!ev.user_file)
            ev.user_file = ev.user_function = ""; /* what a reader gives for no site */
        binlog_keep(&want, &ev);
        memset(file, 'x', sizeof file - 1); /* the caller's buffers change at once */
        memset(function, 'y', sizeof function - 1);
        memset(text, 'z', sizeof text - 1);
        memset(user_file, 'u', sizeof user_file - 1);
        memset(user_function, 'v', sizeof user_function - 1);
    }
    pmt_sink_destroy(sink);
    binlog_read got;
    binlog_read_file(path, &got);
    ck_assert_msg(got.status == PMT_OK, "status %d: %s", got.status, got.reason);
    ck_assert_uint_eq(got.events.count, want.count);
    binlog_assert_prefix(&got.events, &want, "by hand");
    /* A sink that was never begun has a header all the same. */
    ck_assert_str_eq(got.runtime, "");
    ck_assert_ptr_null(got.message);
    ck_assert_uint_eq(got.info.clock_units, 1000000000u);
    ck_assert_uint_eq(got.info.compression, (uint32_t)compressions[_i]);
    ck_assert_uint_eq(got.info.events_written, want.count);
    binlog_read_free(&got);
    capture_free(&want);
    free(path);
    temp_dir_remove(dir);
}
END_TEST

/* A sink given no event at all is still a whole, readable log. */
START_TEST(empty_log_is_whole)
{
    char *dir = temp_dir_create();
    char *path = NULL;
    ck_assert_int_gt(asprintf(&path, "%s/empty.pmt", dir), 0);
    pmt_sink *sink = NULL;
    ck_assert_int_eq(pmt_sink_binary_open(&sink, path, "nothing", NULL), PMT_OK);
    pmt_sink_destroy(sink);
    binlog_read got;
    binlog_read_file(path, &got);
    ck_assert_int_eq(got.status, PMT_OK);
    ck_assert_uint_eq(got.events.count, 0);
    ck_assert_str_eq(got.message, "nothing");
    ck_assert_uint_eq(got.info.has_summary, 1);
    ck_assert_uint_eq(got.info.events_written, 0);
    binlog_read_free(&got);
    /* The name is never reused. */
    ck_assert_int_eq(pmt_sink_binary_open(&sink, path, NULL, NULL), PMT_OK);
    ck_assert_str_ne(pmt_sink_path(sink), path);
    pmt_sink_destroy(sink);
    free(path);
    temp_dir_remove(dir);
}
END_TEST

/* Names of a MiB and more: cut on a character boundary at 1 MiB; DICT chunks stay within
 * chunk_bytes unless one name alone is larger. */
START_TEST(long_names_keep_chunks_readable)
{
    const size_t big = (1u << 20) + 1000;
    char *huge = malloc(big + 1);
    ck_assert_ptr_nonnull(huge);
    for (size_t i = 0; i + 2 < big; i += 2) {
        huge[i] = (char)0xC3; /* é, two bytes: 1 MiB falls inside a character at 1048577 */
        huge[i + 1] = (char)0xA9;
    }
    huge[big - 2] = 'x';
    huge[big - 1] = 'y';
    huge[big] = '\0';
    char *dir = temp_dir_create();
    char *path = NULL;
    ck_assert_int_gt(asprintf(&path, "%s/long.pmt", dir), 0);
    pmt_binary_options options = PMT_BINARY_OPTIONS_INIT;
    options.chunk_bytes = 4096;
    pmt_sink *sink = NULL;
    ck_assert_int_eq(pmt_sink_binary_open(&sink, path, NULL, &options), PMT_OK);
    char medium[3000];
    pmt_event ev;
    memset(&ev, 0, sizeof ev);
    ev.struct_size = sizeof ev;
    for (int i = 0; i < 60; i++) {
        memset(medium, 'a' + i % 26, sizeof medium - 1);
        medium[sizeof medium - 1] = '\0';
        snprintf(medium, 16, "%08d", i);
        medium[8] = '-';
        ev.seq = (uint64_t)i;
        ev.file = i == 30 ? huge : medium;
        ev.function = "f";
        ck_assert_int_eq(pmt_sink_write(sink, &ev), PMT_OK);
    }
    pmt_sink_destroy(sink);
    binlog_chunk chunks[256];
    size_t n = binlog_chunks(path, chunks, 256, NULL);
    ck_assert_uint_le(n, 256);
    int dicts = 0;
    for (size_t i = 0; i < n; i++) {
        if (chunks[i].type != PMT__CHUNK_DICT)
            continue;
        dicts++;
        ck_assert_msg(chunks[i].raw <= 4096 || chunks[i].records == 1,
                      "a DICT chunk of %u bytes holds %u names", chunks[i].raw, chunks[i].records);
    }
    ck_assert_int_ge(dicts, 30);
    binlog_read got;
    binlog_read_file(path, &got);
    ck_assert_msg(got.status == PMT_OK, "status %d: %s", got.status, got.reason);
    ck_assert_uint_eq(got.events.count, 60);
    ck_assert_uint_eq(strlen(got.events.events[30].file), 1u << 20);
    ck_assert_int_eq(memcmp(got.events.events[30].file, huge, 1u << 20), 0);
    ck_assert_int_eq(strncmp(got.events.events[31].file, "00000031-", 9), 0);
    ck_assert_uint_eq(strlen(got.events.events[31].file), sizeof medium - 1);
    binlog_read_free(&got);
    free(huge);
    free(path);
    temp_dir_remove(dir);
}
END_TEST

/* The largest chunk_bytes: a full chunk stays within what a reader accepts (16 MiB). */
START_TEST(largest_chunks_stay_readable)
{
    char *dir = temp_dir_create();
    char *path = NULL;
    ck_assert_int_gt(asprintf(&path, "%s/large.pmt", dir), 0);
    pmt_binary_options options = PMT_BINARY_OPTIONS_INIT;
    options.chunk_bytes = 16u << 20;
    pmt_sink *sink = NULL;
    ck_assert_int_eq(pmt_sink_binary_open(&sink, path, NULL, &options), PMT_OK);
    pmt_event ev;
    memset(&ev, 0, sizeof ev);
    ev.struct_size = sizeof ev;
    ev.file = "big.py";
    ev.function = "records";
    /* ~27 bytes each, all at one time (no interval flush): two full chunks and some. */
    const int count = 1500000;
    for (int i = 0; i < count; i++) {
        ev.seq += (uint64_t)1 << 60;
        ev.depth = i % 2 ? 1000000000 : -1000000000;
        ev.rss = i % 2 ? (uint64_t)1 << 62 : 4096;
        if (pmt_sink_write(sink, &ev) != PMT_OK) /* no ck_assert: a pipe write each */
            ck_abort_msg("event %d: %s", i, pmt_last_error_message());
    }
    pmt_sink_destroy(sink);
    binlog_chunk chunks[16];
    size_t n = binlog_chunks(path, chunks, 16, NULL);
    ck_assert_uint_le(n, 16);
    ck_assert_uint_ge(n, 3);
    uint32_t largest = 0;
    for (size_t i = 0; i < n; i++)
        largest = chunks[i].raw > largest ? chunks[i].raw : largest;
    ck_assert_uint_le(largest, 16u << 20);
    ck_assert_uint_gt(largest, (16u << 20) - 600); /* the room for two largest records */
    pmt_reader *r = NULL;
    ck_assert_int_eq(pmt_reader_open(&r, path), PMT_OK);
    const pmt_event *got;
    int read = 0;
    while (pmt_reader_next(r, &got) == 1)
        read++;
    const char *reason = NULL;
    ck_assert_msg(pmt_reader_status(r, NULL, &reason) == PMT_OK, "%s", reason);
    ck_assert_int_eq(read, count);
    pmt_reader_close(r);
    free(path);
    temp_dir_remove(dir);
}
END_TEST

/* --- options and failures ------------------------------------------------------------------- */

static int entries_in(const char *dir)
{
    char *cmd = NULL;
    ck_assert_int_gt(asprintf(&cmd, "ls -A '%s' | wc -l", dir), 0);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    int n = -1;
    ck_assert_int_eq(fscanf(p, "%d", &n), 1);
    pclose(p);
    free(cmd);
    return n;
}

START_TEST(bad_options_are_refused)
{
    char *dir = temp_dir_create();
    char *path = NULL;
    ck_assert_int_gt(asprintf(&path, "%s/options.pmt", dir), 0);
    pmt_sink *sink = (pmt_sink *)&sink;
    pmt_binary_options o = PMT_BINARY_OPTIONS_INIT;
    ck_assert_uint_eq(o.struct_size, sizeof o);

    o.struct_size = sizeof o + 8; /* a later version's struct */
    ck_assert_int_eq(pmt_sink_binary_open(&sink, path, NULL, &o), PMT_EVERSION);
    ck_assert_ptr_null(sink);
    o.struct_size = 0;
    ck_assert_int_eq(pmt_sink_binary_open(&sink, path, NULL, &o), PMT_EVERSION);
    o.struct_size = 4; /* not even the compression */
    ck_assert_int_eq(pmt_sink_binary_open(&sink, path, NULL, &o), PMT_EVERSION);
    ck_assert_ptr_nonnull(strstr(pmt_last_error_message(), "struct_size"));
    o = (pmt_binary_options)PMT_BINARY_OPTIONS_INIT;

    const uint32_t bad_chunks[] = {1, 4095, (16u << 20) + 1, UINT32_MAX};
    for (size_t i = 0; i < 4; i++) {
        o.chunk_bytes = bad_chunks[i];
        ck_assert_int_eq(pmt_sink_binary_open(&sink, path, NULL, &o), PMT_EINVAL);
        ck_assert_ptr_nonnull(strstr(pmt_last_error_message(), "chunk_bytes"));
    }
    o.chunk_bytes = 0;
    const uint32_t bad_codecs[] = {3, 7, 255, UINT32_MAX};
    for (size_t i = 0; i < 4; i++) {
        o.compression = bad_codecs[i];
        ck_assert_int_eq(pmt_sink_binary_open(&sink, path, NULL, &o), PMT_EINVAL);
    }
    ck_assert_int_eq(pmt_sink_binary_open(NULL, path, NULL, NULL), PMT_EINVAL);
    ck_assert_int_eq(entries_in(dir), 0); /* no file for a refused sink */

    /* The limits themselves, and a struct from a version that knew only the compression. */
    const uint32_t good_chunks[] = {4096, 16u << 20};
    for (size_t i = 0; i < 2; i++) {
        o.compression = PMT_COMPRESS_NONE;
        o.chunk_bytes = good_chunks[i];
        ck_assert_int_eq(pmt_sink_binary_open(&sink, path, NULL, &o), PMT_OK);
        pmt_sink_destroy(sink);
    }
    pmt_binary_options old = {offsetof(pmt_binary_options, level), PMT_COMPRESS_NONE, 99, 1, 1};
    ck_assert_int_eq(pmt_sink_binary_open(&sink, path, NULL, &old), PMT_OK); /* 99, 1, 1 unread */
    pmt_sink_destroy(sink);
    ck_assert_int_eq(entries_in(dir), 3);

    for (int c = 0; c < 3; c++)
        ck_assert_int_eq(pmt_compression_supported(c), 1);
    const int unknown[] = {-1, 3, 7, 1000};
    for (size_t i = 0; i < 4; i++)
        ck_assert_int_eq(pmt_compression_supported(unknown[i]), 0);

    /* The reader's argument checks. */
    pmt_reader *r = (pmt_reader *)&r;
    const pmt_event *ev;
    ck_assert_int_eq(pmt_reader_open(NULL, path), PMT_EINVAL);
    ck_assert_int_eq(pmt_reader_open(&r, NULL), PMT_EINVAL);
    ck_assert_ptr_null(r);
    ck_assert_int_ne(pmt_reader_open(&r, dir), PMT_OK); /* a directory */
    ck_assert_int_eq(pmt_reader_open(&r, "/nonexistent/x.pmt"), PMT_EIO);
    ck_assert_ptr_null(pmt_reader_info(NULL));
    ck_assert_int_eq(pmt_reader_next(NULL, &ev), PMT_EINVAL);
    ck_assert_int_eq(pmt_reader_seek_seq(NULL, 0), PMT_EINVAL);
    ck_assert_int_eq(pmt_reader_seek_time(NULL, 0), PMT_EINVAL);
    ck_assert_int_eq(pmt_reader_status(NULL, NULL, NULL), PMT_EINVAL);
    pmt_reader_close(NULL);
    /* A text file is not a binary log. */
    binlog_store(path, "SOF\nHDR: a text log\nEOF\n", 25);
    ck_assert_int_eq(pmt_reader_open(&r, path), PMT_EFORMAT);
    free(path);
    temp_dir_remove(dir);
}
END_TEST

/* A sink whose write fails is disabled; the binary log beside it keeps every event. */
START_TEST(failing_sink_beside_a_binary_log)
{
    char *dir = temp_dir_create();
    char *path = NULL;
    ck_assert_int_gt(asprintf(&path, "%s/beside.pmt", dir), 0);
    fake_clock clock = {0};
    fake_rss rss = {.value = 4096};
    capture good = {0}, bad = {0};
    bad.fail_at_write = 5;
    pmt_tracer *t = fake_tracer(&clock, &rss, 0, &bad);
    pmt_sink *binary = NULL;
    ck_assert_int_eq(pmt_sink_binary_open(&binary, path, NULL, NULL), PMT_OK);
    ck_assert_int_eq(pmt_tracer_add_sink(t, binary), PMT_OK);
    ck_assert_int_eq(pmt_tracer_add_sink(t, capture_sink(&good)), PMT_OK);
    ck_assert_int_eq(pmt_tracer_start(t), PMT_OK);
    for (int i = 1; i <= 500; i++) {
        clock.now = 1000u * (uint64_t)i;
        rss.value = 4096u * (uint64_t)(1 + i % 7);
        pmt__tracer_event(t, PMT_EV_CALL, "a.py", i % 2 ? "f" : "g", i, i % 5);
    }
    ck_assert_int_eq(pmt_tracer_stop(t), PMT_OK);
    uint64_t failed = 0;
    ck_assert_int_eq(pmt_tracer_get_stat(t, PMT_STAT_SINKS_FAILED, &failed), PMT_OK);
    ck_assert_uint_eq(failed, 1);
    ck_assert_int_eq(bad.writes, 5); /* never called again */
    ck_assert_uint_eq(bad.count, 4);
    pmt_tracer_destroy(t);
    ck_assert_uint_eq(good.count, 502);
    binlog_read got;
    binlog_read_file(path, &got);
    ck_assert_int_eq(got.status, PMT_OK);
    ck_assert_uint_eq(got.events.count, good.count);
    binlog_assert_prefix(&got.events, &good, "beside a failing sink");
    binlog_read_free(&got);
    capture_free(&good);
    capture_free(&bad);
    free(path);
    temp_dir_remove(dir);
}
END_TEST

/* In crc32c.c, for the tests only. */
uint32_t pmt__crc32c_portable(uint32_t crc, const void *data, size_t size);

/* CRC-32C: the published check value, and the fast path equals the portable one at every
 * length and alignment, in one piece or continued. */
START_TEST(crc32c_values)
{
    ck_assert_uint_eq(pmt__crc32c(0, "123456789", 9), 0xE3069283u);
    ck_assert_uint_eq(pmt__crc32c_portable(0, "123456789", 9), 0xE3069283u);
    ck_assert_uint_eq(pmt__crc32c(0, "", 0), 0);
    unsigned char zeros[32] = {0};
    ck_assert_uint_eq(pmt__crc32c(0, zeros, 32), 0x8A9136AAu); /* RFC 3720 B.4 */
    unsigned char buf[300];
    uint32_t rng = 7;
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)binlog_rand(&rng);
    for (size_t off = 0; off < 9; off++)
        for (size_t len = 0; off + len <= sizeof buf; len += 1 + len / 8) {
            uint32_t want = pmt__crc32c_portable(0, buf + off, len);
            if (pmt__crc32c(0, buf + off, len) != want)
                ck_abort_msg("crc32c differs at offset %zu, length %zu", off, len);
            size_t half = len / 3;
            if (pmt__crc32c(pmt__crc32c(0, buf + off, half), buf + off + half, len - half) != want)
                ck_abort_msg("continued crc32c differs at offset %zu, length %zu", off, len);
        }
}
END_TEST

Suite *binary_suite(void)
{
    Suite *s = suite_create("binary");
    TCase *tc = unit_tcase("binary");
    tcase_add_loop_test(tc, round_trip_every_event, 0, 3);
    tcase_add_loop_test(tc, round_trip_with_a_trigger, 0, 3);
    tcase_add_loop_test(tc, replayed_text_log_is_byte_identical, 0, 3);
    tcase_add_loop_test(tc, seek_lands_on_the_first_match, 0, 3);
    tcase_add_loop_test(tc, seek_skips_a_damaged_earlier_chunk, 0, 6);
    tcase_add_loop_test(tc, sink_write_keeps_reused_buffers_apart, 0, 3);
    tcase_add_test(tc, empty_log_is_whole);
    tcase_add_test(tc, long_names_keep_chunks_readable);
    tcase_add_test(tc, largest_chunks_stay_readable);
    tcase_add_test(tc, bad_options_are_refused);
    tcase_add_test(tc, failing_sink_beside_a_binary_log);
    tcase_add_test(tc, crc32c_values);
    suite_add_tcase(s, tc);
    return s;
}
