/* The binary log reader (doc/format.md). Every length and id read from the file is checked
 * before use: a damaged file ends the iteration with a status, never with a crash. */
#define _GNU_SOURCE
#include <pymemtrace/reader.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pymemtrace/monitor.h>
#include <pymemtrace/sink.h>

#include "log/binary/format.h"
#include "log/binary/live.h"
#include "common/bytes.h"
#include "log/binary/codec.h"
#include "common/crc32c.h"
#include "common/error.h"

enum { MAX_HEADER_FIELDS = 1 << 20 };

typedef struct location {
    uint32_t file, function;
    int32_t line;
} location;

typedef struct chunk_ref {
    uint8_t type;
    uint64_t offset, first_seq, first_time;
} chunk_ref;

struct pmt_reader {
    int fd;
    uint64_t size;
    uint64_t data_start; /* first chunk */
    uint64_t data_end;   /* trailer start, or size */
    int has_trailer;
    pmt_log_info info;
    char *info_strings[PMT__TAG_LIMIT]; /* the header's strings, by tag */

    char **strings;
    size_t string_count, string_size;
    location *locations;
    size_t location_count, location_size;
    uint64_t dict_done; /* DICT chunks before this offset are parsed */

    chunk_ref *chunks; /* from the index, or from walking the headers */
    size_t chunk_count;
    int chunks_known;
    uint64_t index_offset; /* the INDEX chunk the trailer points at (has_trailer) */
    int index_read;        /* it was read whole and parsed */
    int index_status;      /* else why not, reported once the events are read */
    char index_reason[256];

    unsigned char *stored, *raw;
    size_t stored_size, raw_size;
    pmt__cursor cur;
    int in_events;
    uint32_t records_left;
    uint64_t next_offset;
    uint64_t chunk_offset;
    uint64_t prev_seq, prev_time, prev_rss, thread;
    int32_t prev_depth;
    uint64_t prev_address;  /* the last allocation record's block */
    uint64_t prev_object;   /* the last object record's object */
    uint64_t site, node;    /* the chunk's calls context so far (format.h PMT__EXT_CALLS_CONTEXT) */
    uint64_t events_chunks; /* EVENTS chunks read whole so far (a live area names its count) */
    int live_tried;         /* the tail was searched for a live area */
    int in_live;            /* the events being decoded are the live area's */
    uint64_t live_offset;
    char tail_reason[256]; /* why the chunks ended, when a live area follows them */
    uint64_t last_written_rss;
    pmt_sample sample; /* the last SAMPLE record's */

    pmt_call_stats *calls; /* the last CALLS chunk's rows */
    size_t call_count;

    pmt_event event;
    int pending; /* event holds the next event to return (after a seek) */
    int stopped;
    int status;
    uint64_t stop_offset;
    char reason[256];
};

static int stop(pmt_reader *r, int status, uint64_t offset, const char *fmt, ...) PMT__PRINTF(4, 5);

static int stop(pmt_reader *r, int status, uint64_t offset, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->reason, sizeof r->reason, fmt, ap);
    va_end(ap);
    r->stopped = 1;
    r->status = status;
    r->stop_offset = offset;
    r->in_events = 0;
    return 0;
}

static int read_at(pmt_reader *r, void *buf, size_t n, uint64_t offset)
{
    size_t done = 0;
    while (done < n) {
        ssize_t got = pread(r->fd, (char *)buf + done, n - done, (off_t)(offset + done));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return got < 0 ? -1 : 0;
        done += (size_t)got;
    }
    return 1;
}

static int ensure(unsigned char **buf, size_t *size, size_t need)
{
    if (need <= *size)
        return 0;
    unsigned char *grown = realloc(*buf, need);
    if (!grown)
        return -1;
    *buf = grown;
    *size = need;
    return 0;
}

/* --- the header ------------------------------------------------------------------------------ */

static const char *keep_string(pmt_reader *r, int slot, const unsigned char *p, size_t n)
{
    free(r->info_strings[slot]);
    r->info_strings[slot] = malloc(n + 1);
    if (!r->info_strings[slot])
        return "";
    memcpy(r->info_strings[slot], p, n);
    r->info_strings[slot][n] = '\0';
    return r->info_strings[slot];
}

static uint64_t field_number(const unsigned char *p, size_t n)
{
    pmt__cursor c = {p, p + n, 0};
    uint64_t v = pmt__get_varint(&c);
    return c.failed ? 0 : v;
}

static int parse_fields(pmt_reader *r, const unsigned char *p, size_t n)
{
    pmt__cursor c = {p, p + n, 0};
    pmt_log_info *info = &r->info;
    while (c.p < c.end) {
        uint64_t tag = pmt__get_varint(&c), len = pmt__get_varint(&c);
        if (c.failed || len > (uint64_t)(c.end - c.p))
            return -1;
        const unsigned char *v = c.p;
        c.p += len;
        switch (tag) {
#define READ_STRING(tag, member) info->member = keep_string(r, tag, v, len)
#define READ_NUMBER(tag, member) info->member = field_number(v, len)
#define READ_RUN_FIELD(name, tag, type, member, log, when)                                         \
    case tag:                                                                                      \
        READ_##type(tag, log);                                                                     \
        break;
#define READ_SINK_FIELD(name, tag, type, log)                                                      \
    case tag:                                                                                      \
        READ_##type(tag, log);                                                                     \
        break;
            PMT__RUN_HEADER_FIELDS(READ_RUN_FIELD)
            PMT__SINK_HEADER_FIELDS(READ_SINK_FIELD)
#undef READ_SINK_FIELD
#undef READ_RUN_FIELD
#undef READ_NUMBER
#undef READ_STRING
        default: /* a field of a later minor version */
            break;
        }
    }
    return 0;
}

static int read_header(pmt_reader *r, const char *path)
{
    unsigned char fixed[PMT__FILE_FIXED_SIZE];
    int got = read_at(r, fixed, sizeof fixed, 0);
    if (got < 0)
        return pmt__fail_os(errno, "cannot read '%s'", path);
    if (got == 0 || memcmp(fixed, pmt__file_magic, PMT__FILE_MAGIC_SIZE) != 0)
        return pmt__fail(PMT_EFORMAT, "'%s' is not a pymemtrace binary log", path);
    r->info.format_major = pmt__get_u16(fixed + 8);
    r->info.format_minor = pmt__get_u16(fixed + 10);
    if (r->info.format_major != PMT__FORMAT_MAJOR)
        return pmt__fail(PMT_EFORMAT, "'%s' has format version %u, this library reads %d", path,
                         r->info.format_major, PMT__FORMAT_MAJOR);
    if (pmt__get_u32(fixed + 12) != PMT__BYTE_ORDER_CHECK)
        return pmt__fail(PMT_EFORMAT, "'%s': bad byte-order mark", path);
    uint32_t n = pmt__get_u32(fixed + 16);
    if (n > MAX_HEADER_FIELDS || (uint64_t)PMT__FILE_FIXED_SIZE + n + 4 > r->size)
        return pmt__fail(PMT_EFORMAT, "'%s': header length %u does not fit the file", path, n);
    unsigned char *fields = malloc((size_t)n + 4);
    if (!fields)
        return pmt__fail(PMT_ENOMEM, "out of memory reading a header");
    int rc = PMT_OK;
    got = read_at(r, fields, (size_t)n + 4, PMT__FILE_FIXED_SIZE);
    if (got <= 0)
        rc = got < 0 ? pmt__fail_os(errno, "cannot read '%s'", path)
                     : pmt__fail(PMT_EFORMAT, "'%s': header cut short", path);
    else if (pmt__crc32c(pmt__crc32c(0, fixed, sizeof fixed), fields, n) !=
             pmt__get_u32(fields + n))
        rc = pmt__fail(PMT_EFORMAT, "'%s': header checksum mismatch", path);
    else if (parse_fields(r, fields, n) != 0)
        rc = pmt__fail(PMT_EFORMAT, "'%s': malformed header fields", path);
    r->event.interpreter_id = r->info.interpreter_id; /* every event of the log carries it */
    free(fields);
    r->data_start = PMT__FILE_FIXED_SIZE + (uint64_t)n + 4;
    return rc;
}

/* --- chunks ---------------------------------------------------------------------------------- */

typedef struct chunk_header {
    uint8_t type, codec;
    uint32_t stored, raw, records, crc;
    uint64_t first_seq, first_time, base_rss;
    unsigned char bytes[PMT__CHUNK_HEADER_SIZE];
} chunk_header;

/* Reads and checks the header at offset: 1 ok, 0 stopped (status set). */
static int read_chunk_header(pmt_reader *r, uint64_t offset, chunk_header *h)
{
    if (offset + PMT__CHUNK_HEADER_SIZE > r->data_end)
        return stop(r, PMT_ETRUNCATED, offset, "chunk at %llu: header cut short",
                    (unsigned long long)offset);
    int got = read_at(r, h->bytes, PMT__CHUNK_HEADER_SIZE, offset);
    if (got < 0)
        return stop(r, PMT_EIO, offset, "chunk at %llu: %s", (unsigned long long)offset,
                    strerror(errno));
    if (got == 0)
        return stop(r, PMT_ETRUNCATED, offset, "chunk at %llu: header cut short",
                    (unsigned long long)offset);
    if (pmt__get_u32(h->bytes) != PMT__CHUNK_MAGIC) {
        static const unsigned char zeros[PMT__CHUNK_HEADER_SIZE];
        if (!r->has_trailer && memcmp(h->bytes, zeros, sizeof zeros) == 0)
            /* The room a live area's writer keeps after its chunks (live.h): the chunks end. */
            return stop(r, PMT_ETRUNCATED, offset,
                        "log ends at %llu without its index: the writer did not close it",
                        (unsigned long long)offset);
        return stop(r, PMT_EFORMAT, offset, "chunk at %llu: bad magic", (unsigned long long)offset);
    }
    h->type = h->bytes[4];
    h->codec = h->bytes[5];
    h->stored = pmt__get_u32(h->bytes + 8);
    h->raw = pmt__get_u32(h->bytes + 12);
    h->first_seq = pmt__get_u64(h->bytes + 16);
    h->first_time = pmt__get_u64(h->bytes + 24);
    h->base_rss = pmt__get_u64(h->bytes + 32);
    h->records = pmt__get_u32(h->bytes + 40);
    h->crc = pmt__get_u32(h->bytes + PMT__CHUNK_CRC_OFFSET);
    if (h->raw > PMT__MAX_CHUNK_RAW || h->stored > PMT__MAX_CHUNK_RAW + (PMT__MAX_CHUNK_RAW >> 4))
        return stop(r, PMT_EFORMAT, offset, "chunk at %llu: length %u/%u is out of bounds",
                    (unsigned long long)offset, h->stored, h->raw);
    if (h->codec == PMT_COMPRESS_NONE && h->stored != h->raw)
        return stop(r, PMT_EFORMAT, offset, "chunk at %llu: stored and raw lengths differ",
                    (unsigned long long)offset);
    if (offset + PMT__CHUNK_HEADER_SIZE + h->stored > r->data_end)
        return stop(r, PMT_ETRUNCATED, offset, "chunk at %llu: payload cut short",
                    (unsigned long long)offset);
    return 1;
}

/* Reads the stored payload into r->stored and checks it: 1 ok, 0 stopped. */
static int check_payload(pmt_reader *r, uint64_t offset, const chunk_header *h)
{
    if (ensure(&r->stored, &r->stored_size, (size_t)h->stored + 1) != 0)
        return stop(r, PMT_ENOMEM, offset, "out of memory for a chunk");
    int got = read_at(r, r->stored, h->stored, offset + PMT__CHUNK_HEADER_SIZE);
    if (got <= 0)
        return stop(r, got < 0 ? PMT_EIO : PMT_ETRUNCATED, offset,
                    "chunk at %llu: payload cut short", (unsigned long long)offset);
    uint32_t crc =
        pmt__crc32c(pmt__crc32c(0, h->bytes, PMT__CHUNK_CRC_OFFSET), r->stored, h->stored);
    if (crc != h->crc)
        return stop(r, PMT_EFORMAT, offset, "chunk at %llu: checksum mismatch",
                    (unsigned long long)offset);
    return 1;
}

/* Reads, checks and decompresses the payload into r->raw: 1 ok, 0 stopped. */
static int read_payload(pmt_reader *r, uint64_t offset, const chunk_header *h)
{
    if (!check_payload(r, offset, h))
        return 0;
    if (ensure(&r->raw, &r->raw_size, (size_t)h->raw + 1) != 0)
        return stop(r, PMT_ENOMEM, offset, "out of memory for a chunk");
    if (h->codec == PMT_COMPRESS_NONE) {
        memcpy(r->raw, r->stored, h->stored);
    } else if (!pmt_compression_supported(h->codec)) {
        return stop(r, h->codec <= PMT_COMPRESS_LZ4 ? PMT_ENOTSUP : PMT_EFORMAT, offset,
                    "chunk at %llu: compression %u is not available in this build",
                    (unsigned long long)offset, h->codec);
    } else if (pmt__codec_decompress(h->codec, r->raw, h->raw, r->stored, h->stored) != 0) {
        return stop(r, PMT_EFORMAT, offset, "chunk at %llu: cannot decompress",
                    (unsigned long long)offset);
    }
    r->cur = (pmt__cursor){r->raw, r->raw + h->raw, 0};
    return 1;
}

static uint64_t next_chunk(uint64_t offset, const chunk_header *h)
{
    return offset + PMT__CHUNK_HEADER_SIZE + h->stored;
}

/* DICT records: ids must come in order; ones already known (after a seek) are skipped. */
static int parse_dict(pmt_reader *r, uint64_t offset)
{
    pmt__cursor *c = &r->cur;
    while (c->p < c->end) {
        int type = pmt__get_byte(c);
        uint64_t len = pmt__get_varint(c);
        if (c->failed || len > (uint64_t)(c->end - c->p))
            return stop(r, PMT_EFORMAT, offset, "dictionary at %llu: record cut short",
                        (unsigned long long)offset);
        pmt__cursor body = {c->p, c->p + len, 0};
        c->p += len;
        uint64_t id = pmt__get_varint(&body);
        if (type == PMT__DICT_STRING) {
            if (body.failed || id > r->string_count)
                return stop(r, PMT_EFORMAT, offset, "dictionary at %llu: string id out of order",
                            (unsigned long long)offset);
            if (id < r->string_count)
                continue;
            if (r->string_count == r->string_size) {
                size_t size = r->string_size ? r->string_size * 2 : 256;
                char **grown = realloc(r->strings, size * sizeof *grown);
                if (!grown)
                    return stop(r, PMT_ENOMEM, offset, "out of memory for names");
                r->strings = grown;
                r->string_size = size;
            }
            size_t n = (size_t)(body.end - body.p);
            char *text = malloc(n + 1);
            if (!text)
                return stop(r, PMT_ENOMEM, offset, "out of memory for names");
            memcpy(text, body.p, n);
            text[n] = '\0';
            r->strings[r->string_count++] = text;
        } else if (type == PMT__DICT_LOCATION) {
            uint64_t file = pmt__get_varint(&body), function = pmt__get_varint(&body);
            int64_t line = pmt__unzigzag(pmt__get_varint(&body));
            if (body.failed || id > r->location_count || file >= r->string_count ||
                function >= r->string_count || line < INT32_MIN || line > INT32_MAX)
                return stop(r, PMT_EFORMAT, offset, "dictionary at %llu: bad location",
                            (unsigned long long)offset);
            if (id < r->location_count)
                continue;
            if (r->location_count == r->location_size) {
                size_t size = r->location_size ? r->location_size * 2 : 256;
                location *grown = realloc(r->locations, size * sizeof *grown);
                if (!grown)
                    return stop(r, PMT_ENOMEM, offset, "out of memory for locations");
                r->locations = grown;
                r->location_size = size;
            }
            r->locations[r->location_count++] =
                (location){(uint32_t)file, (uint32_t)function, (int32_t)line};
        } /* other record types: a later minor version, skipped */
    }
    return 1;
}

/* A CALLS chunk (the call aggregation at stop): its rows replace any earlier ones. */
static int parse_calls(pmt_reader *r, uint64_t offset)
{
    pmt__cursor *c = &r->cur;
    uint64_t count = pmt__get_varint(c);
    if (c->failed || count > (uint64_t)(c->end - c->p)) /* each row takes 8 bytes or more */
        return stop(r, PMT_EFORMAT, offset, "call aggregation at %llu: bad count",
                    (unsigned long long)offset);
    pmt_call_stats *rows = calloc(count ? count : 1, sizeof *rows);
    if (!rows)
        return stop(r, PMT_ENOMEM, offset, "out of memory for the call aggregation");
    for (uint64_t i = 0; i < count; i++) {
        pmt_call_stats *row = &rows[i];
        uint64_t parent = pmt__get_varint(c), place = pmt__get_varint(c);
        uint64_t flags = pmt__get_varint(c);
        row->calls = pmt__get_varint(c);
        row->total = pmt__unzigzag(pmt__get_varint(c));
        row->own = pmt__unzigzag(pmt__get_varint(c));
        row->largest = pmt__unzigzag(pmt__get_varint(c));
        row->peak_rss = pmt__get_varint(c);
        if (c->failed || parent > i || place >= r->location_count || flags > UINT32_MAX) {
            free(rows);
            return stop(r, PMT_EFORMAT, offset, "call aggregation at %llu: bad row %llu",
                        (unsigned long long)offset, (unsigned long long)i);
        }
        const location *l = &r->locations[place];
        row->struct_size = sizeof *row;
        row->node = (uint32_t)(i + 1);
        row->parent = (uint32_t)parent;
        row->flags = (uint32_t)flags;
        row->file = r->strings[l->file];
        row->function = r->strings[l->function];
        row->line = l->line;
    }
    free(r->calls);
    r->calls = rows;
    r->call_count = (size_t)count;
    return 1;
}

int pmt_reader_call_stats(const pmt_reader *r, pmt_call_stats_fn fn, void *user_data)
{
    if (!r || !fn)
        return pmt__fail(PMT_EINVAL, "pmt_reader_call_stats: NULL reader or function");
    for (size_t i = 0; i < r->call_count; i++) {
        int rc = fn(&r->calls[i], user_data);
        if (rc)
            return rc;
    }
    return PMT_OK;
}

static int parse_index(pmt_reader *r, uint64_t offset)
{
    pmt__cursor *c = &r->cur;
    uint64_t count = pmt__get_varint(c);
    if (c->failed || count > (uint64_t)(c->end - c->p))
        return stop(r, PMT_EFORMAT, offset, "index at %llu: bad count", (unsigned long long)offset);
    chunk_ref *chunks = calloc((size_t)count + 1, sizeof *chunks);
    if (!chunks)
        return stop(r, PMT_ENOMEM, offset, "out of memory for the index");
    for (uint64_t i = 0; i < count; i++) {
        chunks[i].type = (uint8_t)pmt__get_byte(c);
        chunks[i].offset = pmt__get_varint(c);
        chunks[i].first_seq = pmt__get_varint(c);
        chunks[i].first_time = pmt__get_varint(c);
        if (chunks[i].offset < r->data_start || chunks[i].offset >= offset ||
            (i > 0 && chunks[i].offset <= chunks[i - 1].offset))
            c->failed = 1;
    }
    r->info.events_seen = pmt__get_varint(c);
    r->info.events_written = pmt__get_varint(c);
    r->info.peak_rss = pmt__get_varint(c);
    r->info.last_time_ns = pmt__get_varint(c);
    if (c->failed) {
        free(chunks);
        r->info.events_seen = r->info.events_written = r->info.peak_rss = 0;
        r->info.last_time_ns = 0;
        return stop(r, PMT_EFORMAT, offset, "index at %llu: malformed", (unsigned long long)offset);
    }
    r->info.has_summary = 1;
    free(r->chunks);
    r->chunks = chunks;
    r->chunk_count = (size_t)count;
    r->chunks_known = 1;
    return 1;
}

/* The trailer, when the writer closed the log: points at the INDEX chunk. */
static void read_trailer(pmt_reader *r)
{
    r->data_end = r->size;
    if (r->size < r->data_start + PMT__TRAILER_SIZE)
        return;
    unsigned char t[PMT__TRAILER_SIZE];
    uint64_t at = r->size - PMT__TRAILER_SIZE;
    if (read_at(r, t, sizeof t, at) <= 0 || pmt__get_u32(t) != PMT__TRAILER_MAGIC ||
        pmt__crc32c(0, t, 16) != pmt__get_u32(t + 16) || pmt__get_u32(t + 20) != 0)
        return;
    uint64_t index_offset = pmt__get_u64(t + 8);
    if (index_offset < r->data_start || index_offset >= at)
        return;
    r->has_trailer = 1;
    r->data_end = at;
    r->index_offset = index_offset;
    chunk_header h;
    if (read_chunk_header(r, index_offset, &h)) {
        if (h.type != PMT__CHUNK_INDEX)
            stop(r, PMT_EFORMAT, index_offset, "chunk at %llu: not the index the trailer names",
                 (unsigned long long)index_offset);
        else if (read_payload(r, index_offset, &h) && parse_index(r, index_offset))
            r->index_read = 1;
    }
    /* A damaged index only loses the summary and fast seeking; the events stay readable, and
     * the damage is reported once they are read. */
    if (!r->index_read) {
        r->index_status = r->status;
        snprintf(r->index_reason, sizeof r->index_reason, "%s", r->reason);
    }
    r->stopped = 0;
    r->status = PMT_OK;
    r->reason[0] = '\0';
    r->in_events = 0;
}

int pmt_reader_open(pmt_reader **out, const char *path)
{
    if (out)
        *out = NULL;
    if (!out || !path)
        return pmt__fail(PMT_EINVAL, "pmt_reader_open: NULL out or path");
    pmt_reader *r = calloc(1, sizeof *r);
    if (!r)
        return pmt__fail(PMT_ENOMEM, "out of memory for a reader");
    r->info.struct_size = sizeof r->info;
    r->info.library_version = r->info.runtime = r->info.rss_provider = "";
    r->info.rss_accuracy = r->info.filters = "";
    r->event.struct_size = sizeof r->event;
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        int rc = pmt__fail_os(errno, "cannot open '%s'", path);
        free(r);
        return rc;
    }
    struct stat st;
    int rc = fstat(r->fd, &st) == 0 ? PMT_OK : pmt__fail_os(errno, "cannot stat '%s'", path);
    r->size = (uint64_t)st.st_size;
    if (rc == PMT_OK)
        rc = read_header(r, path);
    if (rc != PMT_OK) {
        pmt_reader_close(r);
        return rc;
    }
    read_trailer(r);
    r->next_offset = r->data_start;
    r->dict_done = r->data_start;
    *out = r;
    return PMT_OK;
}

const pmt_log_info *pmt_reader_info(const pmt_reader *r)
{
    return r ? &r->info : NULL;
}

/* The decoding state at the start of a run of EVENTS records (a chunk's, or a live area's, whose
 * record count is unknown: UINT32_MAX), read from r->cur. */
static void start_events(pmt_reader *r, uint64_t offset, uint32_t records, uint64_t first_seq,
                         uint64_t first_time, uint64_t base_rss)
{
    r->in_events = 1;
    r->records_left = records;
    r->chunk_offset = offset;
    r->prev_seq = first_seq - 1;
    r->prev_time = first_time;
    r->prev_rss = r->last_written_rss = base_rss;
    r->prev_depth = 0;
    r->prev_address = 0;
    r->prev_object = 0;
    r->thread = 0;
    r->site = r->node = 0;
}

/* Reads n bytes of the live area at offset into r->raw as the cursor: 1, or 0 (stopped). */
static int read_live_region(pmt_reader *r, uint64_t offset, uint32_t n)
{
    if (ensure(&r->raw, &r->raw_size, (size_t)n + 1) != 0)
        return stop(r, PMT_ENOMEM, offset, "out of memory for the live area");
    if (n && read_at(r, r->raw, n, offset) <= 0)
        return stop(r, PMT_EIO, offset, "live area at %llu: cannot read it",
                    (unsigned long long)offset);
    r->cur = (pmt__cursor){r->raw, r->raw + n, 0};
    return 1;
}

/* The chunks of a log without a trailer end at offset (its writer was killed, or is still
 * writing): its live area, if it had one, holds the names and events written since the last
 * chunk (live.h). Found at a 4 KiB boundary after offset, with the count of EVENTS chunks read
 * whole: 1, its events are next; 0, none (the reader stays stopped as it was). */
static int recover_live(pmt_reader *r, uint64_t offset)
{
    if (r->has_trailer || r->live_tried)
        return 0;
    r->live_tried = 1;
    const uint64_t limit = offset + 4 * (uint64_t)PMT__MAX_CHUNK_RAW + 2 * PMT__LIVE_ALIGN;
    for (uint64_t at = (offset + PMT__LIVE_ALIGN - 1) / PMT__LIVE_ALIGN * PMT__LIVE_ALIGN;
         at + PMT__LIVE_HEADER_SIZE <= r->size && at <= limit; at += PMT__LIVE_ALIGN) {
        unsigned char h[PMT__LIVE_HEADER_SIZE];
        if (read_at(r, h, sizeof h, at) <= 0 || pmt__get_u32(h) != PMT__LIVE_MAGIC ||
            pmt__get_u32(h + PMT__LIVE_STATIC_CRC) != pmt__crc32c(0, h + 8, 16) ||
            pmt__get_u64(h + PMT__LIVE_CHUNKS) != r->events_chunks)
            continue;
        uint32_t dict_cap = pmt__get_u32(h + PMT__LIVE_DICT_CAP);
        uint32_t events_cap = pmt__get_u32(h + PMT__LIVE_EVENTS_CAP);
        uint32_t dict_used = pmt__get_u32(h + PMT__LIVE_DICT_USED);
        uint32_t events_used = pmt__get_u32(h + PMT__LIVE_EVENTS_USED);
        if (dict_cap > PMT__MAX_CHUNK_RAW || events_cap > PMT__MAX_CHUNK_RAW ||
            dict_used > dict_cap || events_used > events_cap ||
            at + PMT__LIVE_HEADER_SIZE + (uint64_t)dict_cap + events_cap > r->size)
            continue;
        memcpy(r->tail_reason, r->reason, sizeof r->tail_reason); /* why the chunks ended */
        r->stopped = 0;
        r->status = PMT_OK;
        uint64_t dict_at = at + PMT__LIVE_HEADER_SIZE;
        if (!read_live_region(r, dict_at, dict_used) || !parse_dict(r, dict_at) ||
            !read_live_region(r, dict_at + dict_cap, events_used))
            return 0;
        start_events(r, at, UINT32_MAX, pmt__get_u64(h + PMT__LIVE_FIRST_SEQ),
                     pmt__get_u64(h + PMT__LIVE_FIRST_TIME), pmt__get_u64(h + PMT__LIVE_BASE_RSS));
        r->in_live = 1;
        r->live_offset = at;
        return 1;
    }
    return 0;
}

/* Moves to the next EVENTS chunk, parsing DICT chunks on the way: 1 ready, 0 stopped. */
static int advance_chunk(pmt_reader *r)
{
    for (;;) {
        uint64_t offset = r->next_offset;
        if (offset >= r->data_end) {
            if (r->has_trailer && !r->index_read)
                return stop(r, r->index_status, r->index_offset, "%s", r->index_reason);
            if (r->has_trailer)
                return stop(r, PMT_OK, offset, "end of log");
            stop(r, PMT_ETRUNCATED, offset,
                 "log ends at %llu without its index: the writer did not close it",
                 (unsigned long long)offset);
            return recover_live(r, offset);
        }
        chunk_header h;
        if (!read_chunk_header(r, offset, &h))
            return recover_live(r, offset);
        r->next_offset = next_chunk(offset, &h);
        if (h.type == PMT__CHUNK_DICT) {
            if (offset < r->dict_done)
                continue;
            if (!read_payload(r, offset, &h))
                return recover_live(r, offset);
            if (!parse_dict(r, offset))
                return 0;
            r->dict_done = r->next_offset;
        } else if (h.type == PMT__CHUNK_EVENTS) {
            if (!read_payload(r, offset, &h))
                return recover_live(r, offset);
            r->events_chunks++;
            start_events(r, offset, h.records, h.first_seq, h.first_time, h.base_rss);
            return 1;
        } else if (h.type == PMT__CHUNK_CALLS) {
            if (!read_payload(r, offset, &h) || !parse_calls(r, offset))
                return 0;
        } else if (!(h.type == PMT__CHUNK_INDEX && r->index_read && offset == r->index_offset)) {
            /* Unknown types (and an index not read yet) are skipped, once their checksum says
             * that the header, type included, is intact. */
            if (!check_payload(r, offset, &h))
                return 0;
        }
    }
}

static const char *string_or_empty(const pmt_reader *r, uint64_t id)
{
    return id < r->string_count ? r->strings[id] : "";
}

/* Decodes the next event of the current chunk: 1 event, 0 chunk done, -1 stopped. */
static int decode_event(pmt_reader *r)
{
    pmt__cursor *c = &r->cur;
    uint64_t at = r->chunk_offset;
    while (c->p < c->end) {
        int h = pmt__get_byte(c);
        int type = h & 0x0F;
        if (type == PMT__REC_THREAD) {
            r->thread = pmt__get_varint(c);
        } else if (type == PMT__REC_EXTENSION) {
            uint64_t ext = pmt__get_varint(c);
            uint64_t len = pmt__get_varint(c);
            if (c->failed || len > (uint64_t)(c->end - c->p)) {
                c->failed = 1;
            } else if (ext == PMT__EXT_CALLS_CONTEXT) {
                pmt__cursor body = {c->p, c->p + len, 0};
                uint64_t site = pmt__get_varint(&body), node = pmt__get_varint(&body);
                if (body.failed || node > UINT32_MAX ||
                    (site >= 2 && site - 2 >= r->location_count)) {
                    stop(r, PMT_EFORMAT, at, "chunk at %llu: bad calls context record",
                         (unsigned long long)at);
                    return -1;
                }
                r->site = site;
                r->node = node;
                c->p += len;
            } else {
                c->p += len; /* of a later minor version */
            }
        } else {
            pmt_event *ev = &r->event;
            uint64_t kind = (uint64_t)type;
            if (type == PMT__REC_KIND_ESCAPE)
                kind += pmt__get_varint(c);
            if (kind > UINT32_MAX)
                kind = UINT32_MAX; /* damage: read on, the kind is unknown */
            uint64_t seq_reason =
                h & PMT__REC_SEQ_REASON ? pmt__get_varint(c) : pmt__default_reason((unsigned)kind);
            uint64_t dtime = pmt__get_varint(c), loc = pmt__get_varint(c);
            int depth_code = (h & PMT__REC_DEPTH_MASK) >> PMT__REC_DEPTH_SHIFT;
            int64_t ddepth = depth_code == PMT__DEPTH_UP     ? 1
                             : depth_code == PMT__DEPTH_DOWN ? -1
                             : depth_code == PMT__DEPTH_SAME ? 0
                                                             : pmt__unzigzag(pmt__get_varint(c));
            int64_t drss = h & PMT__REC_RSS_CHANGED ? pmt__unzigzag(pmt__get_varint(c)) : 0;
            uint64_t message = type == PMT_EV_MARK ? pmt__get_varint(c) : 0; /* id + 1 */
            uint64_t sample_lag = 0; /* a sample's: the record's time minus the sample's */
            ev->allocator = 0;
            ev->address = ev->size = ev->old_address = ev->old_size = 0;
            ev->gc_generation = 0;
            ev->gc_collected = ev->gc_uncollectable = ev->gc_duration_ns = 0;
            if (pmt__is_gc_kind((unsigned)kind)) {
                ev->gc_generation = (int32_t)(uint32_t)pmt__get_varint(c);
                ev->gc_collected = pmt__get_varint(c);
                ev->gc_uncollectable = pmt__get_varint(c);
                ev->gc_duration_ns = pmt__get_varint(c);
            }
            ev->type_name = NULL;
            ev->type_live = 0;
            ev->type_created = ev->type_destroyed = 0;
            uint64_t type_name = 0; /* its string id + 1 */
            if (pmt__is_object_kind((unsigned)kind)) {
                type_name = pmt__get_varint(c);
                if (kind == PMT_EV_OBJECT_COUNT) {
                    ev->type_created = pmt__get_varint(c);
                    ev->type_destroyed = pmt__get_varint(c);
                    ev->type_live = (int64_t)(ev->type_created - ev->type_destroyed);
                } else {
                    ev->address = r->prev_object =
                        pmt__address_from_step(pmt__get_varint(c), r->prev_object);
                    ev->type_live = pmt__unzigzag(pmt__get_varint(c));
                }
            }
            if (pmt__is_alloc_kind((unsigned)type)) {
                uint64_t size_allocator = pmt__get_varint(c);
                ev->allocator = (uint32_t)(size_allocator & 7u);
                ev->size = size_allocator >> PMT__ALLOCATOR_BITS;
                ev->address = r->prev_address =
                    pmt__address_from_step(pmt__get_varint(c), r->prev_address);
                if (type == PMT_EV_REALLOC) {
                    ev->old_address = pmt__address_from_step(pmt__get_varint(c), ev->address);
                    ev->old_size = pmt__get_varint(c);
                }
            }
            ev->sample = NULL;
            if (kind == PMT_EV_SAMPLE) {
                message = pmt__get_varint(c); /* the label's id + 1 */
                pmt_sample *s = &r->sample;
                memset(s, 0, sizeof *s);
                s->struct_size = sizeof *s;
                s->seq = pmt__get_varint(c);
                sample_lag = pmt__get_varint(c);
                uint64_t *fields[] = {&s->realtime_ns,    &s->peak_rss,    &s->minor_faults,
                                      &s->major_faults,   &s->user_cpu_ns, &s->system_cpu_ns,
                                      &s->rss_anon,       &s->rss_file,    &s->rss_shmem,
                                      &s->cgroup_current, &s->cgroup_max};
                for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
                    *fields[i] = pmt__get_varint(c);
                s->cgroup_max -= 1; /* stored + 1: 0 is UINT64_MAX */
                ev->sample = s;
            }
            if (c->failed)
                break;
            if (loc >= r->location_count || message > r->string_count ||
                type_name > r->string_count || r->records_left == 0) {
                stop(r, PMT_EFORMAT, at, "chunk at %llu: record refers to an unknown name",
                     (unsigned long long)at);
                return -1;
            }
            r->records_left--;
            const location *l = &r->locations[loc];
            ev->kind = (uint32_t)kind;
            ev->reason = (uint32_t)(seq_reason & ((1u << PMT__REASON_BITS) - 1));
            ev->seq = r->prev_seq + 1 + (seq_reason >> PMT__REASON_BITS);
            ev->time_ns = r->prev_time + dtime;
            ev->thread_id = r->thread;
            ev->depth = (int32_t)(uint32_t)((uint64_t)(int64_t)r->prev_depth + (uint64_t)ddepth);
            ev->rss = r->prev_rss + (uint64_t)drss;
            ev->d_rss = (int64_t)(ev->rss - r->last_written_rss);
            if (kind == PMT_EV_SAMPLE) {
                ev->reason = PMT_REASON_SAMPLE; /* implied by the kind (format.h) */
                r->sample.rss = ev->rss;
                r->sample.time_ns = ev->time_ns - (uint64_t)pmt__unzigzag(sample_lag);
                r->sample.label = message ? r->strings[message - 1] : NULL;
            }
            ev->file = string_or_empty(r, l->file);
            ev->function = string_or_empty(r, l->function);
            ev->line = l->line;
            ev->message = message ? r->strings[message - 1] : NULL;
            if (type_name)
                ev->type_name = r->strings[type_name - 1];
            if (r->site >= 2) {
                const location *u = &r->locations[r->site - 2];
                ev->user_file = string_or_empty(r, u->file);
                ev->user_function = string_or_empty(r, u->function);
                ev->user_line = u->line;
            } else {
                ev->user_file = r->site ? ev->file : "";
                ev->user_function = r->site ? ev->function : "";
                ev->user_line = r->site ? ev->line : 0;
            }
            ev->call_node = (uint32_t)r->node;
            r->prev_seq = ev->seq;
            r->prev_time = ev->time_ns;
            r->prev_rss = ev->rss;
            if (kind != PMT_EV_SAMPLE) /* a sample is beside the events: their dRSS skips it */
                r->last_written_rss = ev->rss;
            r->prev_depth = ev->depth;
            return 1;
        }
        if (c->failed)
            break;
    }
    if (c->failed) {
        stop(r, PMT_EFORMAT, at, "chunk at %llu: record cut short", (unsigned long long)at);
        return -1;
    }
    if (r->in_live) { /* its events are all read: the log ends here */
        r->in_live = 0;
        stop(r, PMT_ETRUNCATED, r->live_offset,
             "%s; the events written after the last chunk were recovered from the writer's "
             "live area at %llu",
             r->tail_reason, (unsigned long long)r->live_offset);
        return -1;
    }
    if (r->records_left != 0) {
        stop(r, PMT_EFORMAT, at, "chunk at %llu: fewer records than its header says",
             (unsigned long long)at);
        return -1;
    }
    r->in_events = 0;
    return 0;
}

int pmt_reader_next(pmt_reader *r, const pmt_event **out)
{
    if (!r || !out)
        return pmt__fail(PMT_EINVAL, "pmt_reader_next: NULL reader or out");
    if (r->pending) {
        r->pending = 0;
        *out = &r->event;
        return 1;
    }
    while (!r->stopped) {
        if (!r->in_events && !advance_chunk(r))
            break;
        int got = decode_event(r);
        if (got == 1) {
            *out = &r->event;
            return 1;
        }
        if (got < 0)
            break;
    }
    *out = NULL;
    return 0;
}

/* Without an index, walk the chunk headers once (payloads are not read). A damaged header ends
 * the walk quietly: the iteration reports it when it gets there. */
static int know_chunks(pmt_reader *r)
{
    if (r->chunks_known)
        return 1;
    size_t size = 64, count = 0;
    chunk_ref *chunks = malloc(size * sizeof *chunks);
    if (!chunks)
        return stop(r, PMT_ENOMEM, r->data_start, "out of memory for chunk positions");
    uint64_t offset = r->data_start;
    while (offset + PMT__CHUNK_HEADER_SIZE <= r->data_end) {
        unsigned char b[PMT__CHUNK_HEADER_SIZE];
        if (read_at(r, b, sizeof b, offset) <= 0 || pmt__get_u32(b) != PMT__CHUNK_MAGIC)
            break;
        uint64_t next = offset + PMT__CHUNK_HEADER_SIZE + pmt__get_u32(b + 8);
        if (next > r->data_end)
            break;
        if (count == size) {
            chunk_ref *grown = realloc(chunks, (size *= 2) * sizeof *grown);
            if (!grown) {
                free(chunks);
                return stop(r, PMT_ENOMEM, offset, "out of memory for chunk positions");
            }
            chunks = grown;
        }
        chunks[count++] = (chunk_ref){b[4], offset, pmt__get_u64(b + 16), pmt__get_u64(b + 24)};
        offset = next;
    }
    r->chunks = chunks;
    r->chunk_count = count;
    r->chunks_known = 1;
    return 1;
}

/* Seeks to the last EVENTS chunk starting at or before the target, then decodes forward. */
static int seek(pmt_reader *r, uint64_t target, int by_time)
{
    if (!r)
        return pmt__fail(PMT_EINVAL, "pmt_reader_seek: reader is NULL");
    if (!know_chunks(r))
        return r->status;
    size_t chosen = SIZE_MAX;
    for (size_t i = 0; i < r->chunk_count; i++) {
        const chunk_ref *c = &r->chunks[i];
        if (c->type != PMT__CHUNK_EVENTS)
            continue;
        if ((by_time ? c->first_time : c->first_seq) > target)
            break;
        chosen = i;
    }
    /* Names of every DICT chunk before the chosen one; events of earlier chunks are not read. */
    uint64_t stop_at = chosen == SIZE_MAX ? r->data_start : r->chunks[chosen].offset;
    r->stopped = 0;
    r->status = PMT_OK;
    r->pending = 0;
    r->in_events = 0;
    for (size_t i = 0; i < r->chunk_count && r->chunks[i].offset < stop_at; i++) {
        if (r->chunks[i].type != PMT__CHUNK_DICT || r->chunks[i].offset < r->dict_done)
            continue;
        chunk_header h;
        if (!read_chunk_header(r, r->chunks[i].offset, &h) ||
            !read_payload(r, r->chunks[i].offset, &h) || !parse_dict(r, r->chunks[i].offset))
            return r->status;
        r->dict_done = next_chunk(r->chunks[i].offset, &h);
    }
    r->next_offset = stop_at;
    r->events_chunks = 0; /* those before the chosen chunk, for a live area after the last */
    for (size_t i = 0; i < r->chunk_count && r->chunks[i].offset < stop_at; i++)
        r->events_chunks += r->chunks[i].type == PMT__CHUNK_EVENTS;
    r->live_tried = 0;
    r->in_live = 0;
    const pmt_event *ev;
    while (pmt_reader_next(r, &ev) == 1) {
        if ((by_time ? ev->time_ns : ev->seq) >= target) {
            r->pending = 1;
            return PMT_OK;
        }
    }
    return r->status == PMT_OK ? PMT_OK : r->status;
}

int pmt_reader_seek_seq(pmt_reader *r, uint64_t seq)
{
    return seek(r, seq, 0);
}

int pmt_reader_seek_time(pmt_reader *r, uint64_t time_ns)
{
    return seek(r, time_ns, 1);
}

int pmt_reader_status(const pmt_reader *r, uint64_t *out_offset, const char **out_reason)
{
    if (!r)
        return pmt__fail(PMT_EINVAL, "pmt_reader_status: reader is NULL");
    if (out_offset)
        *out_offset = r->stopped ? r->stop_offset : r->next_offset;
    if (out_reason)
        *out_reason = r->stopped ? r->reason : "reading";
    return r->stopped ? r->status : PMT_OK;
}

void pmt_reader_close(pmt_reader *r)
{
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    for (size_t i = 0; i < r->string_count; i++)
        free(r->strings[i]);
    for (size_t i = 0; i < sizeof r->info_strings / sizeof *r->info_strings; i++)
        free(r->info_strings[i]);
    free(r->strings);
    free(r->locations);
    free(r->calls);
    free(r->chunks);
    free(r->stored);
    free(r->raw);
    free(r);
}
