/* Helpers of the binary log suites: a scripted tracer run writing a binary log (and optionally
 * the text log) while a capturing sink keeps what was written, reading a binary log back into
 * copies, comparing events field by field, and walking a file's chunks. */
#ifndef PMT_TESTS_UNIT_BINLOG_H
#define PMT_TESTS_UNIT_BINLOG_H

#include <stddef.h>
#include <stdint.h>

#include "fakes.h"

/* What a scripted run does. */
typedef struct binlog_script {
    int compression;            /* a pmt_compression */
    uint32_t chunk_bytes;       /* 0: the default */
    uint32_t flush_interval_ms; /* 0: the default */
    int64_t trigger;            /* the tracer's d_rss trigger */
    int events;                 /* hook events in the run (start, stop and marks come on top) */
    int locations;              /* distinct (file, function, line) among them, <= 4000 */
    int thread_every;           /* every N events, a batch of 7 runs on another thread; 0: never */
    int mark_every;             /* every N events, a mark; 0: never */
    int jump_every;             /* every N events, 150 ms pass (a chunk is written); 0: never */
    int pause_at;               /* pause and resume before this event; 0: never */
    uint32_t seed;
    const char *message; /* of the logs' headers */
    int with_text;       /* also write the text log */
} binlog_script;

/* A finished run: the paths written and what the tracer handed to its sinks. */
typedef struct binlog_run {
    char *dir;
    char *binary_path;
    char *text_path; /* NULL without with_text */
    capture written; /* every event the tracer delivered, in order */
    uint64_t seen, events_written, sinks_failed;
    uint64_t event_mask, trigger_bytes;
    uint64_t start_ns;
} binlog_run;

/* The defaults: none, 4 KiB chunks, every event, 3000 events over 600 locations, threads,
 * marks, jumps and a pause, with the text log. */
binlog_script binlog_default_script(void);

/* Runs the script into a new temporary directory. */
void binlog_run_script(const binlog_script *script, binlog_run *run);
void binlog_run_free(binlog_run *run);

/* What a reader returned, with its strings copied. */
typedef struct binlog_read {
    int open_rc;     /* pmt_reader_open's result; the rest is empty unless PMT_OK */
    capture events;  /* in order */
    int status;      /* pmt_reader_status at the end */
    uint64_t offset; /* and its offset */
    char reason[256];
    pmt_log_info info;
    char *library_version, *runtime, *rss_provider, *message;
} binlog_read;

/* Opens and reads path to its end; never asserts on the content (for damaged files). */
void binlog_read_file(const char *path, binlog_read *out);
void binlog_read_free(binlog_read *r);

/* ev as a captured event that borrows its strings (valid while ev is). */
captured binlog_view(const pmt_event *ev);

/* Appends a copy of ev to cap (the capture sink's own format). */
void binlog_keep(capture *cap, const pmt_event *ev);

/* ck_asserts that two events are equal in every field; what names the event in messages. */
void binlog_assert_event_eq(const captured *got, const captured *want, const char *what,
                            size_t index);
/* Every event of got equals the event of want at the same index: got is a prefix of want. */
void binlog_assert_prefix(const capture *got, const capture *want, const char *what);

/* The chunks of a file, walked from the header (no checks beyond the lengths). */
typedef struct binlog_chunk {
    uint64_t offset;
    uint8_t type, codec;
    uint32_t stored, raw, records;
    uint64_t first_seq, first_time;
} binlog_chunk;
size_t binlog_chunks(const char *path, binlog_chunk *out, size_t max, uint64_t *out_data_start);

/* Whole-file helpers. */
unsigned char *binlog_load(const char *path, size_t *out_len);
void binlog_store(const char *path, const void *data, size_t len);
/* Overwrites n bytes at offset, or cuts the file to len, in place (no rewrite: truncating a file
 * to nothing and writing it again makes some filesystems flush it). */
void binlog_patch(const char *path, uint64_t offset, const void *bytes, size_t n);
void binlog_cut(const char *path, uint64_t len);

/* A small deterministic PRNG (xorshift32); state must not be 0. */
static inline uint32_t binlog_rand(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

#endif
