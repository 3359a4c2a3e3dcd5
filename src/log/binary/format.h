/* Constants of the binary log format, shared by the writer and the reader (doc/format.md). */
#ifndef PMT_CORE_BINARY_FORMAT_H
#define PMT_CORE_BINARY_FORMAT_H

#include <stdint.h>

#include "common/bytes.h"

enum {
    PMT__FORMAT_MAJOR = 1,
    PMT__FORMAT_MINOR = 5, /* 1: calls context records; 2: allocation records; 3: kinds >= 13;
                              4: object kinds; 5: monitor samples */
    PMT__FILE_MAGIC_SIZE = 8,
    PMT__FILE_FIXED_SIZE = 20, /* magic, versions, byte order, fields length */
    PMT__CHUNK_HEADER_SIZE = 48,
    PMT__CHUNK_CRC_OFFSET = 44,
    PMT__TRAILER_SIZE = 24,
    PMT__MAX_CHUNK_RAW = 16 << 20,
};

static const unsigned char pmt__file_magic[PMT__FILE_MAGIC_SIZE] = {0x89, 'P',  'M',  'T',
                                                                    '\r', '\n', 0x1A, '\n'};
#define PMT__CHUNK_MAGIC      0x43544D50u /* "PMTC" */
#define PMT__TRAILER_MAGIC    0x45544D50u /* "PMTE" */
#define PMT__BYTE_ORDER_CHECK 0x01020304u

enum pmt__chunk_type {
    PMT__CHUNK_DICT = 1,
    PMT__CHUNK_EVENTS = 2,
    PMT__CHUNK_INDEX = 3,
    PMT__CHUNK_CALLS = 4, /* the call aggregation at stop (doc/format.md) */
};

/* Every header field once, in the order the writer writes them (golden files pin it): its tag,
 * its type (STRING or NUMBER), the pmt_run_info member it is written from and the pmt_log_info
 * member it is read into. A field is written only when the run info's struct_size covers its
 * member; WHEN_SET fields only when non-empty / non-zero, so that logs without them keep the
 * header they always had. The writer and the reader expand this list (writer.c, reader.c). */
#define PMT__RUN_HEADER_FIELDS(X)                                                                  \
    X(LIBRARY_VERSION, 1, STRING, library_version, library_version, ALWAYS)                        \
    X(PID, 2, NUMBER, process_id, process_id, ALWAYS)                                              \
    X(RUNTIME, 3, STRING, runtime, runtime, ALWAYS)                                                \
    X(CLOCK_ORIGIN, 4, NUMBER, start_time_ns, clock_origin_ns, ALWAYS)                             \
    X(REALTIME, 6, NUMBER, start_realtime_ns, start_realtime_ns, ALWAYS)                           \
    X(RSS_PROVIDER, 7, STRING, rss_provider, rss_provider, ALWAYS)                                 \
    X(RSS_ACCURACY, 12, STRING, rss_accuracy, rss_accuracy, ALWAYS)                                \
    X(FILTERS, 13, STRING, filters, filters, WHEN_SET)                                             \
    X(INTERPRETER, 14, NUMBER, interpreter_id, interpreter_id, WHEN_SET)                           \
    X(TRIGGER, 8, NUMBER, d_rss_trigger, d_rss_trigger, ALWAYS)                                    \
    X(EVENT_MASK, 10, NUMBER, event_mask, event_mask, ALWAYS)

/* The fields the sink writes of its own, after the run's: tag, type, pmt_log_info member. */
#define PMT__SINK_HEADER_FIELDS(X)                                                                 \
    X(CLOCK_UNITS, 5, NUMBER, clock_units)                                                         \
    X(COMPRESSION, 11, NUMBER, compression)                                                        \
    X(MESSAGE, 9, STRING, message)

#define PMT__RUN_TAG(name, tag, type, info, log, when) PMT__TAG_##name = tag,
#define PMT__SINK_TAG(name, tag, type, log)            PMT__TAG_##name = tag,
enum pmt__header_tag {
    PMT__RUN_HEADER_FIELDS(PMT__RUN_TAG) PMT__SINK_HEADER_FIELDS(PMT__SINK_TAG) PMT__TAG_LIMIT =
        16 /* tags are below this: the reader keeps a string per tag */
};
#undef PMT__RUN_TAG
#undef PMT__SINK_TAG

enum pmt__dict_record { PMT__DICT_STRING = 1, PMT__DICT_LOCATION = 2 };

/* Extension records of EVENTS chunks (type 15), by their varint type. */
enum pmt__extension {
    /* The calls context of the events that follow in the chunk: varint user site (0 none, 1 the
     * event's own location, else a location id + 2), varint call node. */
    PMT__EXT_CALLS_CONTEXT = 1,
};

/* The first byte of an EVENTS record: the type in the low nibble; for an event, flags above. */
enum {
    PMT__REC_MAX_EVENT_KIND = 13,
    PMT__REC_THREAD = 14,
    PMT__REC_EXTENSION = 15,
    PMT__REC_SEQ_REASON = 0x10, /* varint (seq gap << 3 | reason) follows; else gap 0, TRIGGER */
    PMT__REC_DEPTH_SHIFT = 5,   /* bits 5-6: depth step, one of the PMT__DEPTH_* */
    PMT__REC_DEPTH_MASK = 0x60,
    PMT__REC_RSS_CHANGED = 0x80, /* svarint RSS step follows */
    PMT__DEPTH_SAME = 0,
    PMT__DEPTH_UP = 1,     /* previous depth + 1 */
    PMT__DEPTH_DOWN = 2,   /* previous depth - 1 */
    PMT__DEPTH_VARINT = 3, /* svarint depth step follows */
    PMT__REASON_BITS = 3,
    PMT__DEFAULT_REASON = 1, /* PMT_REASON_TRIGGER */
    /* Allocation kinds' default reason (PMT_REASON_ALLOCATION); after the common fields they
     * carry varint (size << 3 | allocator) and the address step (pmt__put_address); a
     * REALLOC also the old block's address step from the new one and varint old size. */
    PMT__DEFAULT_ALLOC_REASON = 5,
    PMT__DEFAULT_GC_REASON = 6, /* PMT_REASON_GC, of GC_START and GC_DONE */
    /* PMT_REASON_OBJECT, of the object kinds (15-17, since 1.4). OBJECT_NEW and OBJECT_DELETE
     * carry varint (type name string id + 1), the address step (from the previous object
     * record's address) and svarint type_live; OBJECT_COUNT varint (name id + 1), varint
     * created, varint destroyed (live is their difference). */
    PMT__DEFAULT_OBJECT_REASON = 7,
    /* PMT_EV_SAMPLE (18, since 1.5): its reason, PMT_REASON_SAMPLE, does not fit the 3 reason
     * bits and is implied by the kind (the bits are 0). Its RSS is the common RSS field; it
     * leaves the dRSS base of the records after it alone. After the common fields: varint
     * (label string id + 1), then varint sample seq, svarint the record's time minus the
     * sample's (a row's time is kept between its neighbours'),
     * realtime_ns, peak_rss, minor_faults, major_faults, user_cpu_ns, system_cpu_ns, rss_anon,
     * rss_file, rss_shmem, cgroup_current, and cgroup_max + 1 (0: none, UINT64_MAX). */
    PMT__SAMPLE_KIND = 18,
    /* A record whose kind nibble is 13 carries its kind as varint (kind - 13) right after the
     * header byte: 13 GC_START, 14 GC_DONE, and kinds to come. GC kinds then carry varint
     * generation, collected, uncollectable and duration in ns after the common fields. */
    PMT__REC_KIND_ESCAPE = 13,
    PMT__ALLOCATOR_BITS = 3,
};

/* Allocation kinds: PMT_EV_ALLOC, PMT_EV_REALLOC, PMT_EV_FREE (10 to 12). */
static inline int pmt__is_alloc_kind(unsigned kind)
{
    return kind - 10u <= 2u;
}

/* An address as a step from another: blocks are 8-byte aligned, so an aligned step is stored
 * divided by 8 (low bit 0), any other whole (low bit 1). User-space addresses are below 2^56. */
static inline uint64_t pmt__address_step(uint64_t address, uint64_t from)
{
    int64_t d = (int64_t)(address - from);
    return (d & 7) == 0 ? pmt__zigzag(d / 8) << 1 : pmt__zigzag(d) << 1 | 1;
}

static inline uint64_t pmt__address_from_step(uint64_t step, uint64_t from)
{
    int64_t d = pmt__unzigzag(step >> 1);
    return from + (uint64_t)(step & 1 ? d : d * 8);
}

static inline int pmt__is_gc_kind(unsigned kind)
{
    return kind - 13u <= 1u;
}

/* Object kinds: PMT_EV_OBJECT_NEW, PMT_EV_OBJECT_DELETE, PMT_EV_OBJECT_COUNT (15 to 17). */
static inline int pmt__is_object_kind(unsigned kind)
{
    return kind - 15u <= 2u;
}

static inline unsigned pmt__default_reason(unsigned kind)
{
    return kind == PMT__SAMPLE_KIND    ? 0
           : pmt__is_alloc_kind(kind)  ? PMT__DEFAULT_ALLOC_REASON
           : pmt__is_gc_kind(kind)     ? PMT__DEFAULT_GC_REASON
           : pmt__is_object_kind(kind) ? PMT__DEFAULT_OBJECT_REASON
                                       : PMT__DEFAULT_REASON;
}
/* The largest seq gap a record holds (gap << 3 must fit 64 bits); a larger one starts a chunk. */
#define PMT__MAX_SEQ_GAP ((UINT64_C(1) << 61) - 1)

#endif
