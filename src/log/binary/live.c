/* The live area (live.h): a shared mapping of the log file's tail. Only the writer's slow moments
 * make system calls here (a chunk written, an area moved); an event costs its record's stores
 * and one release store of the commit word. */
#define _GNU_SOURCE
#include "log/binary/live.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/crc32c.h"
#include "log/file_window.h"

static size_t page_size(void)
{
    long page = sysconf(_SC_PAGESIZE);
    return page > 0 ? (size_t)page : PMT__LIVE_ALIGN;
}

static uint64_t align_up(uint64_t n, uint64_t to)
{
    return (n + to - 1) / to * to;
}

static void store_u32_release(unsigned char *p, uint32_t v)
{
    /* The file is little-endian; so is every target this build supports (format.md). */
    __atomic_store_n((uint32_t *)(void *)p, v, __ATOMIC_RELEASE);
}

/* Maps the area at offset, a page boundary, through a file window (its blocks allocated: a
 * full disk or a size limit fails here, not with SIGBUS later). */
static int map_at(pmt__live *live, uint64_t offset)
{
    pmt__file_window window = {NULL, 0};
    size_t size = PMT__LIVE_HEADER_SIZE + (size_t)live->dict_cap + live->events_cap;
    if (!pmt__file_window_move(&window, live->fd, offset, size))
        return -1;
    live->map = window.map; /* offset is a page boundary: the mapping starts there */
    live->map_size = window.map_size;
    live->offset = offset;
    return 0;
}

static void unmap(unsigned char *map, size_t size)
{
    pmt__file_window window = {map, size};
    pmt__file_window_close(&window);
}

static void write_static_header(pmt__live *live)
{
    unsigned char *h = live->map;
    pmt__put_u32(h + PMT__LIVE_DICT_CAP, live->dict_cap);
    pmt__put_u32(h + PMT__LIVE_EVENTS_CAP, live->events_cap);
    pmt__put_u32(h + PMT__LIVE_STATIC_CRC, pmt__crc32c(0, h + 8, 16));
    store_u32_release(h, PMT__LIVE_MAGIC); /* last: a reader trusts nothing before it */
}

static uint64_t place(uint64_t data_end, size_t gap)
{
    return align_up(data_end + gap, page_size());
}

int pmt__live_open(pmt__live *live, int fd, uint64_t data_end, size_t gap, uint32_t dict_cap,
                   uint32_t events_cap)
{
    memset(live, 0, sizeof *live);
    live->fd = fd;
    live->dict_cap = dict_cap;
    live->events_cap = events_cap;
    if (map_at(live, place(data_end, gap)) != 0)
        return -1;
    memset(live->map, 0, PMT__LIVE_HEADER_SIZE);
    write_static_header(live);
    live->on = 1;
    return 0;
}

void pmt__live_start_events(pmt__live *live, uint64_t chunks, uint64_t first_seq,
                            uint64_t first_time, uint64_t base_rss)
{
    unsigned char *h = live->map;
    pmt__live_commit_events(live, 0); /* nothing of the new region is whole yet */
    pmt__put_u64(h + PMT__LIVE_CHUNKS, chunks);
    pmt__put_u64(h + PMT__LIVE_FIRST_SEQ, first_seq);
    pmt__put_u64(h + PMT__LIVE_FIRST_TIME, first_time);
    pmt__put_u64(h + PMT__LIVE_BASE_RSS, base_rss);
}

void pmt__live_events_written(pmt__live *live, uint64_t chunks)
{
    pmt__live_commit_events(live, 0);
    pmt__put_u64(live->map + PMT__LIVE_CHUNKS, chunks);
}

int pmt__live_make_room(pmt__live *live, uint64_t data_end, size_t bytes, size_t gap)
{
    if (data_end + bytes <= live->offset)
        return 0;
    pmt__live old = *live;
    if (map_at(live, place(data_end + bytes, gap)) != 0) {
        int err = errno;
        *live = old; /* still mapped: the writer takes its content back */
        errno = err;
        return -1;
    }
    /* The copy is whole before the old area may be overwritten: a reader takes the first area
     * that matches the file, and both say the same. */
    memcpy(live->map + 4, old.map + 4, old.map_size - 4);
    store_u32_release(live->map, PMT__LIVE_MAGIC);
    /* The old area may outlive the writes that made room (a smaller chunk than the room asked
     * for): it must not be taken for the new one, whose events it lacks, nor its bytes for a
     * damaged chunk by a reader of a killed writer's file: zeros, which end the chunks. */
    store_u32_release(old.map, 0);
    memset(old.map, 0, old.map_size);
    unmap(old.map, old.map_size);
    return 0;
}

void pmt__live_close(pmt__live *live)
{
    if (live->map) {
        /* Abandoned: no reader may take it for a live one, nor its bytes for a chunk. */
        store_u32_release(live->map, 0);
        memset(live->map, 0, live->map_size);
        unmap(live->map, live->map_size);
    }
    live->map = NULL;
    live->on = 0;
}

void pmt__live_forget(pmt__live *live)
{
    if (live->map)
        unmap(live->map, live->map_size);
    live->map = NULL;
    live->on = 0;
}
