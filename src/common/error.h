/* Recording failures: each failing call sets the calling thread's message and returns its code. */
#ifndef PMT_COMMON_ERROR_H
#define PMT_COMMON_ERROR_H

#include <stddef.h>

#include <pymemtrace/error.h>

#include "common/compiler.h"

/* Sets the thread's message (and clears its OS error) and returns code. */
int pmt__fail(int code, const char *fmt, ...) PMT__PRINTF(2, 3);

/* Sets the thread's message with strerror(os_error) appended, records os_error, returns
 * PMT_EIO. */
int pmt__fail_os(int os_error, const char *fmt, ...) PMT__PRINTF(2, 3);

/* strerror(os_error) into buf, thread-safe; "error N" for an unknown one. */
void pmt__strerror(int os_error, char *buf, size_t size);

#endif
