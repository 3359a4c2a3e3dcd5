/**
 * @file error.h
 * @brief Pinned error codes and their messages.
 *
 * Every fallible function returns #PMT_OK (0) or one of the negative codes below. The values are
 * pinned: they never change meaning and are never reused. When a call fails, a message with the
 * details (file names, the offending value) is kept for the calling thread and can be read with
 * pmt_last_error_message() until that thread's next failing call.
 */
#ifndef PYMEMTRACE_ERROR_H
#define PYMEMTRACE_ERROR_H

#include <pymemtrace/export.h>

PMT_BEGIN_DECLS

/** @brief Result codes. Values are part of the ABI and never change. */
typedef enum pmt_status {
    PMT_OK = 0,           /**< Success. */
    PMT_EINVAL = -1,      /**< An argument is NULL, out of bounds or otherwise invalid. */
    PMT_ENOMEM = -2,      /**< Memory could not be allocated. */
    PMT_EIO = -3,         /**< An operating-system call failed; see pmt_last_os_error(). */
    PMT_ENOTSUP = -4,     /**< Not supported by this build, platform or Python version. */
    PMT_ESTATE = -5,      /**< The object is in the wrong state (e.g. starting a running tracer). */
    PMT_EVERSION = -6,    /**< A caller-supplied struct has an unknown size or version. */
    PMT_ECALLBACK = -7,   /**< A caller-supplied callback reported an error. */
    PMT_EPYTHON = -8,     /**< The Python interpreter reported an error (it is left set). */
    PMT_ENOTHREAD = -9,   /**< The calling thread does not hold a Python interpreter (the GIL). */
    PMT_EFORMAT = -10,    /**< Input is not in the expected format, or is damaged. */
    PMT_ETRUNCATED = -11, /**< Input ends early (e.g. its writer was killed). */
    /** A process-wide resource is taken (another tracer traces allocations). */
    PMT_EBUSY = -12,
} pmt_status;

/**
 * @brief A short, static description of an error code.
 * @param code A #pmt_status value (any int is accepted).
 * @return A static string; "unknown error" for codes this version does not know.
 * @par Thread safety: always safe.
 */
PMT_API const char *pmt_strerror(int code);

/**
 * @brief The detailed message of the calling thread's most recent failed call.
 * @return A NUL-terminated string owned by the library, valid until the calling thread's next
 *         failing call; "" when no call has failed on this thread.
 * @par Thread safety: per thread.
 */
PMT_API const char *pmt_last_error_message(void);

/**
 * @brief The `errno` of the calling thread's most recent call that failed with #PMT_EIO.
 * @return The operating-system error number, or 0 when the last failure was not an OS error.
 * @par Thread safety: per thread.
 */
PMT_API int pmt_last_os_error(void);

/**
 * @brief Forget the calling thread's last failure: afterwards pmt_last_error_message() is ""
 *        and pmt_last_os_error() is 0, until the thread's next failing call. Useful before a
 *        call whose message is to be shown only if that call fails.
 * @par Thread safety: per thread.
 */
PMT_API void pmt_error_clear(void);

PMT_END_DECLS

#endif /* PYMEMTRACE_ERROR_H */
