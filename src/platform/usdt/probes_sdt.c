/* The probes through sys/sdt.h (SystemTap's header, which bpftrace and DTrace on Linux read the
 * same way): each STAP_PROBE leaves a nop and an ELF note naming its place, its arguments'
 * locations and its semaphore. The functions are out of line so that the hot path keeps only
 * the semaphore test; their arguments are in registers when the probe fires, which is all a
 * consumer reads. */
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>

#include "platform/probes.h"

#include <string.h>

/* The semaphores: in .probes, where the note's semaphore address points; a tool attaching a
 * probe increments its counter (the kernel does, for uprobes with a reference counter). */
#define PMT__SEMAPHORE(name)                                                                       \
    volatile unsigned short pymemtrace_##name##_semaphore __attribute__((section(".probes"))) = 0

PMT__SEMAPHORE(event);
PMT__SEMAPHORE(rss_change);
PMT__SEMAPHORE(alloc);
PMT__SEMAPHORE(free);
PMT__SEMAPHORE(realloc);
PMT__SEMAPHORE(gc_start);
PMT__SEMAPHORE(gc_done);
PMT__SEMAPHORE(mark);
PMT__SEMAPHORE(tracer_start);
PMT__SEMAPHORE(tracer_stop);
PMT__SEMAPHORE(object_new);
PMT__SEMAPHORE(object_free);

const volatile unsigned short *pmt__probe_semaphore(const char *name)
{
    static const struct {
        const char *name;
        const volatile unsigned short *semaphore;
    } probes[] = {
        {"event", &pymemtrace_event_semaphore},
        {"rss_change", &pymemtrace_rss_change_semaphore},
        {"alloc", &pymemtrace_alloc_semaphore},
        {"free", &pymemtrace_free_semaphore},
        {"realloc", &pymemtrace_realloc_semaphore},
        {"gc_start", &pymemtrace_gc_start_semaphore},
        {"gc_done", &pymemtrace_gc_done_semaphore},
        {"mark", &pymemtrace_mark_semaphore},
        {"tracer_start", &pymemtrace_tracer_start_semaphore},
        {"tracer_stop", &pymemtrace_tracer_stop_semaphore},
        {"object_new", &pymemtrace_object_new_semaphore},
        {"object_free", &pymemtrace_object_free_semaphore},
    };
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++)
        if (strcmp(name, probes[i].name) == 0)
            return probes[i].semaphore;
    return NULL;
}

void pmt__probe_event(uint32_t kind, const char *file, int32_t line, const char *function,
                      uint64_t rss, int64_t d_rss)
{
    STAP_PROBE6(pymemtrace, event, kind, file, line, function, rss, d_rss);
}

void pmt__probe_rss_change(uint32_t kind, const char *file, int32_t line, const char *function,
                           uint64_t rss, int64_t d_rss)
{
    STAP_PROBE6(pymemtrace, rss_change, kind, file, line, function, rss, d_rss);
}

void pmt__probe_alloc(uint32_t allocator, uint64_t address, uint64_t size, const char *file,
                      int32_t line, const char *function)
{
    STAP_PROBE6(pymemtrace, alloc, allocator, address, size, file, line, function);
}

void pmt__probe_free(uint32_t allocator, uint64_t address, uint64_t size, const char *file,
                     int32_t line, const char *function)
{
    STAP_PROBE6(pymemtrace, free, allocator, address, size, file, line, function);
}

void pmt__probe_realloc(uint32_t allocator, uint64_t address, uint64_t size, uint64_t old_address,
                        uint64_t old_size)
{
    STAP_PROBE5(pymemtrace, realloc, allocator, address, size, old_address, old_size);
}

void pmt__probe_gc_start(int32_t generation, uint64_t rss)
{
    STAP_PROBE2(pymemtrace, gc_start, generation, rss);
}

void pmt__probe_gc_done(int32_t generation, uint64_t collected, uint64_t uncollectable,
                        uint64_t duration_ns, uint64_t rss)
{
    STAP_PROBE5(pymemtrace, gc_done, generation, collected, uncollectable, duration_ns, rss);
}

void pmt__probe_mark(const char *text, uint64_t rss, const char *file, int32_t line,
                     const char *function)
{
    STAP_PROBE5(pymemtrace, mark, text, rss, file, line, function);
}

void pmt__probe_tracer_start(uint64_t tracer, int64_t pid, uint64_t rss, uint64_t event_mask,
                             uint64_t allocators)
{
    STAP_PROBE5(pymemtrace, tracer_start, tracer, pid, rss, event_mask, allocators);
}

void pmt__probe_tracer_stop(uint64_t tracer, uint64_t events_seen, uint64_t events_written,
                            uint64_t rss)
{
    STAP_PROBE4(pymemtrace, tracer_stop, tracer, events_seen, events_written, rss);
}

void pmt__probe_object_new(uint64_t address, const char *type_name, int64_t live, const char *file,
                           int32_t line, const char *function)
{
    STAP_PROBE6(pymemtrace, object_new, address, type_name, live, file, line, function);
}

void pmt__probe_object_free(uint64_t address, const char *type_name, int64_t live, const char *file,
                            int32_t line, const char *function)
{
    STAP_PROBE6(pymemtrace, object_free, address, type_name, live, file, line, function);
}
