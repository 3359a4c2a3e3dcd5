/* The text log, byte for byte, read back from the file. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "expect_text.h"
#include "fakes.h"
#include "suites.h"

enum { BUFFER_BYTES = 64 * 1024 };
static const uint64_t T0 = 1000000000u; /* the first event's time: the log's clock origin */

typedef struct text_run {
    char *dir;
    char *path;
    fake_clock clock;
    fake_rss rss;
    pmt_tracer *tracer;
    int fd; /* the descriptor of text_run_open_fd, else -1 */
} text_run;

/* A tracer with a text sink writing dir/trace.log, not started. */
static void text_run_open(text_run *r, int64_t trigger, const char *message)
{
    memset(r, 0, sizeof *r);
    r->dir = temp_dir_create();
    ck_assert_int_gt(asprintf(&r->path, "%s/trace.log", r->dir), 0);
    r->tracer = fake_tracer(&r->clock, &r->rss, trigger, NULL);
    r->fd = -1;
    pmt_sink *sink = NULL;
    ck_assert_int_eq(pmt_sink_text_open(&sink, r->path, message), PMT_OK);
    ck_assert_str_eq(pmt_sink_path(sink), r->path);
    ck_assert_int_eq(pmt_tracer_add_sink(r->tracer, sink), PMT_OK);
}

/* The same on a descriptor of the test's (pmt_sink_text_fd): a sink without a file of its own
 * writes whole buffers, never through a window. */
static void text_run_open_fd(text_run *r)
{
    memset(r, 0, sizeof *r);
    r->dir = temp_dir_create();
    ck_assert_int_gt(asprintf(&r->path, "%s/trace.log", r->dir), 0);
    r->tracer = fake_tracer(&r->clock, &r->rss, 0, NULL);
    r->fd = open(r->path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    ck_assert_int_ge(r->fd, 0);
    pmt_sink *sink = NULL;
    ck_assert_int_eq(pmt_sink_text_fd(&sink, r->fd, NULL), PMT_OK);
    ck_assert_int_eq(pmt_tracer_add_sink(r->tracer, sink), PMT_OK);
}

static void at(text_run *r, uint64_t ns_after_t0, uint64_t rss)
{
    r->clock.now = T0 + ns_after_t0;
    r->rss.value = rss;
}

static void text_run_close(text_run *r)
{
    pmt_tracer_destroy(r->tracer);
    r->tracer = NULL;
}

static void text_run_free(text_run *r)
{
    if (r->tracer)
        pmt_tracer_destroy(r->tracer);
    if (r->fd >= 0)
        close(r->fd);
    free(r->path);
    temp_dir_remove(r->dir);
}

static void assert_file_is(const char *path, const strbuf *want)
{
    size_t len = 0;
    char *got = read_whole_file(path, &len);
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got, want->data);
    ck_assert_uint_eq(len, want->len);
    free(got);
}

START_TEST(scripted_run_byte_exact)
{
    text_run r;
    text_run_open(&r, 100, "Test run");
    g_source.file = "main.py";
    g_source.function = "<module>";
    g_source.line = 1;
    at(&r, 0, 10000);
    ck_assert_int_eq(pmt_tracer_start(r.tracer), PMT_OK);
    at(&r, 250000000, 10050);
    pmt__tracer_event(r.tracer, PMT_EV_CALL, "lib/util.py", "helper", 12, 1);
    at(&r, 500000000, 10200);
    pmt__tracer_event(r.tracer, PMT_EV_C_CALL, "lib/util.py", "len", 13, 1);
    at(&r, 600000000, 10200);
    g_source.line = 20;
    ck_assert_int_eq(pmt_tracer_mark(r.tracer, "first line\nsecond line"), PMT_OK);
    at(&r, 1234567890, 9000); /* not a whole microsecond: the clock rounds */
    pmt__tracer_event(r.tracer, PMT_EV_RETURN, "lib/util.py", "helper", 14, 1);
    at(&r, 1300000000, 9050);
    pmt__tracer_event(r.tracer, PMT_EV_C_EXCEPTION, "lib/util.py", "boom", 15, 1);
    at(&r, 1400000000, 9099);
    pmt__tracer_event(r.tracer, PMT_EV_C_RETURN, "café.py", "函数", 16, 2);
    at(&r, 1500000000, 9100);
    pmt__tracer_event(r.tracer, PMT_EV_CALL, "lib/other.py", "g", 17, 2);
    at(&r, 2000000000, 9100);
    g_source.line = 30;
    ck_assert_int_eq(pmt_tracer_stop(r.tracer), PMT_OK);
    text_run_close(&r);

    strbuf want = {0};
    expect_header(&want, "Test run");
    expect_row(&want, "FRST:", 0, 0, 0, "START", "main.py", 1, "<module>", 10000, 10000);
    expect_row(&want, "PREV:", 1, 1, 250000000, "CALL", "lib/util.py", 12, "helper", 10050, 50);
    expect_row(&want, "NEXT:", 2, 1, 500000000, "C_CALL", "lib/util.py", 13, "len", 10200, 150);
    expect_msg(&want, 3, 1, 600000000, "first line");
    expect_msg(&want, 3, 1, 600000000, "second line");
    expect_row(&want, "NEXT:", 4, 1, 1234567890, "RETURN", "lib/util.py", 14, "helper", 9000,
               -1200);
    expect_row(&want, "PREV:", 6, 2, 1400000000, "C_RETURN", "café.py", 16, "函数", 9099, 99);
    expect_row(&want, "NEXT:", 7, 1, 1500000000, "CALL", "lib/other.py", 17, "g", 9100, 1);
    expect_row(&want, "LAST:", 8, 1, 2000000000, "STOP", "main.py", 30, "<module>", 9100, 0);
    strbuf_printf(&want, "EOF\n");
    assert_file_is(r.path, &want);
    strbuf_free(&want);
    text_run_free(&r);
}
END_TEST

START_TEST(header_without_message_and_no_events)
{
    char *dir = temp_dir_create();
    char *path = NULL;
    ck_assert_int_gt(asprintf(&path, "%s/empty.log", dir), 0);
    pmt_sink *sink = NULL;
    ck_assert_int_eq(pmt_sink_text_open(&sink, path, NULL), PMT_OK);
    /* The header is on disk as soon as the sink exists. */
    strbuf want = {0};
    expect_header(&want, NULL);
    assert_file_is(path, &want);
    pmt_sink_destroy(sink);
    strbuf_printf(&want, "EOF\n");
    assert_file_is(path, &want);
    strbuf_free(&want);
    free(path);
    temp_dir_remove(dir);
}
END_TEST

START_TEST(long_names_written_whole)
{
    /* Longer than PATH_MAX, and longer than the whole write buffer. */
    const size_t lengths[] = {4097, 5000, BUFFER_BYTES + 4000};
    char *names[3];
    for (size_t i = 0; i < 3; i++) {
        names[i] = malloc(lengths[i] + 1);
        ck_assert_ptr_nonnull(names[i]);
        for (size_t j = 0; j < lengths[i]; j++)
            names[i][j] = (char)('a' + (j * 7 + i) % 26);
        names[i][lengths[i] - 3] = '.';
        names[i][lengths[i] - 2] = 'p';
        names[i][lengths[i] - 1] = 'y';
        names[i][lengths[i]] = '\0';
    }
    text_run r;
    text_run_open(&r, 0, NULL);
    at(&r, 0, 4096);
    ck_assert_int_eq(pmt_tracer_start(r.tracer), PMT_OK);
    strbuf want = {0};
    expect_header(&want, NULL);
    expect_row(&want, "FRST:", 0, 0, 0, "START", "main.py", 1, "<module>", 4096, 4096);
    for (size_t i = 0; i < 3; i++) {
        at(&r, 1000 * (i + 1), 4096);
        pmt__tracer_event(r.tracer, PMT_EV_CALL, names[i], names[2 - i], (int32_t)i, 0);
        expect_row(&want, "NEXT:", i + 1, 1, 1000 * (i + 1), "CALL", names[i], (int32_t)i,
                   names[2 - i], 4096, 0);
    }
    at(&r, 5000, 4096);
    ck_assert_int_eq(pmt_tracer_stop(r.tracer), PMT_OK);
    expect_row(&want, "LAST:", 4, 1, 5000, "STOP", "main.py", 1, "<module>", 4096, 0);
    strbuf_printf(&want, "EOF\n");
    text_run_close(&r);
    assert_file_is(r.path, &want);
    strbuf_free(&want);
    for (size_t i = 0; i < 3; i++)
        free(names[i]);
    text_run_free(&r);
}
END_TEST

START_TEST(control_characters_are_escaped)
{
    text_run r;
    text_run_open(&r, 0, NULL);
    at(&r, 0, 4096);
    ck_assert_int_eq(pmt_tracer_start(r.tracer), PMT_OK);
    at(&r, 1000, 4096);
    pmt__tracer_event(r.tracer, PMT_EV_CALL, "dir/new\nline.py", "tab\there\x01\x7f", 3, 0);
    at(&r, 2000, 4096);
    ck_assert_int_eq(pmt_tracer_mark(r.tracer, "\ttabbed\r\nnext \x1b[0m"), PMT_OK);
    at(&r, 3000, 4096);
    ck_assert_int_eq(pmt_tracer_stop(r.tracer), PMT_OK);
    text_run_close(&r);

    strbuf want = {0};
    expect_header(&want, NULL);
    expect_row(&want, "FRST:", 0, 0, 0, "START", "main.py", 1, "<module>", 4096, 4096);
    expect_row(&want, "NEXT:", 1, 1, 1000, "CALL", "dir/new\\x0aline.py", 3,
               "tab\\x09here\\x01\\x7f", 4096, 0);
    expect_msg(&want, 2, 1, 2000, "\\x09tabbed\\x0d");
    expect_msg(&want, 2, 1, 2000, "next \\x1b[0m");
    expect_row(&want, "LAST:", 3, 1, 3000, "STOP", "main.py", 1, "<module>", 4096, 0);
    strbuf_printf(&want, "EOF\n");
    assert_file_is(r.path, &want);
    strbuf_free(&want);
    text_run_free(&r);
}
END_TEST

static size_t file_size(const char *path)
{
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    return (size_t)st.st_size;
}

START_TEST(rows_reach_the_file_after_one_second_at_marks_and_at_pause)
{
    text_run r;
    text_run_open_fd(&r);
    strbuf want = {0};
    expect_header(&want, NULL);
    const size_t header = want.len;
    at(&r, 0, 4096);
    ck_assert_int_eq(pmt_tracer_start(r.tracer), PMT_OK);
    for (int i = 1; i <= 9; i++) {
        at(&r, 100000000u * (uint64_t)i, 4096);
        pmt__tracer_event(r.tracer, PMT_EV_CALL, "x.py", "f", i, 0);
    }
    /* Less than a second of event time and a few hundred bytes: still buffered. */
    ck_assert_uint_eq(file_size(r.path), header);
    at(&r, 1000000000u, 8192);
    pmt__tracer_event(r.tracer, PMT_EV_CALL, "x.py", "f", 10, 0);
    expect_row(&want, "FRST:", 0, 0, 0, "START", "main.py", 1, "<module>", 4096, 4096);
    for (int i = 1; i <= 9; i++)
        expect_row(&want, "NEXT:", (uint64_t)i, 1, 100000000u * (uint64_t)i, "CALL", "x.py", i, "f",
                   4096, 0);
    expect_row(&want, "NEXT:", 10, 1, 1000000000u, "CALL", "x.py", 10, "f", 8192, 4096);
    assert_file_is(r.path, &want);

    at(&r, 1000000001u, 8192);
    pmt__tracer_event(r.tracer, PMT_EV_CALL, "x.py", "f", 11, 0);
    expect_row(&want, "NEXT:", 11, 1, 1000000001u, "CALL", "x.py", 11, "f", 8192, 0);
    ck_assert_uint_lt(file_size(r.path), want.len);
    at(&r, 1000000002u, 8192);
    ck_assert_int_eq(pmt_tracer_mark(r.tracer, "now"), PMT_OK);
    expect_msg(&want, 12, 1, 1000000002u, "now");
    assert_file_is(r.path, &want);

    at(&r, 1000000003u, 8192);
    pmt__tracer_event(r.tracer, PMT_EV_CALL, "x.py", "f", 13, 0);
    expect_row(&want, "NEXT:", 13, 1, 1000000003u, "CALL", "x.py", 13, "f", 8192, 0);
    ck_assert_uint_lt(file_size(r.path), want.len);
    ck_assert_int_eq(pmt_tracer_pause(r.tracer), PMT_OK);
    assert_file_is(r.path, &want);
    strbuf_free(&want);
    text_run_free(&r);
}
END_TEST

START_TEST(header_message_stays_one_line)
{
    char *dir = temp_dir_create();
    char *path = NULL;
    ck_assert_int_gt(asprintf(&path, "%s/message.log", dir), 0);
    pmt_sink *sink = NULL;
    ck_assert_int_eq(pmt_sink_text_open(&sink, path, "run 1\nof 2\ttabbed, café"), PMT_OK);
    pmt_sink_destroy(sink);
    strbuf want = {0};
    expect_header(&want, "run 1\\x0aof 2\\x09tabbed, café");
    strbuf_printf(&want, "EOF\n");
    assert_file_is(path, &want);
    strbuf_free(&want);
    free(path);
    temp_dir_remove(dir);
}
END_TEST

START_TEST(buffer_holds_at_most_64k)
{
    text_run r;
    text_run_open_fd(&r);
    strbuf want = {0};
    expect_header(&want, NULL);
    at(&r, 0, 4096);
    ck_assert_int_eq(pmt_tracer_start(r.tracer), PMT_OK);
    expect_row(&want, "FRST:", 0, 0, 0, "START", "main.py", 1, "<module>", 4096, 4096);
    /* The clock stands still, so only the size limit makes rows reach the file. */
    size_t previous = file_size(r.path);
    int grew = 0;
    for (int i = 1; i <= 3000; i++) {
        at(&r, 0, 4096 + (uint64_t)i);
        pmt__tracer_event(r.tracer, PMT_EV_RETURN, "pkg/module.py", "function_name", i, 3);
        expect_row(&want, "NEXT:", (uint64_t)i, 1, 0, "RETURN", "pkg/module.py", i, "function_name",
                   4096 + (uint64_t)i, 1);
        size_t size = file_size(r.path);
        ck_assert_msg(want.len - size <= BUFFER_BYTES, "%zu bytes not yet written after row %d",
                      want.len - size, i);
        grew += size != previous;
        previous = size;
    }
    ck_assert_int_ge(grew, 5);
    text_run_close(&r);
    strbuf_printf(&want, "LAST: "); /* the rest of the file is checked elsewhere */
    size_t len = 0;
    char *got = read_whole_file(r.path, &len);
    ck_assert_ptr_nonnull(got);
    ck_assert_uint_gt(len, want.len);
    ck_assert_int_eq(memcmp(got, want.data, want.len), 0);
    free(got);
    strbuf_free(&want);
    text_run_free(&r);
}
END_TEST

/* The whole lines of a log file: a window (file_window.h) may hold the start of a row after
 * them, then zeros up to the window's end. */
static size_t whole_lines(const char *got, size_t len)
{
    const char *nul = memchr(got, '\0', len);
    size_t end = nul ? (size_t)(nul - got) : len;
    while (end > 0 && got[end - 1] != '\n')
        end--;
    return end;
}

static void assert_rows_are(const char *path, const strbuf *want)
{
    size_t len = 0;
    char *got = read_whole_file(path, &len);
    ck_assert_ptr_nonnull(got);
    size_t lines = whole_lines(got, len);
    ck_assert_msg(lines == want->len && memcmp(got, want->data, lines) == 0,
                  "the file's rows (%zu bytes) are not the %zu expected", lines, want->len);
    free(got);
}

/* A sink with a file of its own writes rows into a window over the file: each row is in the
 * file as soon as the event is written, with no second to wait and no buffer to fill. */
START_TEST(rows_of_an_own_file_are_in_it_at_once)
{
    text_run r;
    text_run_open(&r, 0, NULL);
    strbuf want = {0};
    expect_header(&want, NULL);
    at(&r, 0, 4096);
    ck_assert_int_eq(pmt_tracer_start(r.tracer), PMT_OK);
    expect_row(&want, "FRST:", 0, 0, 0, "START", "main.py", 1, "<module>", 4096, 4096);
    assert_rows_are(r.path, &want);
    for (int i = 1; i <= 3000; i++) { /* several windows */
        at(&r, 0, 4096 + (uint64_t)i);
        pmt__tracer_event(r.tracer, PMT_EV_RETURN, "pkg/module.py", "function_name", i, 3);
        expect_row(&want, "NEXT:", (uint64_t)i, 1, 0, "RETURN", "pkg/module.py", i, "function_name",
                   4096 + (uint64_t)i, 1);
        if (i % 97 == 0 || i < 5)
            assert_rows_are(r.path, &want);
    }
    at(&r, 1, 4096 + 3000);
    ck_assert_int_eq(pmt_tracer_mark(r.tracer, "a mark"), PMT_OK);
    expect_msg(&want, 3001, 1, 1, "a mark");
    assert_rows_are(r.path, &want);
    at(&r, 2, 4096 + 3000);
    ck_assert_int_eq(pmt_tracer_stop(r.tracer), PMT_OK);
    text_run_close(&r); /* closed: cut after EOF, no zeros */
    expect_row(&want, "LAST:", 3002, 1, 2, "STOP", "main.py", 1, "<module>", 4096 + 3000, 0);
    strbuf_printf(&want, "EOF\n");
    assert_file_is(r.path, &want);
    strbuf_free(&want);
    text_run_free(&r);
}
END_TEST

Suite *text_sink_suite(void)
{
    Suite *s = suite_create("text_sink");
    TCase *tc = unit_tcase("text_sink");
    tcase_add_test(tc, scripted_run_byte_exact);
    tcase_add_test(tc, header_without_message_and_no_events);
    tcase_add_test(tc, header_message_stays_one_line);
    tcase_add_test(tc, long_names_written_whole);
    tcase_add_test(tc, control_characters_are_escaped);
    tcase_add_test(tc, rows_reach_the_file_after_one_second_at_marks_and_at_pause);
    tcase_add_test(tc, buffer_holds_at_most_64k);
    tcase_add_test(tc, rows_of_an_own_file_are_in_it_at_once);
    suite_add_tcase(s, tc);
    return s;
}
