/* A process killed while tracing keeps its log: every row it wrote is in the file, and every
 * complete line is a whole row. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "expect_text.h"
#include "fakes.h"
#include "suites.h"

static const char *const crash_files[] = {"app.py", "pkg/sub/module.py", "lib/x.py",
                                          "very/long/path/to/some/library/file_name.py", "z.py"};
static const char *const crash_functions[] = {"main", "Class.method", "f", "<listcomp>", "g"};
static const uint64_t START_RSS = 1u << 20;

/* Event i of a run (1-based), the same in the child that writes it and the parent that checks. */
static void crash_event(int i, const char **file, const char **function, uint64_t *rss)
{
    *file = crash_files[i % 5];
    *function = crash_functions[(i / 5) % 5];
    *rss = START_RSS + 37u * (uint64_t)i;
}

/* The child: traces n events, step_ns apart, then dies without closing anything. No check
 * assertions here: a failure must show as an exit status, not run the rest of the suite. */
static void traced_child(const char *path, int n, uint64_t step_ns)
{
    fake_clock clock = {0};
    fake_rss rss = {.value = START_RSS};
    fake_source_reset();
    pmt_tracer *t = NULL;
    pmt_sink *sink = NULL;
    pmt_rss_provider p = fake_rss_provider(0);
    if (pmt__tracer_create_with_source(&t, &fake_source_ops, &g_source) != PMT_OK)
        _exit(2);
    pmt__tracer_set_clock(t, fake_clock_read, &clock);
    if (pmt_tracer_set_rss_provider(t, &p, &rss) != PMT_OK ||
        pmt_tracer_set_param(t, PMT_PARAM_D_RSS_TRIGGER, 0) != PMT_OK)
        _exit(3);
    if (pmt_sink_text_open(&sink, path, "crash test") != PMT_OK ||
        pmt_tracer_add_sink(t, sink) != PMT_OK)
        _exit(4);
    if (pmt_tracer_start(t) != PMT_OK)
        _exit(5);
    for (int i = 1; i <= n; i++) {
        const char *file, *function;
        crash_event(i, &file, &function, &rss.value);
        clock.now = step_ns * (uint64_t)i;
        pmt__tracer_event(t, PMT_EV_CALL, file, function, i, 0);
    }
    raise(SIGKILL);
    _exit(6);
}

static void run_killed_child(const char *path, int n, uint64_t step_ns)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        traced_child(path, n, step_ns);
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                  "the child did not die of SIGKILL (status 0x%x)", (unsigned)status);
}

/* The log the child would have written had it closed it, and where each row ends in it. */
static size_t *expected_log(strbuf *want, int n, uint64_t step_ns)
{
    size_t *row_end = calloc((size_t)n + 1, sizeof *row_end);
    ck_assert_ptr_nonnull(row_end);
    expect_header(want, "crash test");
    expect_row(want, "FRST:", 0, 0, 0, "START", "main.py", 1, "<module>", START_RSS, START_RSS);
    row_end[0] = want->len;
    for (int i = 1; i <= n; i++) {
        const char *file, *function;
        uint64_t rss;
        crash_event(i, &file, &function, &rss);
        expect_row(want, "NEXT:", (uint64_t)i, 1, step_ns * (uint64_t)i, "CALL", file, i, function,
                   rss, 37);
        row_end[i] = want->len;
    }
    return row_end;
}

/* What reached the disk is the start of the full log; every complete line is a row. */
static void assert_prefix_of_rows(const char *got, size_t len, const strbuf *want)
{
    ck_assert_uint_le(len, want->len);
    for (size_t i = 0; i < len; i++)
        ck_assert_msg(got[i] == want->data[i], "the log differs from the rows at byte %zu", i);
    int line_no = 0;
    for (const char *p = got, *end; (end = memchr(p, '\n', len - (size_t)(p - got))) != NULL;
         p = end + 1, line_no++) {
        if (line_no < 3) /* message, SOF, HDR: */
            continue;
        ck_assert_msg(strncmp(p, "FRST: ", 6) == 0 || strncmp(p, "NEXT: ", 6) == 0,
                      "line %d is not a row", line_no);
        int fields = 0;
        for (const char *q = p; q < end; q++)
            fields += *q != ' ' && (q == p || q[-1] == ' ');
        ck_assert_msg(fields == 10, "line %d has %d fields", line_no, fields);
    }
}

/* The whole lines in the file: a killed writer's window (file_window.h) leaves after its rows
 * at most the start of a row it was writing (no newline), then zeros. */
static size_t rows_length(const char *got, size_t len)
{
    const char *nul = memchr(got, '\0', len);
    size_t end = nul ? (size_t)(nul - got) : len;
    for (size_t i = end; i < len; i++)
        ck_assert_msg(got[i] == '\0', "byte %zu after the rows is not zero", i);
    size_t rows = end;
    while (rows > 0 && got[rows - 1] != '\n')
        rows--;
    return rows;
}

/* Killed right after its last event, the child's log holds every row it wrote: the text sink
 * writes rows into a window over its file, which the kernel keeps. */
static void check_killed(int n, uint64_t step)
{
    char *dir = temp_dir_create();
    char *path = NULL;
    ck_assert_int_gt(asprintf(&path, "%s/crash.log", dir), 0);
    run_killed_child(path, n, step);
    strbuf want = {0};
    size_t *row_end = expected_log(&want, n, step);
    size_t len = 0;
    char *got = read_whole_file(path, &len);
    ck_assert_ptr_nonnull(got);
    size_t rows = rows_length(got, len);
    assert_prefix_of_rows(got, rows, &want);
    ck_assert_msg(rows == want.len, "%zu bytes of rows lost", want.len - rows);
    free(got);
    free(row_end);
    strbuf_free(&want);
    free(path);
    temp_dir_remove(dir);
}

START_TEST(killed_process_loses_no_row)
{
    check_killed(2500, 0);        /* several windows of rows */
    check_killed(57, 100000000u); /* a few KiB, 0.1 s of event time apart */
    check_killed(1, 0);
}
END_TEST

Suite *crash_suite(void)
{
    Suite *s = suite_create("crash");
    TCase *tc = unit_tcase("crash");
    tcase_add_test(tc, killed_process_loses_no_row);
    suite_add_tcase(s, tc);
    return s;
}
