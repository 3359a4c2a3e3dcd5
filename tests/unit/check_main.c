/* Runs the suite named by argv[1], or every suite. ctest registers one test per suite, so that a
 * failure names its area; an unknown name fails rather than running nothing. */
#define _GNU_SOURCE /* mkdtemp, setenv */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fakes.h"
#include "suites.h"

static const struct {
    const char *name;
    Suite *(*make)(void);
} suites[] = {
#define PMT_SUITE(name) {#name, name##_suite},
#include "suites.def"
#undef PMT_SUITE
};

TCase *unit_tcase(const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, 60);
    return tc;
}

int main(int argc, char **argv)
{
    const char *only = argc > 1 ? argv[1] : NULL;
    SRunner *runner = NULL;
    for (size_t i = 0; i < sizeof suites / sizeof *suites; i++) {
        if (only && strcmp(only, suites[i].name) != 0)
            continue;
        if (!runner)
            runner = srunner_create(suites[i].make());
        else
            srunner_add_suite(runner, suites[i].make());
    }
    if (!runner) {
        fprintf(stderr, "no suite named '%s'\n", only);
        return EXIT_FAILURE;
    }
    /* Every test's directory lives under one root removed at the end, so that a failed test
     * (which exits without cleaning up) leaves nothing behind. */
    const char *tmp = getenv("TMPDIR");
    char *root = NULL;
    if (asprintf(&root, "%s/pmt-unit-run-XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0 ||
        !mkdtemp(root) || setenv("TMPDIR", root, 1) != 0) {
        perror("cannot create the tests' temporary directory");
        return EXIT_FAILURE;
    }
    srunner_run_all(runner, CK_ENV);
    temp_dir_remove(root);
    int ran = srunner_ntests_run(runner);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    if (ran == 0) {
        fprintf(stderr, "no test ran (check CK_RUN_SUITE / CK_RUN_CASE)\n");
        return EXIT_FAILURE;
    }
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
