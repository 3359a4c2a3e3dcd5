/**
 * @file export.h
 * @brief Symbol-visibility and C++ linkage macros used by every public header.
 */
#ifndef PYMEMTRACE_EXPORT_H
#define PYMEMTRACE_EXPORT_H

/**
 * @def PMT_API
 * @brief Marks a function as part of the library's exported ABI.
 *
 * Everything else in the library is hidden. Define `PMT_STATIC` when linking the static library
 * so that Windows builds do not expect a DLL import.
 */
#if defined(PMT_STATIC)
#define PMT_API
#elif defined(_WIN32)
#if defined(PMT_BUILDING)
#define PMT_API __declspec(dllexport)
#else
#define PMT_API __declspec(dllimport)
#endif
#elif defined(__GNUC__)
#define PMT_API __attribute__((visibility("default")))
#else
#define PMT_API
#endif

/**
 * @def PMT_BEGIN_DECLS
 * @brief Opens a block of declarations with C linkage when compiled as C++.
 * @def PMT_END_DECLS
 * @brief Closes a block opened by #PMT_BEGIN_DECLS.
 */
#ifdef __cplusplus
#define PMT_BEGIN_DECLS extern "C" {
#define PMT_END_DECLS   }
#else
#define PMT_BEGIN_DECLS
#define PMT_END_DECLS
#endif

#endif /* PYMEMTRACE_EXPORT_H */
