/* The binary log writer (doc/format.md): names and code locations interned once into DICT
 * chunks, events as delta-encoded records in EVENTS chunks, each chunk checksummed and written
 * with one write(2) so that a killed process leaves only whole chunks behind. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <pymemtrace/monitor.h>
#include <pymemtrace/sink.h>
#include <pymemtrace/tracer.h>

#include "log/binary/format.h"
#include "common/bytes.h"
#include "log/binary/codec.h"
#include "log/binary/fatal.h"
#include "log/binary/live.h"
#include "common/crc32c.h"
#include "common/error.h"
#include "common/struct_copy.h"
#include "log/file_sink.h"
#include "core/sink_internal.h"

enum {
    DEFAULT_CHUNK_BYTES = 64 * 1024,
    MIN_CHUNK_BYTES = 4 * 1024,
    MAX_CHUNK_BYTES = 16 * 1024 * 1024,
    DEFAULT_FLUSH_MS = 100,
    /* One event record with the context record that may precede it (a thread record is
     * shorter). */
    RECORD_MAX = 1 + 24 * PMT__VARINT_MAX + 1 + PMT__VARINT_MAX + 3 + 2 * PMT__VARINT_MAX,
    MAX_NAME_BYTES = 1 << 20, /* longer names are cut: a DICT chunk must stay readable */
    NAME_CACHE_SIZE = 1024,   /* direct-mapped: caller pointer -> the sink's copy */
    DEPTH_CODES = PMT__DEPTH_SAME | PMT__DEPTH_DOWN << 2 | PMT__DEPTH_UP << 4,
};

typedef struct byte_buffer {
    unsigned char *data;
    size_t used, size;
} byte_buffer;

/* Keys are pointers to the tracer's interned strings: equal pointers are equal names. The table
 * of locations is small so that it stays in the first-level cache: 8-byte slots (the low half of
 * the key's hash, the id; the high bits pick the slot) over the keys, stored densely by id. */
typedef struct location_key {
    const char *file, *function;
    int32_t line;
} location_key;

typedef struct location_slot {
    uint32_t tag;         /* the low half of the hash */
    uint32_t id_plus_one; /* 0 = empty */
} location_slot;

typedef struct string_slot {
    const char *text;
    uint32_t id_plus_one;
} string_slot;

/* Names of events given with pmt_sink_write(): the caller may reuse its buffers, so such names
 * are copied once per distinct text and identified by those copies. */
typedef struct name_cache_slot {
    const char *ptr, *copy;
} name_cache_slot;

typedef struct name_entry {
    uint64_t hash;
    char *copy; /* NULL = empty */
} name_entry;

typedef struct index_entry {
    uint8_t type;
    uint64_t offset, first_seq, first_time;
} index_entry;

typedef struct binary_sink {
    pmt__log_file file;
    int names_live; /* begun by a tracer: event names live as long as it, known by address */
    int failed;
    int finished; /* the index and trailer are written (or failed to be) */
    int header_written;
    int codec, level;
    size_t chunk_bytes;
    size_t full_at; /* the chunk is written once its records pass this: the next might not fit */
    uint64_t flush_interval_ns;
    char *message;
    uint64_t offset; /* bytes in the file so far */

    byte_buffer events, dict, packed;
    uint32_t event_records, dict_records;
    int chunk_open;
    uint64_t first_seq, first_time, base_rss, opened_at;
    uint64_t prev_seq, prev_time, prev_rss, thread;
    int32_t prev_depth;
    uint64_t prev_address; /* the last allocation event's block */
    uint64_t prev_object;  /* the last object event's object */
    uint64_t last_rss;     /* across chunks: the base of the next chunk */
    uint64_t event_rss;    /* the last record's RSS but a sample's: the readers' dRSS base */
    /* The calls context (user site, call path) the chunk's events have so far: a record says
     * when it changes (doc/format.md). site: 0 none, 1 the event's own location, id + 2. */
    uint64_t chunk_site, chunk_node;
    /* The last user site given a location id, to ask the table only when it changes. */
    const char *site_file, *site_function;
    int32_t site_line;
    uint64_t site_id_plus_two;

    location_slot *locations;
    size_t location_capacity, location_count;
    /* The last place asked (location_id): its id, -1 when none is known. */
    const char *recent_file, *recent_function;
    int32_t recent_line;
    int64_t recent_id;
    unsigned location_shift; /* 64 - log2(location_capacity): the index is the hash's top bits */
    location_key *location_keys; /* by id */
    size_t location_keys_size;
    string_slot *strings;
    size_t string_capacity, string_count;
    name_cache_slot *name_cache;
    name_entry *names;
    size_t name_capacity, name_count;

    index_entry *index;
    size_t index_count, index_size;
    uint64_t seen, written, peak_rss, last_time;

    /* The live area (live.h): while on, events and dict are its regions, and these the heap
     * buffers they replace; events_chunks counts the EVENTS chunks written. */
    pmt__live live;
    int want_live;           /* begun: the area is wanted (it may be off for a while) */
    uint32_t *events_commit; /* the area's events commit word, or no_commit */
    uint32_t no_commit;

    /* A fatal signal's last record (fatal.h): written only while busy is 0 (no record, chunk
     * or name is half made), at the last event's location, with a message defined in advance. */
    volatile sig_atomic_t busy;
    uint64_t last_location;
    int64_t fatal_ids[PMT__FATAL_SIGNALS];
    int fatal_registered;
    byte_buffer heap_events, heap_dict;
    uint64_t events_chunks;
} binary_sink;

static int reserve(byte_buffer *b, size_t extra)
{
    if (b->used + extra <= b->size)
        return 0;
    size_t size = b->size ? b->size : 4096;
    while (size < b->used + extra)
        size *= 2;
    unsigned char *data = realloc(b->data, size);
    if (!data)
        return -1;
    b->data = data;
    b->size = size;
    return 0;
}

/* Fibonacci hashing of a location key: the names' addresses are scrambled by one multiply, the
 * line mixed in, and a second multiply spreads every bit into the high bits, which index the
 * table (the low bits of a product depend only on the low bits of its input: indexing by them
 * made locations collide in long probe chains). */
static inline uint64_t hash_key(const void *a, const void *b, int32_t line)
{
    uint64_t x = (uint64_t)(uintptr_t)a * 0x9E3779B97F4A7C15u ^ (uint64_t)(uintptr_t)b;
    return (x ^ (uint32_t)line) * 0xD6E8FEB86659FD93u;
}

static inline size_t hash_ptr(const void *p, uint64_t salt)
{
    uint64_t h = hash_key(p, NULL, (int32_t)salt);
    return (size_t)(h ^ h >> 32);
}

/* --- writing chunks ------------------------------------------------------------------------ */

static void leave_live(binary_sink *s);
static void enter_live(binary_sink *s);
static void use_live_regions(binary_sink *s);
static void prepare_fatal(binary_sink *s);
static size_t live_gap(const binary_sink *s);

static int write_all(binary_sink *s, const struct iovec *iov, int count)
{
    if (pmt__log_file_writev(&s->file, iov, count) != 0) {
        s->failed = 1;
        return -1;
    }
    for (int i = 0; i < count; i++)
        s->offset += iov[i].iov_len;
    return 0;
}

static int remember_chunk(binary_sink *s, uint8_t type, uint64_t first_seq, uint64_t first_time)
{
    if (s->index_count == s->index_size) {
        size_t size = s->index_size ? s->index_size * 2 : 64;
        index_entry *grown = realloc(s->index, size * sizeof *grown);
        if (!grown)
            return -1;
        s->index = grown;
        s->index_size = size;
    }
    s->index[s->index_count++] = (index_entry){type, s->offset, first_seq, first_time};
    return 0;
}

static int write_header(binary_sink *s, const pmt_run_info *info);

static int write_chunk(binary_sink *s, uint8_t type, const byte_buffer *raw, uint32_t records,
                       uint64_t first_seq, uint64_t first_time, uint64_t base_rss)
{
    if (s->failed)
        return -1;
    if (!s->header_written && write_header(s, NULL) != 0)
        return -1;
    size_t bound = s->codec != PMT_COMPRESS_NONE ? pmt__codec_bound(s->codec, raw->used) : 0;
    /* Room before the live area first (it moves on, or is left: then raw is the heap copy). */
    size_t largest = PMT__CHUNK_HEADER_SIZE + (bound > raw->used ? bound : raw->used);
    if (s->live.on && pmt__live_make_room(&s->live, s->offset, largest, live_gap(s)) != 0)
        leave_live(s); /* whole chunks only from now on, as without an area */
    if (s->live.on)    /* the area may have moved: so have its regions */
        use_live_regions(s);
    const unsigned char *payload = raw->data;
    size_t stored = raw->used;
    int codec = PMT_COMPRESS_NONE;
    if (bound && reserve(&s->packed, bound) == 0) {
        size_t n = pmt__codec_compress(s->codec, s->level, s->packed.data, s->packed.size,
                                       raw->data, raw->used);
        if (n > 0 && n < raw->used) { /* else stored raw: never larger than the records */
            payload = s->packed.data;
            stored = n;
            codec = s->codec;
        }
    }
    unsigned char header[PMT__CHUNK_HEADER_SIZE];
    pmt__put_u32(header, PMT__CHUNK_MAGIC);
    header[4] = type;
    header[5] = (unsigned char)codec;
    pmt__put_u16(header + 6, 0);
    pmt__put_u32(header + 8, (uint32_t)stored);
    pmt__put_u32(header + 12, (uint32_t)raw->used);
    pmt__put_u64(header + 16, first_seq);
    pmt__put_u64(header + 24, first_time);
    pmt__put_u64(header + 32, base_rss);
    pmt__put_u32(header + 40, records);
    uint32_t crc = pmt__crc32c(0, header, PMT__CHUNK_CRC_OFFSET);
    crc = pmt__crc32c(crc, payload, stored);
    pmt__put_u32(header + PMT__CHUNK_CRC_OFFSET, crc);
    if (remember_chunk(s, type, first_seq, first_time) != 0) {
        s->failed = 1;
        return -1;
    }
    struct iovec iov[2] = {{header, sizeof header}, {(void *)payload, stored}};
    return write_all(s, iov, 2);
}

static void put_field_bytes(byte_buffer *b, unsigned tag, const char *text, size_t len)
{
    if (reserve(b, 2 * PMT__VARINT_MAX + len) != 0)
        return;
    b->used += pmt__put_varint(b->data + b->used, tag);
    b->used += pmt__put_varint(b->data + b->used, len);
    memcpy(b->data + b->used, text, len);
    b->used += len;
}

static void put_field_string(byte_buffer *b, unsigned tag, const char *text)
{
    if (text)
        put_field_bytes(b, tag, text, strlen(text));
}

static void put_field_number(byte_buffer *b, unsigned tag, uint64_t value)
{
    unsigned char v[PMT__VARINT_MAX];
    size_t n = pmt__put_varint(v, value);
    put_field_bytes(b, tag, (const char *)v, n);
}

static int write_header(binary_sink *s, const pmt_run_info *info)
{
    byte_buffer h = {0};
    if (reserve(&h, PMT__FILE_FIXED_SIZE) != 0) {
        s->failed = 1;
        return -1;
    }
    h.used = PMT__FILE_FIXED_SIZE; /* the fixed part is filled in once the fields are known */
    /* The run's fields (format.h), each when the caller's run info has its member. */
#define COVERS(member)           (info->struct_size >= offsetof(pmt_run_info, member) + sizeof info->member)
#define SET_STRING(v)            ((v) && *(v))
#define SET_NUMBER(v)            ((v) != 0)
#define WANTED_ALWAYS(type, v)   1
#define WANTED_WHEN_SET(type, v) SET_##type(v)
#define PUT_STRING(tag, v)       put_field_string(&h, tag, v)
#define PUT_NUMBER(tag, v)       put_field_number(&h, tag, (uint64_t)(v))
#define WRITE_RUN_FIELD(name, tag, type, member, log, when)                                        \
    if (COVERS(member) && WANTED_##when(type, info->member))                                       \
        PUT_##type(PMT__TAG_##name, info->member);
    if (info) {
        PMT__RUN_HEADER_FIELDS(WRITE_RUN_FIELD)
    }
    const uint64_t clock_units = 1000000000u, compression = (uint64_t)s->codec;
    const char *message = s->message;
#define WRITE_SINK_FIELD(name, tag, type, member) PUT_##type(PMT__TAG_##name, member);
    PMT__SINK_HEADER_FIELDS(WRITE_SINK_FIELD)
#undef WRITE_SINK_FIELD
#undef WRITE_RUN_FIELD
#undef PUT_NUMBER
#undef PUT_STRING
#undef WANTED_WHEN_SET
#undef WANTED_ALWAYS
#undef SET_NUMBER
#undef SET_STRING
#undef COVERS
    int rc = -1;
    if (reserve(&h, 4) == 0) {
        memcpy(h.data, pmt__file_magic, PMT__FILE_MAGIC_SIZE);
        pmt__put_u16(h.data + 8, PMT__FORMAT_MAJOR);
        pmt__put_u16(h.data + 10, PMT__FORMAT_MINOR);
        pmt__put_u32(h.data + 12, PMT__BYTE_ORDER_CHECK);
        pmt__put_u32(h.data + 16, (uint32_t)(h.used - PMT__FILE_FIXED_SIZE));
        pmt__put_u32(h.data + h.used, pmt__crc32c(0, h.data, h.used));
        h.used += 4;
        struct iovec iov = {h.data, h.used};
        rc = write_all(s, &iov, 1);
    }
    free(h.data);
    s->header_written = 1;
    if (rc != 0)
        s->failed = 1;
    return rc;
}

/* Writes the pending names. Events that use them may still be pending: they are written later,
 * so names always precede their use in the file. */
static int write_dict(binary_sink *s)
{
    if (s->failed)
        return -1;
    if (s->dict.used) {
        if (write_chunk(s, PMT__CHUNK_DICT, &s->dict, s->dict_records, 0, 0, 0) != 0)
            return -1;
        s->dict.used = 0;
        s->dict_records = 0;
        if (s->live.on) /* in the file now: a reader that finds them twice keeps the first */
            pmt__live_commit_dict(&s->live, 0);
    }
    return 0;
}

/* Writes the pending names, then the pending events. */
static int flush_chunks(binary_sink *s)
{
    if (s->failed)
        return -1;
    if (!s->header_written && write_header(s, NULL) != 0)
        return -1;
    if (write_dict(s) != 0)
        return -1;
    if (s->chunk_open) {
        if (write_chunk(s, PMT__CHUNK_EVENTS, &s->events, s->event_records, s->first_seq,
                        s->first_time, s->base_rss) != 0)
            return -1;
        /* The summary, per chunk: within one, seq only grows (a step back starts a chunk). */
        s->seen = s->prev_seq + 1 > s->seen ? s->prev_seq + 1 : s->seen;
        s->written += s->event_records;
        s->last_time = s->prev_time;
        s->last_rss = s->event_rss; /* the next chunk's dRSS base, which samples leave alone */
        s->events.used = 0;
        s->event_records = 0;
        s->chunk_open = 0;
        s->events_chunks++;
        if (s->live.on)
            pmt__live_events_written(&s->live, s->events_chunks);
    }
    if (s->want_live && !s->live.on && !s->dict.used && !s->chunk_open)
        enter_live(s); /* back after a name too long for the area */
    return 0;
}

/* --- interning ------------------------------------------------------------------------------ */

/* The stored length of a name: whole, or cut at MAX_NAME_BYTES on a UTF-8 character boundary. */
static size_t name_length(const char *text)
{
    size_t len = strnlen(text, MAX_NAME_BYTES + 1);
    if (len <= MAX_NAME_BYTES)
        return len;
    len = MAX_NAME_BYTES;
    while (len > 0 && ((unsigned char)text[len] & 0xC0) == 0x80)
        len--;
    return len;
}

/* Room for a DICT record of up to `need` bytes; the pending names are written first when the
 * chunk would outgrow chunk_bytes (a reader refuses chunks over 16 MiB). */
static int make_room_in_dict(binary_sink *s, size_t need)
{
    if (s->live.on) {
        /* The region is fixed: the pending chunks go out first (names, then the events that use
         * them, so that the area never holds events whose names a reader lacks). A record
         * larger than the region leaves the area for good: such names are rare. */
        if (s->dict.used + need <= s->chunk_bytes)
            return 0;
        if (flush_chunks(s) != 0)
            return -1;
        if (need <= s->chunk_bytes)
            return 0;
        leave_live(s); /* until the next chunks are out (flush_chunks comes back) */
    }
    if (s->dict.used && s->dict.used + need > s->chunk_bytes && write_dict(s) != 0)
        return -1;
    return reserve(&s->dict, need);
}

static int grow_strings(binary_sink *s)
{
    size_t cap = s->string_capacity ? s->string_capacity * 2 : 1024;
    string_slot *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < s->string_capacity; i++) {
        string_slot e = s->strings[i];
        if (!e.id_plus_one)
            continue;
        size_t j = hash_ptr(e.text, 0) & (cap - 1);
        while (slots[j].id_plus_one)
            j = (j + 1) & (cap - 1);
        slots[j] = e;
    }
    free(s->strings);
    s->strings = slots;
    s->string_capacity = cap;
    return 0;
}

/* Id of a string, defining it in the pending DICT chunk the first time. -1: out of memory. */
static int64_t string_id(binary_sink *s, const char *text)
{
    if ((s->string_count + 1) * 2 > s->string_capacity && grow_strings(s) != 0)
        return -1;
    size_t mask = s->string_capacity - 1, i = hash_ptr(text, 0) & mask;
    for (; s->strings[i].id_plus_one; i = (i + 1) & mask)
        if (s->strings[i].text == text)
            return s->strings[i].id_plus_one - 1;
    size_t len = name_length(text);
    if (make_room_in_dict(s, 1 + 2 * PMT__VARINT_MAX + len) != 0)
        return -1;
    uint32_t id = (uint32_t)s->string_count;
    unsigned char body[PMT__VARINT_MAX];
    size_t id_len = pmt__put_varint(body, id);
    byte_buffer *d = &s->dict;
    d->data[d->used++] = PMT__DICT_STRING;
    d->used += pmt__put_varint(d->data + d->used, id_len + len);
    memcpy(d->data + d->used, body, id_len);
    d->used += id_len;
    memcpy(d->data + d->used, text, len);
    d->used += len;
    s->dict_records++;
    if (s->live.on)
        pmt__live_commit_dict(&s->live, (uint32_t)d->used);
    s->strings[i] = (string_slot){text, id + 1};
    s->string_count++;
    return id;
}

static int grow_locations(binary_sink *s)
{
    size_t cap = s->location_capacity ? s->location_capacity * 2 : 1024;
    unsigned shift = s->location_capacity ? s->location_shift - 1 : 64 - 10;
    location_slot *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t id = 0; id < s->location_count; id++) {
        const location_key *k = &s->location_keys[id];
        uint64_t h = hash_key(k->file, k->function, k->line);
        size_t j = (size_t)(h >> shift);
        while (slots[j].id_plus_one)
            j = (j + 1) & (cap - 1);
        slots[j] = (location_slot){(uint32_t)h, (uint32_t)id + 1};
    }
    free(s->locations);
    s->locations = slots;
    s->location_capacity = cap;
    s->location_shift = shift;
    return 0;
}

/* Defines a location (and its names) in the pending DICT chunk, at slot i of the table. */
static PMT__NOINLINE int64_t define_location(binary_sink *s, size_t i, uint32_t tag,
                                             const char *file, const char *function, int32_t line)
{
    if (s->location_count == s->location_keys_size) {
        size_t size = s->location_keys_size ? s->location_keys_size * 2 : 256;
        location_key *grown = realloc(s->location_keys, size * sizeof *grown);
        if (!grown)
            return -1;
        s->location_keys = grown;
        s->location_keys_size = size;
    }
    int64_t file_id = string_id(s, file), function_id = string_id(s, function);
    if (file_id < 0 || function_id < 0 || make_room_in_dict(s, 2 + 5 * PMT__VARINT_MAX) != 0)
        return -1;
    uint32_t id = (uint32_t)s->location_count;
    unsigned char body[4 * PMT__VARINT_MAX];
    size_t n = pmt__put_varint(body, id);
    n += pmt__put_varint(body + n, (uint64_t)file_id);
    n += pmt__put_varint(body + n, (uint64_t)function_id);
    n += pmt__put_varint(body + n, pmt__zigzag(line));
    byte_buffer *d = &s->dict;
    d->data[d->used++] = PMT__DICT_LOCATION;
    d->used += pmt__put_varint(d->data + d->used, n);
    memcpy(d->data + d->used, body, n);
    d->used += n;
    s->dict_records++;
    if (s->live.on)
        pmt__live_commit_dict(&s->live, (uint32_t)d->used);
    s->location_keys[id] = (location_key){file, function, line};
    s->locations[i] = (location_slot){tag, id + 1};
    s->location_count++;
    return id;
}

/* The hot part of interning: one probe in the common case (the table is at most a quarter full).
 * -1: out of memory. */
static inline int64_t location_lookup(binary_sink *s, const char *file, const char *function,
                                      int32_t line);

static inline int64_t location_id(binary_sink *s, const char *file, const char *function,
                                  int32_t line)
{
    /* A run of events at one place (allocations between two calls) asks nothing more. */
    if (file == s->recent_file && function == s->recent_function && line == s->recent_line &&
        s->recent_id >= 0)
        return s->recent_id;
    int64_t id = location_lookup(s, file, function, line);
    s->recent_file = file;
    s->recent_function = function;
    s->recent_line = line;
    s->recent_id = id;
    return id;
}

static inline int64_t location_lookup(binary_sink *s, const char *file, const char *function,
                                      int32_t line)
{
    if (PMT__UNLIKELY((s->location_count + 1) * 4 > s->location_capacity) && grow_locations(s) != 0)
        return -1;
    uint64_t h = hash_key(file, function, line);
    uint32_t tag = (uint32_t)h;
    size_t mask = s->location_capacity - 1, i = (size_t)(h >> s->location_shift);
    for (; s->locations[i].id_plus_one; i = (i + 1) & mask) {
        if (s->locations[i].tag != tag)
            continue;
        const location_key *k = &s->location_keys[s->locations[i].id_plus_one - 1];
        if (k->file == file && k->function == function && k->line == line)
            return s->locations[i].id_plus_one - 1;
    }
    return define_location(s, i, tag, file, function, line);
}

/* --- events ---------------------------------------------------------------------------------- */

static void put_thread(binary_sink *s, uint64_t thread)
{
    byte_buffer *e = &s->events;
    e->data[e->used++] = PMT__REC_THREAD;
    e->used += pmt__put_varint(e->data + e->used, thread);
    s->thread = thread;
}

static void open_chunk(binary_sink *s, const pmt_event *ev)
{
    s->chunk_open = 1;
    s->first_seq = ev->seq;
    s->first_time = ev->time_ns;
    s->base_rss = s->last_rss;
    s->prev_seq = ev->seq - 1;
    s->prev_time = ev->time_ns;
    s->prev_rss = s->last_rss;
    s->prev_depth = 0;
    s->prev_address = 0;
    s->prev_object = 0;
    s->opened_at = ev->time_ns;
    s->chunk_site = s->chunk_node = 0;
    if (s->live.on)
        pmt__live_start_events(&s->live, s->events_chunks, s->first_seq, s->first_time,
                               s->base_rss);
    put_thread(s, ev->thread_id);
}

/* The calls context record: the user site and call path of the events that follow. */
static void put_context(binary_sink *s, uint64_t site, uint64_t node)
{
    unsigned char body[2 * PMT__VARINT_MAX];
    size_t n = pmt__put_varint(body, site);
    n += pmt__put_varint(body + n, node);
    byte_buffer *e = &s->events;
    e->data[e->used++] = PMT__REC_EXTENSION;
    e->used += pmt__put_varint(e->data + e->used, PMT__EXT_CALLS_CONTEXT);
    e->used += pmt__put_varint(e->data + e->used, n);
    memcpy(e->data + e->used, body, n);
    e->used += n;
    s->chunk_site = site;
    s->chunk_node = node;
}

/* 64-bit FNV-1a: content hash of a caller's name. */
static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 0xCBF29CE484222325u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 0x100000001B3u;
    return h;
}

static int grow_names(binary_sink *s)
{
    size_t cap = s->name_capacity ? s->name_capacity * 2 : 256;
    name_entry *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < s->name_capacity; i++) {
        if (!s->names[i].copy)
            continue;
        size_t j = (size_t)s->names[i].hash & (cap - 1);
        while (slots[j].copy)
            j = (j + 1) & (cap - 1);
        slots[j] = s->names[i];
    }
    free(s->names);
    s->names = slots;
    s->name_capacity = cap;
    return 0;
}

/* The sink's own copy of a name given with pmt_sink_write(): the same pointer for the same text,
 * valid until the sink is closed, whatever the caller does with its buffer afterwards. A pointer
 * seen before costs one probe and one strcmp. NULL (which no event should carry) is "". */
static const char *own_name(binary_sink *s, const char *text)
{
    if (!text)
        text = "";
    if (!s->name_cache && !(s->name_cache = calloc(NAME_CACHE_SIZE, sizeof *s->name_cache)))
        return NULL;
    name_cache_slot *slot = &s->name_cache[hash_ptr(text, 1) & (NAME_CACHE_SIZE - 1)];
    if (slot->ptr == text && strcmp(slot->copy, text) == 0)
        return slot->copy;
    if ((s->name_count + 1) * 2 > s->name_capacity && grow_names(s) != 0)
        return NULL;
    size_t len = strlen(text);
    uint64_t h = hash_bytes(text, len);
    size_t mask = s->name_capacity - 1, i = (size_t)h & mask;
    for (; s->names[i].copy; i = (i + 1) & mask)
        if (s->names[i].hash == h && strcmp(s->names[i].copy, text) == 0)
            break;
    if (!s->names[i].copy) {
        char *copy = malloc(len + 1);
        if (!copy)
            return NULL;
        memcpy(copy, text, len + 1);
        s->names[i] = (name_entry){h, copy};
        s->name_count++;
    }
    *slot = (name_cache_slot){text, s->names[i].copy};
    return slot->copy;
}

/* Where a record cannot simply follow the previous one: no chunk is open, the thread changed,
 * or the seq gap is too large for a record (or seq went back), which starts a chunk: the chunk
 * header holds the first seq whole. */
static PMT__NOINLINE int chunk_boundary(binary_sink *s, const pmt_event *ev)
{
    if (s->chunk_open && ev->seq - s->prev_seq - 1 > PMT__MAX_SEQ_GAP && flush_chunks(s) != 0)
        return -1;
    if (!s->chunk_open)
        open_chunk(s, ev);
    else if (ev->thread_id != s->thread)
        put_thread(s, ev->thread_id);
    return 0;
}

/* Does the event carry the allocation fields (an event of an older caller may not)? */
static inline int has_allocation(const pmt_event *ev)
{
    return ev->struct_size >= offsetof(pmt_event, old_size) + sizeof ev->old_size;
}

/* An allocation record's own fields (format.h): about 4 bytes for a small block near the last. */
static inline unsigned char *put_allocation(binary_sink *s, unsigned char *p, const pmt_event *ev,
                                            unsigned kind_of_record)
{
    static const pmt_event none = {0};
    if (PMT__UNLIKELY(!has_allocation(ev)))
        ev = &none; /* an older caller's event: an allocation of nothing, at 0 */
    p += pmt__put_varint(p, ev->size << PMT__ALLOCATOR_BITS | (ev->allocator & 7u));
    p += pmt__put_varint(p, pmt__address_step(ev->address, s->prev_address));
    s->prev_address = ev->address;
    if ((kind_of_record) == PMT_EV_REALLOC) {
        p += pmt__put_varint(p, pmt__address_step(ev->old_address, ev->address));
        p += pmt__put_varint(p, ev->old_size);
    }
    return p;
}

/* A garbage collection record's own fields (format.h). */
static unsigned char *put_gc(unsigned char *p, const pmt_event *ev)
{
    int covered =
        ev->struct_size >= offsetof(pmt_event, gc_duration_ns) + sizeof ev->gc_duration_ns;
    p += pmt__put_varint(p, covered ? (uint64_t)(uint32_t)ev->gc_generation : 0);
    p += pmt__put_varint(p, covered ? ev->gc_collected : 0);
    p += pmt__put_varint(p, covered ? ev->gc_uncollectable : 0);
    p += pmt__put_varint(p, covered ? ev->gc_duration_ns : 0);
    return p;
}

/* Does the event carry the object fields (an event of an older caller may not)? */
static inline int has_object(const pmt_event *ev)
{
    return ev->struct_size >= offsetof(pmt_event, type_destroyed) + sizeof ev->type_destroyed;
}

/* An object record's own fields (format.h); name: the type name's string id, -1 for none. */
static unsigned char *put_object(binary_sink *s, unsigned char *p, const pmt_event *ev,
                                 int64_t name)
{
    p += pmt__put_varint(p, (uint64_t)(name + 1));
    int covered = has_object(ev);
    if (ev->kind == PMT_EV_OBJECT_COUNT) {
        p += pmt__put_varint(p, covered ? ev->type_created : 0);
        p += pmt__put_varint(p, covered ? ev->type_destroyed : 0);
    } else {
        p += pmt__put_varint(p, pmt__address_step(ev->address, s->prev_object));
        s->prev_object = ev->address;
        p += pmt__put_varint(p, pmt__zigzag(covered ? ev->type_live : 0));
    }
    return p;
}

/* The monitor's sample of a PMT_EV_SAMPLE event, or NULL (an older caller's event). */
static inline const pmt_sample *sample_of(const pmt_event *ev)
{
    return ev->struct_size >= offsetof(pmt_event, sample) + sizeof ev->sample ? ev->sample : NULL;
}

/* A sample record's own fields (format.h); label: its string id, -1 for none. */
static unsigned char *put_sample(unsigned char *p, const pmt_event *ev, int64_t label)
{
    static const pmt_sample none = {.struct_size = sizeof none, .cgroup_max = UINT64_MAX};
    const pmt_sample *given = sample_of(ev);
    pmt_sample sample = none;
    if (given) /* the fields the caller's version has */
        memcpy(&sample, given,
               given->struct_size < sizeof sample ? given->struct_size : sizeof sample);
    p += pmt__put_varint(p, (uint64_t)(label + 1));
    p += pmt__put_varint(p, given ? sample.seq : 0);
    p += pmt__put_varint(p, given ? pmt__zigzag((int64_t)(ev->time_ns - sample.time_ns)) : 0);
    const uint64_t fields[] = {sample.realtime_ns,    sample.peak_rss,      sample.minor_faults,
                               sample.major_faults,   sample.user_cpu_ns,   sample.system_cpu_ns,
                               sample.rss_anon,       sample.rss_file,      sample.rss_shmem,
                               sample.cgroup_current, sample.cgroup_max + 1};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        p += pmt__put_varint(p, fields[i]);
    return p;
}

/* Appends the record of an event whose location (and message) ids are known. The events buffer
 * always has room for a thread record and an event record: a chunk is written as soon as the
 * next ones might not fit. */
static PMT__HOT_INLINE int put_event(binary_sink *s, const pmt_event *ev, uint64_t location,
                                     int64_t message, uint64_t site, uint64_t node)
{
    if (PMT__UNLIKELY(!s->chunk_open || ev->thread_id != s->thread ||
                      ev->seq - s->prev_seq - 1 > PMT__MAX_SEQ_GAP) &&
        chunk_boundary(s, ev) != 0)
        return -1;
    if (PMT__UNLIKELY(site != s->chunk_site || node != s->chunk_node))
        put_context(s, site, node);
    byte_buffer *e = &s->events;
    unsigned char *p = e->data + e->used;
    unsigned char *h = p++;
    unsigned kind = ev->kind < PMT__REC_KIND_ESCAPE ? ev->kind : PMT__REC_KIND_ESCAPE;
    if (PMT__UNLIKELY(kind == PMT__REC_KIND_ESCAPE))
        p += pmt__put_varint(p, ev->kind - PMT__REC_KIND_ESCAPE);
    uint64_t gap = ev->seq - s->prev_seq - 1;
    unsigned reason = ev->reason & ((1u << PMT__REASON_BITS) - 1);
    if (gap != 0 || reason != pmt__default_reason(ev->kind)) {
        kind |= PMT__REC_SEQ_REASON;
        p += pmt__put_varint(p, gap << PMT__REASON_BITS | reason);
    }
    p += pmt__put_varint(p, ev->time_ns - s->prev_time);
    p += pmt__put_varint(p, location);
    s->last_location = location;
    /* Calls and returns alternate unpredictably: the depth code without a branch. zigzag maps
     * 0, -1, +1 to 0, 1, 2; a 2-bit table maps those to SAME, DOWN, UP. */
    uint64_t step = pmt__zigzag((int64_t)ev->depth - s->prev_depth);
    unsigned depth_code = step < 3 ? (unsigned)(DEPTH_CODES >> (2 * step)) & 3u : PMT__DEPTH_VARINT;
    kind |= depth_code << PMT__REC_DEPTH_SHIFT;
    if (PMT__UNLIKELY(depth_code == PMT__DEPTH_VARINT))
        p += pmt__put_varint(p, step);
    if (ev->rss != s->prev_rss) {
        kind |= PMT__REC_RSS_CHANGED;
        p += pmt__put_varint(p, pmt__zigzag((int64_t)(ev->rss - s->prev_rss)));
        s->prev_rss = ev->rss;
        s->peak_rss = ev->rss > s->peak_rss ? ev->rss : s->peak_rss; /* changes only here */
    }
    if (ev->kind != PMT_EV_SAMPLE)
        s->event_rss = ev->rss;
    if ((kind & 0x0F) == PMT_EV_MARK)
        p += pmt__put_varint(p, (uint64_t)(message + 1));
    else if (pmt__is_alloc_kind(kind & 0x0F))
        p = put_allocation(s, p, ev, kind & 0x0Fu);
    else if (PMT__UNLIKELY(pmt__is_gc_kind(ev->kind)))
        p = put_gc(p, ev);
    else if (PMT__UNLIKELY(pmt__is_object_kind(ev->kind)))
        p = put_object(s, p, ev, message); /* message: the type name's id */
    else if (PMT__UNLIKELY(ev->kind == PMT_EV_SAMPLE))
        p = put_sample(p, ev, message); /* message: the label's id */
    *h = (unsigned char)kind;
    e->used = (size_t)(p - e->data);
    s->event_records++;
    /* The record (and the thread and context ones before it) is in the file: the live area's
     * commit word, or a word of the sink's own when there is no area (no branch). */
    __atomic_store_n(s->events_commit, (uint32_t)e->used, __ATOMIC_RELEASE);
    s->prev_seq = ev->seq;
    s->prev_time = ev->time_ns;
    s->prev_depth = ev->depth;
    if (e->used > s->full_at || ev->time_ns - s->opened_at >= s->flush_interval_ns ||
        ev->kind == PMT_EV_MARK || ev->reason == PMT_REASON_LAST)
        return flush_chunks(s);
    return 0;
}

/* Does the event carry the calls context (an event of an older caller may not)? */
static inline int has_context(const pmt_event *ev)
{
    return ev->struct_size >= offsetof(pmt_event, call_node) + sizeof ev->call_node;
}

/* The user site's code in a context record (see binary_sink.chunk_site); -1: out of memory. A
 * site that is the event's own location, the common case in the user's code, costs no lookup. */
static PMT__NOINLINE int64_t site_code(binary_sink *s, const pmt_event *ev, const char *file,
                                       const char *function, const char *ev_file,
                                       const char *ev_function)
{
    if (!file || !file[0])
        return 0;
    if (file == ev_file && function == ev_function && ev->user_line == ev->line)
        return 1;
    if (file != s->site_file || function != s->site_function || ev->user_line != s->site_line) {
        int64_t id = location_id(s, file, function, ev->user_line);
        if (id < 0)
            return -1;
        s->site_file = file;
        s->site_function = function;
        s->site_line = ev->user_line;
        s->site_id_plus_two = (uint64_t)id + 2;
    }
    return (int64_t)s->site_id_plus_two;
}

/* Events given with pmt_sink_write(), and marks: names copied or checked, then the record. */
static PMT__NOINLINE int write_slow(binary_sink *s, const pmt_event *ev)
{
    const char *file = ev->file, *function = ev->function;
    int object = pmt__is_object_kind(ev->kind) && has_object(ev);
    const char *text = ev->kind == PMT_EV_MARK || ev->kind == PMT_EV_SAMPLE ? ev->message
                       : object ? (ev->type_name ? ev->type_name : "")
                                : NULL;
    int context = has_context(ev);
    const char *user_file = context ? ev->user_file : NULL;
    const char *user_function = context ? ev->user_function : NULL;
    if (!s->names_live) {
        /* A tracer's names live as long as it does and are identified by address; a caller's
         * may be reused buffers. */
        file = own_name(s, file);
        function = own_name(s, function);
        text = text ? own_name(s, text) : NULL;
        if (user_file && user_file[0]) {
            user_file = own_name(s, user_file);
            user_function = own_name(s, user_function);
            if (!user_file || !user_function) {
                s->failed = 1;
                return -1;
            }
        }
        if (!file || !function ||
            ((ev->kind == PMT_EV_MARK || ev->kind == PMT_EV_SAMPLE) && ev->message && !text) ||
            (object && !text)) {
            s->failed = 1;
            return -1;
        }
    }
    int64_t location = location_id(s, file, function, ev->line);
    int64_t message = text ? string_id(s, text) : -1; /* stored as id + 1; 0: no text */
    int64_t site = site_code(s, ev, user_file, user_function, file, function);
    if (location < 0 || (text && message < 0) || site < 0) {
        s->failed = 1;
        return -1;
    }
    return put_event(s, ev, (uint64_t)location, message, (uint64_t)site,
                     context ? ev->call_node : 0);
}

static int write_body(binary_sink *s, const pmt_event *ev);

/* While busy, a fatal signal leaves the log as it is: its state is half changed. The signal
 * fences keep the compiler from moving the writer's stores across them (they cost nothing). */
static inline void set_busy(binary_sink *s, int busy)
{
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    s->busy = busy;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static int binary_write(const pmt_event *ev, void *user_data)
{
    binary_sink *s = user_data;
    set_busy(s, 1);
    int rc = write_body(s, ev);
    set_busy(s, 0);
    return rc;
}

static int write_body(binary_sink *s, const pmt_event *ev)
{
    if (PMT__UNLIKELY(s->failed))
        return -1;
    if (PMT__UNLIKELY(!s->names_live || ev->kind == PMT_EV_MARK || !has_context(ev) ||
                      pmt__is_object_kind(ev->kind) || ev->kind == PMT_EV_SAMPLE))
        return write_slow(s, ev);
    int64_t location = location_id(s, ev->file, ev->function, ev->line);
    /* The user's own code: its site is the event itself. */
    int64_t site =
        ev->user_file == ev->file && ev->user_function == ev->function && ev->user_line == ev->line
            ? 1
            : site_code(s, ev, ev->user_file, ev->user_function, ev->file, ev->function);
    if (PMT__UNLIKELY(location < 0 || site < 0)) {
        s->failed = 1;
        return -1;
    }
    return put_event(s, ev, (uint64_t)location, -1, (uint64_t)site, ev->call_node);
}

/* Events in EVENTS chunks written whole to the file. */
static uint64_t binary_stored(void *user_data)
{
    const binary_sink *s = user_data;
    /* A live area's events are in the file already: the kernel keeps its pages. */
    return s->written + (s->live.on ? s->event_records : 0);
}

/* The largest write between two moves of the area: a DICT and an EVENTS chunk (a larger one,
 * a CALLS or INDEX chunk, moves it first). */
static size_t live_gap(const binary_sink *s)
{
    return 2 * PMT__CHUNK_HEADER_SIZE + s->heap_dict.size + s->heap_events.size;
}

/* The writer's buffers are the live area's regions (after it was mapped or moved). */
static void use_live_regions(binary_sink *s)
{
    s->dict.data = pmt__live_dict(&s->live);
    s->events.data = pmt__live_events(&s->live);
    s->events_commit = (uint32_t *)(void *)(s->live.map + PMT__LIVE_EVENTS_USED);
}

/* Pending records to the live area, whose regions replace the heap buffers. On failure (no
 * room on the disk, a file system without fallocate) the writer goes on without it. */
static void enter_live(binary_sink *s)
{
    if (s->live.on || s->file.fd < 0 || getenv("PYMEMTRACE_NO_LIVE_AREA"))
        return;
    size_t dict_cap = s->chunk_bytes + 2 * RECORD_MAX;
    if (reserve(&s->dict, dict_cap) != 0)
        return;
    s->heap_events = s->events;
    s->heap_dict = s->dict;
    if (pmt__live_open(&s->live, s->file.fd, s->offset, live_gap(s), (uint32_t)dict_cap,
                       (uint32_t)s->events.size) != 0) {
        s->want_live = 0; /* not here (no room, no fallocate, no mapping): whole chunks only */
        /* Its allocated zeros go; if they cannot, readers stop at them as at a cut. */
        (void)!ftruncate(s->file.fd, (off_t)s->offset);
        return;
    }
    memcpy(pmt__live_dict(&s->live), s->dict.data, s->dict.used);
    memcpy(pmt__live_events(&s->live), s->events.data, s->events.used);
    s->dict.size = dict_cap;
    use_live_regions(s);
    if (s->chunk_open)
        pmt__live_start_events(&s->live, s->events_chunks, s->first_seq, s->first_time,
                               s->base_rss);
    else
        pmt__live_events_written(&s->live, s->events_chunks);
    pmt__live_commit_dict(&s->live, (uint32_t)s->dict.used);
    pmt__live_commit_events(&s->live, (uint32_t)s->events.used);
    prepare_fatal(s);
}

/* From the fatal-signal handler (fatal.h): async-signal-safe calls and the sink's memory only.
 * A MARK after the last event, at its place, naming the signal, unless the writer was busy or
 * has no open chunk in its live area (right after a chunk went out: then the log ends at its
 * last event, as after SIGKILL). */
static void fatal_record(void *sink, int which, uint64_t thread)
{
    binary_sink *s = sink;
    if (s->busy || !s->live.on || !s->chunk_open || s->failed)
        return;
    byte_buffer *e = &s->events;
    if (s->fatal_ids[which] < 0 || e->used + 2 * RECORD_MAX > e->size)
        return;
    if (thread != s->thread)
        put_thread(s, thread);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    unsigned char *p = e->data + e->used;
    *p++ = (unsigned char)(PMT_EV_MARK | PMT__REC_SEQ_REASON); /* depth and RSS as before */
    p += pmt__put_varint(p, PMT_REASON_MESSAGE);               /* seq: the last one's + 1 */
    p += pmt__put_varint(p, now > s->prev_time ? now - s->prev_time : 0);
    p += pmt__put_varint(p, s->last_location);
    p += pmt__put_varint(p, (uint64_t)s->fatal_ids[which] + 1);
    e->used = (size_t)(p - e->data);
    __atomic_store_n(s->events_commit, (uint32_t)e->used, __ATOMIC_RELEASE);
}

/* The fatal messages in the dictionary, and the sink in the handler's table. */
static void prepare_fatal(binary_sink *s)
{
    if (s->fatal_registered)
        return;
    for (int i = 0; i < PMT__FATAL_SIGNALS; i++)
        s->fatal_ids[i] = string_id(s, pmt__fatal_messages[i]);
    s->fatal_registered = pmt__fatal_register(s, fatal_record) == 0;
}

static void forget_fatal(binary_sink *s)
{
    if (s->fatal_registered)
        pmt__fatal_unregister(s);
    s->fatal_registered = 0;
}

/* The area left as it is, unmapped without a store: a child of fork's copy of the parent's, or
 * a failed log's (readers recover its events). The heap buffers take over. */
static void drop_live(binary_sink *s)
{
    forget_fatal(s);
    if (!s->live.on)
        return;
    pmt__live_forget(&s->live);
    s->dict = s->heap_dict;
    s->events = s->heap_events;
    s->events_commit = &s->no_commit;
}

/* Back to the heap buffers, the pending records with them; the area is unmapped. */
static void leave_live(binary_sink *s)
{
    forget_fatal(s);
    if (!s->live.on)
        return;
    memcpy(s->heap_dict.data, s->dict.data, s->dict.used);
    memcpy(s->heap_events.data, s->events.data, s->events.used);
    s->heap_dict.used = s->dict.used;
    s->heap_events.used = s->events.used;
    s->dict = s->heap_dict;
    s->events = s->heap_events;
    s->events_commit = &s->no_commit;
    pmt__live_close(&s->live);
}

static int binary_begin(const pmt_run_info *info, void *user_data)
{
    binary_sink *s = user_data;
    if (s->failed)
        return -1;
    s->names_live = 1;
    if (!s->header_written && write_header(s, info) != 0)
        return -1;
    s->want_live = 1;
    set_busy(s, 1);
    enter_live(s);
    set_busy(s, 0);
    return 0;
}

static int binary_flush(void *user_data)
{
    binary_sink *s = user_data;
    set_busy(s, 1);
    int rc = flush_chunks(s);
    set_busy(s, 0);
    return rc;
}

/* The INDEX chunk and the trailer: what makes the log whole. 0, or -1 (the sink has failed). */
static int write_index(binary_sink *s)
{
    if (s->failed)
        return -1;
    byte_buffer raw = {0};
    if (reserve(&raw, (s->index_count + 1) * (1 + 3 * PMT__VARINT_MAX) + 4 * PMT__VARINT_MAX) !=
        0) {
        s->failed = 1;
        return -1;
    }
    raw.used += pmt__put_varint(raw.data, s->index_count);
    for (size_t i = 0; i < s->index_count; i++) {
        raw.data[raw.used++] = s->index[i].type;
        raw.used += pmt__put_varint(raw.data + raw.used, s->index[i].offset);
        raw.used += pmt__put_varint(raw.data + raw.used, s->index[i].first_seq);
        raw.used += pmt__put_varint(raw.data + raw.used, s->index[i].first_time);
    }
    raw.used += pmt__put_varint(raw.data + raw.used, s->seen);
    raw.used += pmt__put_varint(raw.data + raw.used, s->written);
    raw.used += pmt__put_varint(raw.data + raw.used, s->peak_rss);
    raw.used += pmt__put_varint(raw.data + raw.used, s->last_time);
    uint64_t index_offset = s->offset;
    uint32_t count = (uint32_t)s->index_count;
    int rc = write_chunk(s, PMT__CHUNK_INDEX, &raw, count, 0, 0, 0);
    if (rc == 0) {
        unsigned char trailer[PMT__TRAILER_SIZE];
        pmt__put_u32(trailer, PMT__TRAILER_MAGIC);
        pmt__put_u32(trailer + 4, 0);
        pmt__put_u64(trailer + 8, index_offset);
        pmt__put_u32(trailer + 16, pmt__crc32c(0, trailer, 16));
        pmt__put_u32(trailer + 20, 0);
        struct iovec iov = {trailer, sizeof trailer};
        rc = write_all(s, &iov, 1);
    }
    free(raw.data);
    return rc;
}

/* The end of the log: the pending chunks, the index and the trailer, once. A failure (errno
 * set by the write) is reported to whoever closes the sink. */
static int finish_body(binary_sink *s);

static int binary_finish(void *user_data)
{
    binary_sink *s = user_data;
    set_busy(s, 1);
    int rc = finish_body(s);
    set_busy(s, 0);
    return rc;
}

static int finish_body(binary_sink *s)
{
    if (s->finished)
        return s->failed ? -1 : 0;
    s->finished = 1;
    if (flush_chunks(s) != 0)
        return -1;
    s->want_live = 0;
    leave_live(s); /* empty now: the index and trailer end the file */
    if (write_index(s) != 0)
        return -1;
    /* The area's pages past the trailer go (if they cannot, readers stop at the trailer). */
    if (s->file.fd >= 0)
        (void)!ftruncate(s->file.fd, (off_t)s->offset);
    return 0;
}

static void binary_close(void *user_data)
{
    binary_sink *s = user_data;
    if (!s->finished) /* finish is skipped for a sink that failed: nothing more is written */
        binary_finish(s);
    if (s->failed) /* the file could not take its chunks (a full disk): the area keeps them */
        drop_live(s);
    leave_live(s);
    pmt__log_file_close(&s->file);
    free(s->events.data);
    free(s->dict.data);
    free(s->packed.data);
    free(s->locations);
    free(s->location_keys);
    free(s->strings);
    for (size_t i = 0; i < s->name_capacity; i++)
        free(s->names[i].copy);
    free(s->names);
    free(s->name_cache);
    free(s->index);
    free(s->message);
    free(s);
}

/* In a child of fork: the pending chunks and the file are the parent's. */
static void binary_forget(void *user_data)
{
    binary_sink *s = user_data;
    s->want_live = 0;
    drop_live(s); /* the parent's pages: unmapped here, untouched */
    s->events.used = 0;
    s->dict.used = 0;
    s->chunk_open = 0;
    s->failed = 1;
    s->finished = 1; /* close must not write an index */
    s->names_live = 0;
    pmt__log_file_forget(&s->file);
}

/* A following child's own log: a new file whose DICT chunks define every name again, its header
 * written at begin with the child's run. The tables keep their memory, emptied. */
static int binary_reopen(int64_t child_pid, void *user_data)
{
    binary_sink *s = user_data;
    if (pmt__log_file_reopen_child(&s->file, child_pid, ".pmt") != PMT_OK)
        return -1;
    s->failed = 0;
    s->finished = 0;
    s->header_written = 0;
    s->offset = 0;
    s->event_records = s->dict_records = 0;
    s->last_rss = s->event_rss = 0;
    if (s->locations)
        memset(s->locations, 0, s->location_capacity * sizeof *s->locations);
    s->location_count = 0;
    s->recent_id = -1;
    s->site_file = s->site_function = NULL; /* its id was the parent's log's */
    if (s->strings)
        memset(s->strings, 0, s->string_capacity * sizeof *s->strings);
    s->string_count = 0;
    s->index_count = 0;
    s->seen = s->written = s->peak_rss = s->last_time = 0;
    s->events_chunks = 0;
    return 0;
}

static const char *binary_path(void *user_data)
{
    return ((binary_sink *)user_data)->file.path;
}

/* The tracer's call aggregation, at stop: a CALLS chunk after the last events. Each row's place
 * is a location of the dictionary (defined first), then its figures. */
static int call_stats_body(binary_sink *s, const pmt_call_stats *rows, size_t count);

static int binary_call_stats(const pmt_call_stats *rows, size_t count, void *user_data)
{
    binary_sink *s = user_data;
    set_busy(s, 1);
    int rc = call_stats_body(s, rows, count);
    set_busy(s, 0);
    return rc;
}

static int call_stats_body(binary_sink *s, const pmt_call_stats *rows, size_t count)
{
    if (s->failed)
        return -1;
    if (!s->names_live || count == 0)
        return 0; /* names of a caller's buffers: no location to give them */
    byte_buffer raw = {0};
    if (reserve(&raw, PMT__VARINT_MAX + count * 8 * PMT__VARINT_MAX) != 0) {
        s->failed = 1;
        return -1;
    }
    raw.used += pmt__put_varint(raw.data, count);
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        const pmt_call_stats *r = &rows[i];
        int64_t location = location_id(s, r->file, r->function, r->line);
        if (location < 0) {
            rc = -1;
            break;
        }
        unsigned char *p = raw.data + raw.used;
        p += pmt__put_varint(p, r->parent);
        p += pmt__put_varint(p, (uint64_t)location);
        p += pmt__put_varint(p, r->flags);
        p += pmt__put_varint(p, r->calls);
        p += pmt__put_varint(p, pmt__zigzag(r->total));
        p += pmt__put_varint(p, pmt__zigzag(r->own));
        p += pmt__put_varint(p, pmt__zigzag(r->largest));
        p += pmt__put_varint(p, r->peak_rss);
        raw.used = (size_t)(p - raw.data);
    }
    /* The pending events and names first: every location the rows use is defined before. */
    if (rc == 0 && flush_chunks(s) == 0)
        rc = write_chunk(s, PMT__CHUNK_CALLS, &raw, (uint32_t)count, 0, 0, 0);
    else
        rc = -1;
    free(raw.data);
    if (rc != 0)
        s->failed = 1;
    return rc;
}

static int read_options(binary_sink *s, const pmt_binary_options *options)
{
    pmt_binary_options o = PMT_BINARY_OPTIONS_INIT;
    int rc = options ? PMT__STRUCT_COPY(&o, options, offsetof(pmt_binary_options, level),
                                        "pmt_binary_options")
                     : PMT_OK;
    if (rc != PMT_OK)
        return rc;
    if (!pmt_compression_supported((int)o.compression))
        return pmt__fail(o.compression <= PMT_COMPRESS_LZ4 ? PMT_ENOTSUP : PMT_EINVAL,
                         "compression %u is not available in this build", o.compression);
    if (o.chunk_bytes && (o.chunk_bytes < MIN_CHUNK_BYTES || o.chunk_bytes > MAX_CHUNK_BYTES))
        return pmt__fail(PMT_EINVAL, "chunk_bytes %u is outside [%d, %d]", o.chunk_bytes,
                         MIN_CHUNK_BYTES, MAX_CHUNK_BYTES);
    s->codec = (int)o.compression;
    s->level = o.level;
    s->chunk_bytes = o.chunk_bytes ? o.chunk_bytes : DEFAULT_CHUNK_BYTES;
    s->full_at = s->chunk_bytes - 2 * RECORD_MAX;
    s->flush_interval_ns =
        (uint64_t)(o.flush_interval_ms ? o.flush_interval_ms : DEFAULT_FLUSH_MS) * 1000000u;
    return PMT_OK;
}

int pmt_sink_binary_open(pmt_sink **out, const char *path, const char *message,
                         const pmt_binary_options *options)
{
    if (!out)
        return pmt__fail(PMT_EINVAL, "pmt_sink_binary_open: out is NULL");
    *out = NULL;
    binary_sink *s = calloc(1, sizeof *s);
    if (!s)
        return pmt__fail(PMT_ENOMEM, "out of memory for a binary sink");
    s->recent_id = -1;
    int rc = read_options(s, options);
    if (rc == PMT_OK && message && !(s->message = strdup(message)))
        rc = pmt__fail(PMT_ENOMEM, "out of memory for the message");
    if (rc == PMT_OK && reserve(&s->events, s->chunk_bytes + 2 * RECORD_MAX) != 0)
        rc = pmt__fail(PMT_ENOMEM, "out of memory for a chunk");
    s->file.fd = -1;
    s->events_commit = &s->no_commit;
    if (rc == PMT_OK)
        rc = pmt__log_file_create(&s->file, path, ".pmt");
    if (rc != PMT_OK) {
        free(s->events.data);
        free(s->message);
        free(s);
        return rc;
    }
    pmt_sink_ops ops = PMT_SINK_OPS_INIT;
    ops.write = binary_write;
    ops.flush = binary_flush;
    ops.close = binary_close;
    ops.begin = binary_begin;
    ops.finish = binary_finish;
    ops.forget = binary_forget;
    ops.reopen = binary_reopen;
    ops.path = binary_path;
    ops.call_stats = binary_call_stats;
    ops.stored = binary_stored;
    rc = pmt_sink_create(out, &ops, s);
    if (rc != PMT_OK)
        binary_close(s);
    else
        pmt__sink_set_file(*out);
    return rc;
}
