/* Windows implementation of os.h: QueryPerformanceCounter for the monotonic clock (a user-space
 * read of the TSC on current systems), the thread id cached per thread, no fork (the fork
 * generation stays 0 forever). */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <fcntl.h>
#include <io.h>
#include <sys/stat.h>

#include "platform/os.h"

uint64_t pmt__monotonic_ns(void)
{
    static LARGE_INTEGER frequency; /* ticks per second, fixed at boot */
    if (!frequency.QuadPart)
        QueryPerformanceFrequency(&frequency);
    LARGE_INTEGER now;
    QueryPerformanceCounter(&now);
    uint64_t ticks = (uint64_t)now.QuadPart, per_second = (uint64_t)frequency.QuadPart;
    /* Split so that ticks * 1e9 cannot overflow: whole seconds, then the rest. */
    return ticks / per_second * 1000000000u + ticks % per_second * 1000000000u / per_second;
}

/* 100 ns intervals between 1601-01-01 and 1970-01-01. */
#define EPOCH_DIFFERENCE UINT64_C(116444736000000000)

uint64_t pmt__realtime_ns(void)
{
    FILETIME ft;
    GetSystemTimePreciseAsFileTime(&ft);
    uint64_t t = (uint64_t)ft.dwHighDateTime << 32 | ft.dwLowDateTime;
    return (t - EPOCH_DIFFERENCE) * 100u;
}

_Thread_local pmt__thread_id_cache pmt__thread_id_here PMT__HOT_TLS;
volatile uint64_t pmt__fork_counter; /* Windows has no fork: always 0 */

uint64_t pmt__fork_generation(void)
{
    return pmt__fork_counter;
}

uint64_t pmt__os_thread_id_slow(void)
{
    pmt__thread_id_here.id = (uint64_t)GetCurrentThreadId();
    pmt__thread_id_here.generation = pmt__fork_counter;
    return pmt__thread_id_here.id;
}

long pmt__process_id(void)
{
    return (long)GetCurrentProcessId();
}

long pmt__page_size(void)
{
    static long page_size;
    if (page_size == 0) {
        SYSTEM_INFO info;
        GetSystemInfo(&info);
        page_size = (long)info.dwPageSize;
    }
    return page_size;
}

void pmt__utc_now(pmt__utc_time *out)
{
    SYSTEMTIME st;
    GetSystemTime(&st);
    out->year = st.wYear;
    out->month = st.wMonth;
    out->day = st.wDay;
    out->hour = st.wHour;
    out->minute = st.wMinute;
    out->second = st.wSecond;
}

int pmt__create_new_file(const char *path)
{
    return _open(path, _O_WRONLY | _O_CREAT | _O_EXCL | _O_NOINHERIT | _O_BINARY,
                 _S_IREAD | _S_IWRITE);
}
