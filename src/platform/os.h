/* The few operating-system services the core needs, one implementation file per OS family. */
#ifndef PMT_PLATFORM_OS_H
#define PMT_PLATFORM_OS_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic clock in nanoseconds; never a syscall where the OS offers a user-space clock. */
uint64_t pmt__monotonic_ns(void);

/* The OS id of the calling thread, cached per thread (and per fork generation: a forked child's
 * thread inherits the cache), so that a call costs two thread-local loads and a compare. The
 * cache is initial-exec TLS where the compiler can say so: a shared object's default model would
 * call __tls_get_addr at every read (16 bytes of the static TLS surplus glibc keeps for
 * libraries loaded later). */
#if defined(__GNUC__)
#define PMT__HOT_TLS __attribute__((tls_model("initial-exec")))
#else
#define PMT__HOT_TLS
#endif
typedef struct pmt__thread_id_cache {
    uint64_t id, generation;
} pmt__thread_id_cache;
extern _Thread_local pmt__thread_id_cache pmt__thread_id_here PMT__HOT_TLS;
/* The counter pmt__fork_generation() returns, for a hot path that compares it with a value it
 * took from pmt__fork_generation() (which installed the handler): a plain load, no call. */
extern volatile uint64_t pmt__fork_counter;
uint64_t pmt__os_thread_id_slow(void);

static inline uint64_t pmt__os_thread_id(void)
{
    if (pmt__thread_id_here.id != 0 && pmt__thread_id_here.generation == pmt__fork_counter)
        return pmt__thread_id_here.id;
    return pmt__os_thread_id_slow();
}

/* Counts fork()s in this process's ancestry as seen by the child: anything that caches a
 * per-process resource (a /proc descriptor) compares it with the value it cached. The first call
 * installs the fork handler. */
uint64_t pmt__fork_generation(void);

/* Wall-clock time in nanoseconds since the Unix epoch. */
uint64_t pmt__realtime_ns(void);

/* The process id, and the page size in bytes. */
long pmt__process_id(void);
long pmt__page_size(void);

/* Creates a new file for writing (it must not exist), readable by its owner only and not
 * inherited by child processes: its descriptor, or -1 with errno set. */
int pmt__create_new_file(const char *path);

/* Seconds since the epoch, split into UTC calendar fields for file names. */
typedef struct pmt__utc_time {
    int year, month, day, hour, minute, second;
} pmt__utc_time;
void pmt__utc_now(pmt__utc_time *out);

#endif
