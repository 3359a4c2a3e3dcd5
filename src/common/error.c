/* The XSI strerror_r (int result), thread-safe unlike strerror. */
#define _POSIX_C_SOURCE 200809L
#include "common/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* One message per thread, so that concurrent failures in different tracers never mix. */
static _Thread_local char last_message[512];
static _Thread_local int last_os_error;

const char *pmt_strerror(int code)
{
    switch (code) {
    case PMT_OK:
        return "success";
    case PMT_EINVAL:
        return "invalid argument";
    case PMT_ENOMEM:
        return "out of memory";
    case PMT_EIO:
        return "operating-system error";
    case PMT_ENOTSUP:
        return "not supported";
    case PMT_ESTATE:
        return "wrong state for this operation";
    case PMT_EVERSION:
        return "unknown struct size or version";
    case PMT_ECALLBACK:
        return "a callback failed";
    case PMT_EPYTHON:
        return "Python error";
    case PMT_ENOTHREAD:
        return "the calling thread does not hold the GIL";
    case PMT_EFORMAT:
        return "malformed or damaged input";
    case PMT_ETRUNCATED:
        return "input ends early";
    case PMT_EBUSY:
        return "a process-wide resource is in use";
    default:
        return "unknown error";
    }
}

const char *pmt_last_error_message(void)
{
    return last_message;
}

int pmt_last_os_error(void)
{
    return last_os_error;
}

void pmt_error_clear(void)
{
    last_message[0] = '\0';
    last_os_error = 0;
}

int pmt__fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_message, sizeof last_message, fmt, ap);
    va_end(ap);
    last_os_error = 0;
    return code;
}

int pmt__fail_os(int os_error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(last_message, sizeof last_message, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n + 2 < sizeof last_message) {
        char reason[256];
        pmt__strerror(os_error, reason, sizeof reason);
        snprintf(last_message + n, sizeof last_message - (size_t)n, ": %s", reason);
    }
    last_os_error = os_error;
    return PMT_EIO;
}

void pmt__strerror(int os_error, char *buf, size_t size)
{
    /* The one system difference outside src/platform/: the thread-safe error text (common/
     * comes before the platform layer). */
#if defined(_WIN32)
    if (strerror_s(buf, size, os_error) != 0)
#else
    if (strerror_r(os_error, buf, size) != 0)
#endif
        snprintf(buf, size, "error %d", os_error);
}
