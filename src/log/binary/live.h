/* The binary writer's live area (doc/format.md, "Live area"): the names and events not yet in a
 * chunk, kept in a shared mapping of the log file beyond its chunks, so that a process killed at
 * any moment (SIGKILL, the OOM killer, os._exit, a crash) leaves every event it wrote in the
 * file: the kernel keeps a shared mapping's pages when the process dies. A commit word per
 * region says how many bytes are whole; a reader recovers them after the last whole chunk. */
#ifndef PMT_LOG_BINARY_LIVE_H
#define PMT_LOG_BINARY_LIVE_H

#include <stddef.h>
#include <stdint.h>

enum {
    PMT__LIVE_MAGIC = 0x4C544D50u, /* "PMTL" */
    PMT__LIVE_HEADER_SIZE = 64,
    PMT__LIVE_ALIGN = 4096, /* where a reader looks for the area: every 4 KiB */
    /* Header fields (little-endian, like the chunks). */
    PMT__LIVE_STATIC_CRC = 4,   /* u32 CRC-32C of bytes 8..24 */
    PMT__LIVE_DICT_CAP = 8,     /* u32 */
    PMT__LIVE_EVENTS_CAP = 12,  /* u32 */
    PMT__LIVE_RESERVED = 16,    /* u64: 0 */
    PMT__LIVE_CHUNKS = 24,      /* u64: EVENTS chunks in the file before these events */
    PMT__LIVE_FIRST_SEQ = 32,   /* u64, as an EVENTS chunk header's */
    PMT__LIVE_FIRST_TIME = 40,  /* u64 */
    PMT__LIVE_BASE_RSS = 48,    /* u64 */
    PMT__LIVE_DICT_USED = 56,   /* u32 commit word: whole DICT records in the dict region */
    PMT__LIVE_EVENTS_USED = 60, /* u32 commit word: whole records in the events region */
};

typedef struct pmt__live {
    int on; /* the writer keeps its pending records here */
    int fd;
    unsigned char *map; /* header, dict region, events region */
    size_t map_size;
    uint64_t offset; /* of the area in the file (page-aligned) */
    uint32_t dict_cap, events_cap;
} pmt__live;

/* Maps an area for regions of dict_cap and events_cap bytes at the first page boundary at least
 * `gap` bytes past data_end (the end of the file's chunks), the file grown (and its blocks
 * allocated, so that a full disk fails here, not with SIGBUS later). 0, or -1 with errno set
 * (the writer then writes whole chunks only, as without an area). */
int pmt__live_open(pmt__live *live, int fd, uint64_t data_end, size_t gap, uint32_t dict_cap,
                   uint32_t events_cap);

static inline unsigned char *pmt__live_dict(const pmt__live *live)
{
    return live->map + PMT__LIVE_HEADER_SIZE;
}

static inline unsigned char *pmt__live_events(const pmt__live *live)
{
    return live->map + PMT__LIVE_HEADER_SIZE + live->dict_cap;
}

/* The commit words: the regions' bytes up to these are whole (a release store each: the bytes
 * are in the mapping before the word says so; the file is little-endian, as is every target
 * this build supports). Inline: an event's one extra store. */
static inline void pmt__live_commit_dict(pmt__live *live, uint32_t used)
{
    __atomic_store_n((uint32_t *)(void *)(live->map + PMT__LIVE_DICT_USED), used, __ATOMIC_RELEASE);
}

static inline void pmt__live_commit_events(pmt__live *live, uint32_t used)
{
    __atomic_store_n((uint32_t *)(void *)(live->map + PMT__LIVE_EVENTS_USED), used,
                     __ATOMIC_RELEASE);
}

/* A new events region: the chunk parameters its records are decoded with, and how many EVENTS
 * chunks the file holds before them. */
void pmt__live_start_events(pmt__live *live, uint64_t chunks, uint64_t first_seq,
                            uint64_t first_time, uint64_t base_rss);

/* The events region is empty again (its records went into a chunk): chunks counts them. */
void pmt__live_events_written(pmt__live *live, uint64_t chunks);

/* Moves the area to the first page boundary `gap` bytes past data_end + bytes, its content
 * copied, when a write of `bytes` at data_end would reach it. 0, or -1 with errno: the area
 * stays where it was (the writer takes its content back and closes it). */
int pmt__live_make_room(pmt__live *live, uint64_t data_end, size_t bytes, size_t gap);

/* Unmaps the area, its magic cleared first: abandoned, no reader takes it for a live one (the
 * file keeps its bytes until the writer truncates it). */
void pmt__live_close(pmt__live *live);

/* In a child of fork: unmaps the parent's area without a store to it. */
void pmt__live_forget(pmt__live *live);

#endif
