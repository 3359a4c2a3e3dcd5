/* One constructor per suite; check_main.c runs one of them (or all) by name. */
#ifndef PMT_TESTS_UNIT_SUITES_H
#define PMT_TESTS_UNIT_SUITES_H

#include <check.h>

#if defined(__linux__)
#define PMT_SUITE_LINUX(name) PMT_SUITE(name)
#else
#define PMT_SUITE_LINUX(name)
#endif
#define PMT_SUITE(name) Suite *name##_suite(void);
#include "suites.def"
#undef PMT_SUITE

/* A test case with a timeout long enough for sanitizer builds on a busy machine. */
TCase *unit_tcase(const char *name);

#endif
