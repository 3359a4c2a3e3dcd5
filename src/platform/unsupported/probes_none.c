/* No probe system in this build (no sys/sdt.h, or PMT_USDT=OFF): PMT__PROBE_WANTED is the
 * constant 0, so no caller reaches these; they exist so that the seam links everywhere. */
#include "platform/probes.h"

#include <stddef.h>

const volatile unsigned short *pmt__probe_semaphore(const char *name)
{
    (void)name;
    return NULL;
}

void pmt__probe_event(uint32_t kind, const char *file, int32_t line, const char *function,
                      uint64_t rss, int64_t d_rss)
{
    (void)kind, (void)file, (void)line, (void)function, (void)rss, (void)d_rss;
}

void pmt__probe_rss_change(uint32_t kind, const char *file, int32_t line, const char *function,
                           uint64_t rss, int64_t d_rss)
{
    (void)kind, (void)file, (void)line, (void)function, (void)rss, (void)d_rss;
}

void pmt__probe_alloc(uint32_t allocator, uint64_t address, uint64_t size, const char *file,
                      int32_t line, const char *function)
{
    (void)allocator, (void)address, (void)size, (void)file, (void)line, (void)function;
}

void pmt__probe_free(uint32_t allocator, uint64_t address, uint64_t size, const char *file,
                     int32_t line, const char *function)
{
    (void)allocator, (void)address, (void)size, (void)file, (void)line, (void)function;
}

void pmt__probe_realloc(uint32_t allocator, uint64_t address, uint64_t size, uint64_t old_address,
                        uint64_t old_size)
{
    (void)allocator, (void)address, (void)size, (void)old_address, (void)old_size;
}

void pmt__probe_gc_start(int32_t generation, uint64_t rss)
{
    (void)generation, (void)rss;
}

void pmt__probe_gc_done(int32_t generation, uint64_t collected, uint64_t uncollectable,
                        uint64_t duration_ns, uint64_t rss)
{
    (void)generation, (void)collected, (void)uncollectable, (void)duration_ns, (void)rss;
}

void pmt__probe_mark(const char *text, uint64_t rss, const char *file, int32_t line,
                     const char *function)
{
    (void)text, (void)rss, (void)file, (void)line, (void)function;
}

void pmt__probe_tracer_start(uint64_t tracer, int64_t pid, uint64_t rss, uint64_t event_mask,
                             uint64_t allocators)
{
    (void)tracer, (void)pid, (void)rss, (void)event_mask, (void)allocators;
}

void pmt__probe_tracer_stop(uint64_t tracer, uint64_t events_seen, uint64_t events_written,
                            uint64_t rss)
{
    (void)tracer, (void)events_seen, (void)events_written, (void)rss;
}

void pmt__probe_object_new(uint64_t address, const char *type_name, int64_t live, const char *file,
                           int32_t line, const char *function)
{
    (void)address, (void)type_name, (void)live, (void)file, (void)line, (void)function;
}

void pmt__probe_object_free(uint64_t address, const char *type_name, int64_t live, const char *file,
                            int32_t line, const char *function)
{
    (void)address, (void)type_name, (void)live, (void)file, (void)line, (void)function;
}
