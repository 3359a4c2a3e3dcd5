/* Constants of the binary log format, shared by the writer and the reader (doc/format.md). */
#ifndef PMT_CORE_BINARY_FORMAT_H
#define PMT_CORE_BINARY_FORMAT_H

#include <stdint.h>

enum {
    PMT__FORMAT_MAJOR = 1,
    PMT__FORMAT_MINOR = 0,
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

enum pmt__chunk_type { PMT__CHUNK_DICT = 1, PMT__CHUNK_EVENTS = 2, PMT__CHUNK_INDEX = 3 };

enum pmt__header_tag {
    PMT__TAG_LIBRARY_VERSION = 1,
    PMT__TAG_PID = 2,
    PMT__TAG_RUNTIME = 3,
    PMT__TAG_CLOCK_ORIGIN = 4,
    PMT__TAG_CLOCK_UNITS = 5,
    PMT__TAG_REALTIME = 6,
    PMT__TAG_RSS_PROVIDER = 7,
    PMT__TAG_TRIGGER = 8,
    PMT__TAG_MESSAGE = 9,
    PMT__TAG_EVENT_MASK = 10,
    PMT__TAG_COMPRESSION = 11,
    PMT__TAG_RSS_ACCURACY = 12,
    PMT__TAG_FILTERS = 13,
    PMT__TAG_INTERPRETER = 14,
};

enum pmt__dict_record { PMT__DICT_STRING = 1, PMT__DICT_LOCATION = 2 };

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
};
/* The largest seq gap a record holds (gap << 3 must fit 64 bits); a larger one starts a chunk. */
#define PMT__MAX_SEQ_GAP ((UINT64_C(1) << 61) - 1)

#endif
