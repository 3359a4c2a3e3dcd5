/* One constructor per suite; check_main.c runs one of them (or all) by name. */
#ifndef PMT_TESTS_UNIT_SUITES_H
#define PMT_TESTS_UNIT_SUITES_H

#include <check.h>

Suite *filter_suite(void);
Suite *stages_suite(void);
Suite *text_sink_suite(void);
Suite *log_file_suite(void);
Suite *crash_suite(void);
Suite *api_errors_suite(void);
Suite *version_suite(void);
Suite *binary_suite(void);
Suite *binary_damage_suite(void);
Suite *fork_suite(void);
#if defined(__linux__)
Suite *rss_linux_suite(void);
Suite *rss_providers_suite(void);
#endif

/* A test case with a timeout long enough for sanitizer builds on a busy machine. */
TCase *unit_tcase(const char *name);

#endif
