/* Writes the fuzzer's seed corpus: small valid binary logs of every compression, with every kind
 * of record (names, locations, thread switches, marks, RSS steps both ways, seq gaps), a log cut
 * short as a killed writer leaves it, one whose writer was killed with events in its live area,
 * and an empty one.
 *
 *   make_corpus DIR      (DIR must exist; files are overwritten) */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pymemtrace/pymemtrace.h>

#include "core/tracer_internal.h"

static void die(const char *what)
{
    fprintf(stderr, "make_corpus: %s: %s\n", what, pmt_last_error_message());
    exit(1);
}

/* The header a tracer would have written: the sink's begin, called as a tracer does. */
static void begin(pmt_sink *sink)
{
    pmt_run_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    info.event_mask = 0x3FF;
    info.d_rss_trigger = 4096;
    info.start_time_ns = 1000000000u;
    info.start_realtime_ns = 1700000000000000000u;
    info.process_id = 4242;
    info.library_version = pmt_version_string();
    info.rss_provider = "linux-statm";
    info.runtime = "CPython 3.12.1";
    if (sink->ops.begin(&info, sink->user_data) != 0)
        die("begin");
}

static void cut(const char *from, const char *to, long drop);

/* snapshot: where to copy the file before the sink is closed (its live area then holds the
 * events since the last chunk, as a killed writer leaves it), or NULL. */
static void write_log(const char *path, int compression, int events, int with_begin,
                      const char *snapshot)
{
    unlink(path);
    pmt_binary_options o = PMT_BINARY_OPTIONS_INIT;
    o.compression = (uint32_t)compression;
    o.chunk_bytes = 4096;
    o.flush_interval_ms = 1;
    pmt_sink *sink = NULL;
    if (pmt_sink_binary_open(&sink, path, "fuzz seed", &o) != PMT_OK)
        die(path);
    if (with_begin)
        begin(sink);
    static const char *const files[] = {"main.py", "pkg/mod.py", "lib/x.py", "caf\xc3\xa9.py"};
    static const char *const functions[] = {"<module>", "f", "Class.method", "len"};
    pmt_event ev;
    memset(&ev, 0, sizeof ev);
    ev.struct_size = sizeof ev;
    uint64_t rss = 10u << 20, last = 0;
    uint32_t x = 7;
    for (int i = 0; i < events; i++) {
        x = x * 1103515245u + 12345u;
        ev.kind = i == 0 ? PMT_EV_START : i == events - 1 ? PMT_EV_STOP : (x >> 8) % 8;
        ev.reason = i == 0                   ? PMT_REASON_FIRST
                    : i == events - 1        ? PMT_REASON_LAST
                    : ev.kind == PMT_EV_MARK ? PMT_REASON_MESSAGE
                                             : 1 + (x >> 12) % 2;
        ev.seq += 1 + (x >> 16) % 3;
        ev.time_ns = 1000000000u + 25000u * (uint64_t)i; /* a chunk every 40 events */
        ev.thread_id = (x >> 20) % 5 == 0 ? 7002 : 7001;
        ev.depth = (int32_t)((x >> 4) % 6);
        ev.file = files[(x >> 3) % 4];
        ev.function = functions[(x >> 5) % 4];
        ev.line = (int32_t)((x >> 7) % 50);
        if ((x >> 24) % 3 == 0)
            rss = (x >> 28) % 2 ? rss + 8192 : rss - 4096;
        ev.rss = rss;
        ev.d_rss = (int64_t)(rss - last);
        last = rss;
        ev.message = ev.kind == PMT_EV_MARK ? ((x >> 2) % 2 ? "phase 1" : "two\nlines") : NULL;
        if (pmt_sink_write(sink, &ev) != PMT_OK)
            die("write");
    }
    if (snapshot)
        cut(path, snapshot, 0);
    pmt_sink_destroy(sink);
}

static void cut(const char *from, const char *to, long drop)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    if (!in || !out)
        die(to);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, in);
    fwrite(buf, 1, n > (size_t)drop ? n - (size_t)drop : 0, out);
    fclose(in);
    fclose(out);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    char path[4096], other[4096];
    static const char *const names[] = {"none", "zstd", "lz4"};
    for (int c = 0; c < 3; c++) {
        if (!pmt_compression_supported(c)) {
            fprintf(stderr, "make_corpus: compression %s is not built in\n", names[c]);
            return 1;
        }
        snprintf(path, sizeof path, "%s/seed-%s.pmt", argv[1], names[c]);
        write_log(path, c, 200, 1, NULL);
    }
    /* A writer killed with events in its live area (log/binary/live.h): 230 events, the last
     * ones after the last chunk. */
    snprintf(path, sizeof path, "%s/seed-live.tmp", argv[1]);
    snprintf(other, sizeof other, "%s/seed-live.pmt", argv[1]);
    write_log(path, 0, 230, 1, other);
    unlink(path);
    snprintf(path, sizeof path, "%s/seed-none.pmt", argv[1]);
    snprintf(other, sizeof other, "%s/seed-killed.pmt", argv[1]);
    cut(path, other, 24 + 48 + 40); /* no trailer, no index, the last chunk cut */
    snprintf(path, sizeof path, "%s/seed-empty.pmt", argv[1]);
    write_log(path, 0, 0, 0, NULL);
    snprintf(path, sizeof path, "%s/seed-tiny-zstd.pmt", argv[1]);
    write_log(path, 1, 3, 0, NULL);
    return 0;
}
