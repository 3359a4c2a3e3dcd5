/* The library's version agrees with the headers it was built with. */
#include <stdio.h>

#include "fakes.h"
#include "suites.h"

START_TEST(number_and_string_match_the_headers)
{
    ck_assert_int_eq(pmt_version_number(), PMT_VERSION_NUMBER);
    ck_assert_int_eq(PMT_VERSION_NUMBER,
                     PMT_VERSION_MAJOR * 10000 + PMT_VERSION_MINOR * 100 + PMT_VERSION_PATCH);
    ck_assert_ptr_nonnull(pmt_version_string());
    ck_assert_str_eq(pmt_version_string(), PMT_VERSION_STRING);
    char built[32];
    snprintf(built, sizeof built, "%d.%d.%d", PMT_VERSION_MAJOR, PMT_VERSION_MINOR,
             PMT_VERSION_PATCH);
    ck_assert_str_eq(pmt_version_string(), built);
}
END_TEST

Suite *version_suite(void)
{
    Suite *s = suite_create("version");
    TCase *tc = unit_tcase("version");
    tcase_add_test(tc, number_and_string_match_the_headers);
    suite_add_tcase(s, tc);
    return s;
}
