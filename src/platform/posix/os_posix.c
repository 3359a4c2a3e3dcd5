/* POSIX implementation of os.h (Linux, macOS, FreeBSD). */
#define _GNU_SOURCE
#include "platform/os.h"

#include <fcntl.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/syscall.h>
#endif

uint64_t pmt__monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t pmt__realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Thread ids are cached per thread (os.h): gettid() is a real syscall, and a forked child's only
 * thread inherits the cache of the forking thread, so the cache is keyed by fork generation. */
_Thread_local pmt__thread_id_cache pmt__thread_id_here PMT__HOT_TLS;
volatile uint64_t pmt__fork_counter;

static void note_fork_in_child(void)
{
    pmt__fork_counter++;
}

static pthread_once_t fork_hook_once = PTHREAD_ONCE_INIT;
static void install_fork_hook(void)
{
    pthread_atfork(NULL, NULL, note_fork_in_child);
}

uint64_t pmt__fork_generation(void)
{
    pthread_once(&fork_hook_once, install_fork_hook);
    return pmt__fork_counter;
}

uint64_t pmt__os_thread_id_slow(void)
{
    pthread_once(&fork_hook_once, install_fork_hook);
#if defined(__linux__)
    pmt__thread_id_here.id = (uint64_t)syscall(SYS_gettid);
#else
    pmt__thread_id_here.id = (uint64_t)(uintptr_t)pthread_self();
#endif
    pmt__thread_id_here.generation = pmt__fork_counter;
    return pmt__thread_id_here.id;
}

long pmt__process_id(void)
{
    return (long)getpid();
}

long pmt__page_size(void)
{
    static long page_size;
    if (page_size == 0)
        page_size = sysconf(_SC_PAGESIZE);
    return page_size;
}

void pmt__utc_now(pmt__utc_time *out)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    out->year = tm.tm_year + 1900;
    out->month = tm.tm_mon + 1;
    out->day = tm.tm_mday;
    out->hour = tm.tm_hour;
    out->minute = tm.tm_min;
    out->second = tm.tm_sec;
}

int pmt__create_new_file(const char *path)
{
    return open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
}
