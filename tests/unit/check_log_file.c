/* Creating log files: the default name, never overwriting, private mode, no symlink following,
 * and the errors of an unusable directory. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fakes.h"
#include "suites.h"

/* The tests chdir into a temporary directory; going back keeps CK_FORK=no runs sane. */
typedef struct in_dir {
    char *dir;
    int saved_cwd;
} in_dir;

static void enter_temp_dir(in_dir *d)
{
    d->dir = temp_dir_create();
    d->saved_cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ck_assert_int_ge(d->saved_cwd, 0);
    ck_assert_int_eq(chdir(d->dir), 0);
}

static void leave_temp_dir(in_dir *d)
{
    ck_assert_int_eq(fchdir(d->saved_cwd), 0);
    close(d->saved_cwd);
    temp_dir_remove(d->dir);
}

static void write_file(const char *path, const char *content)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_ge(fputs(content, f), 0);
    ck_assert_int_eq(fclose(f), 0);
}

static void assert_content(const char *path, const char *content)
{
    char *got = read_whole_file(path, NULL);
    ck_assert_msg(got != NULL, "cannot read %s", path);
    ck_assert_str_eq(got, content);
    free(got);
}

/* Opens a text sink at path, checks the name it chose, and closes it. */
static void open_expecting(const char *path, const char *expected_path)
{
    pmt_sink *sink = NULL;
    ck_assert_int_eq(pmt_sink_text_open(&sink, path, NULL), PMT_OK);
    ck_assert_str_eq(pmt_sink_path(sink), expected_path);
    pmt_sink_destroy(sink);
    char *got = read_whole_file(expected_path, NULL);
    ck_assert_ptr_nonnull(got);
    ck_assert_int_eq(strncmp(got, "SOF\n", 4), 0);
    free(got);
}

static void default_name_at(char *out, size_t size, time_t when, const char *ordinal)
{
    struct tm tm;
    ck_assert_ptr_nonnull(gmtime_r(&when, &tm));
    snprintf(out, size, "%02d%02d%02d_%02d%02d%02d_%ld%s.log", tm.tm_year % 100, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)getpid(), ordinal);
}

/* The name the sink used, without a leading "./" or directory: it must be in the cwd. */
static const char *name_in_cwd(const pmt_sink *sink)
{
    const char *path = pmt_sink_path(sink);
    ck_assert_ptr_nonnull(path);
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    struct stat by_path, by_name;
    ck_assert_int_eq(stat(path, &by_path), 0);
    ck_assert_int_eq(stat(name, &by_name), 0);
    ck_assert(by_path.st_ino == by_name.st_ino && by_path.st_dev == by_name.st_dev);
    return name;
}

START_TEST(default_name_is_utc_time_and_pid_in_cwd)
{
    in_dir d;
    enter_temp_dir(&d);
    time_t before = time(NULL);
    pmt_sink *sink = NULL;
    ck_assert_int_eq(pmt_sink_text_open(&sink, NULL, NULL), PMT_OK);
    time_t after = time(NULL);
    const char *name = name_in_cwd(sink);
    int matched = 0;
    for (time_t t = before; t <= after; t++) {
        char want[64];
        default_name_at(want, sizeof want, t, "");
        matched |= strcmp(name, want) == 0;
    }
    ck_assert_msg(matched, "default name %s is not YYMMDD_HHMMSS_PID.log of now (UTC)", name);
    pmt_sink_destroy(sink);
    leave_temp_dir(&d);
}
END_TEST

START_TEST(default_name_taken_gets_an_ordinal)
{
    in_dir d;
    enter_temp_dir(&d);
    /* Take the names of the next few seconds, whichever the sink lands on. */
    time_t before = time(NULL);
    for (time_t t = before; t < before + 5; t++) {
        char name[64];
        default_name_at(name, sizeof name, t, "");
        write_file(name, "taken");
    }
    pmt_sink *sink = NULL;
    ck_assert_int_eq(pmt_sink_text_open(&sink, NULL, NULL), PMT_OK);
    time_t after = time(NULL);
    ck_assert_int_lt(after, before + 5);
    const char *name = name_in_cwd(sink);
    int matched = 0;
    for (time_t t = before; t <= after; t++) {
        char want[64];
        default_name_at(want, sizeof want, t, "_1");
        matched |= strcmp(name, want) == 0;
    }
    ck_assert_msg(matched, "name %s is not the taken default name with _1", name);
    pmt_sink_destroy(sink);
    for (time_t t = before; t < before + 5; t++) {
        char taken[64];
        default_name_at(taken, sizeof taken, t, "");
        assert_content(taken, "taken");
    }
    leave_temp_dir(&d);
}
END_TEST

START_TEST(existing_files_are_never_overwritten)
{
    in_dir d;
    enter_temp_dir(&d);
    write_file("trace.log", "keep me");
    open_expecting("trace.log", "trace_1.log");
    open_expecting("trace.log", "trace_2.log");
    assert_content("trace.log", "keep me");

    write_file("plain", "plain");
    open_expecting("plain", "plain_1");
    write_file("a.tar.gz", "archive");
    open_expecting("a.tar.gz", "a.tar_1.gz");
    ck_assert_int_eq(mkdir("dir.d", 0700), 0);
    write_file("dir.d/trace", "nested");
    open_expecting("dir.d/trace", "dir.d/trace_1");
    write_file(".hidden", "hidden");
    open_expecting(".hidden", ".hidden_1");
    assert_content("plain", "plain");
    assert_content("a.tar.gz", "archive");
    assert_content("dir.d/trace", "nested");
    assert_content(".hidden", "hidden");

    /* An absolute path that is free is used as given. */
    char *absolute = NULL;
    ck_assert_int_gt(asprintf(&absolute, "%s/fresh.log", d.dir), 0);
    open_expecting(absolute, absolute);
    free(absolute);
    leave_temp_dir(&d);
}
END_TEST

START_TEST(files_are_created_0600)
{
    in_dir d;
    enter_temp_dir(&d);
    /* With no umask, the mode is the library's alone. */
    mode_t old = umask(0);
    pmt_sink *sink = NULL;
    int rc = pmt_sink_text_open(&sink, "private.log", NULL);
    umask(old);
    ck_assert_int_eq(rc, PMT_OK);
    struct stat st;
    ck_assert_int_eq(stat("private.log", &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0600);
    ck_assert(S_ISREG(st.st_mode));
    pmt_sink_destroy(sink);
    leave_temp_dir(&d);
}
END_TEST

static void assert_symlink_to(const char *link, const char *target)
{
    char buf[256];
    ssize_t n = readlink(link, buf, sizeof buf - 1);
    ck_assert_int_gt(n, 0);
    buf[n] = '\0';
    ck_assert_str_eq(buf, target);
}

START_TEST(symlinks_are_not_followed)
{
    in_dir d;
    enter_temp_dir(&d);
    write_file("target.txt", "original");
    ck_assert_int_eq(symlink("target.txt", "trace.log"), 0);
    pmt_sink *sink = NULL;
    int rc = pmt_sink_text_open(&sink, "trace.log", NULL);
    if (rc == PMT_OK) {
        ck_assert_str_ne(pmt_sink_path(sink), "trace.log");
        pmt_sink_destroy(sink);
    } else {
        ck_assert_int_eq(rc, PMT_EIO);
    }
    assert_content("target.txt", "original");
    assert_symlink_to("trace.log", "target.txt");

    /* A dangling link must not create its target. */
    ck_assert_int_eq(symlink("created-through-link.txt", "dangling.log"), 0);
    rc = pmt_sink_text_open(&sink, "dangling.log", NULL);
    if (rc == PMT_OK) {
        ck_assert_str_ne(pmt_sink_path(sink), "dangling.log");
        pmt_sink_destroy(sink);
    }
    ck_assert_int_eq(access("created-through-link.txt", F_OK), -1);
    assert_symlink_to("dangling.log", "created-through-link.txt");

    /* Nor a link at an ordinal name. */
    write_file("x.log", "x");
    ck_assert_int_eq(symlink("target.txt", "x_1.log"), 0);
    rc = pmt_sink_text_open(&sink, "x.log", NULL);
    if (rc == PMT_OK) {
        ck_assert_str_eq(pmt_sink_path(sink), "x_2.log");
        pmt_sink_destroy(sink);
    }
    assert_content("target.txt", "original");
    assert_content("x.log", "x");
    leave_temp_dir(&d);
}
END_TEST

START_TEST(unusable_directories_fail_with_eio)
{
    in_dir d;
    enter_temp_dir(&d);
    pmt_sink *sink = NULL;
    ck_assert_int_eq(pmt_sink_text_open(&sink, "missing/dir/trace.log", NULL), PMT_EIO);
    ck_assert_int_eq(pmt_last_os_error(), ENOENT);
    ck_assert_ptr_nonnull(strstr(pmt_last_error_message(), "missing/dir/trace.log"));
    /* The OS error belongs to that failure only. */
    ck_assert_int_eq(pmt_sink_text_open(NULL, "x.log", NULL), PMT_EINVAL);
    ck_assert_int_eq(pmt_last_os_error(), 0);

    /* Root bypasses permission bits, so only an unprivileged run can see EACCES. */
    if (geteuid() != 0) {
        ck_assert_int_eq(mkdir("readonly", 0500), 0);
        ck_assert_int_eq(pmt_sink_text_open(&sink, "readonly/trace.log", NULL), PMT_EIO);
        ck_assert_int_eq(pmt_last_os_error(), EACCES);
        ck_assert_str_ne(pmt_last_error_message(), "");
    }
    leave_temp_dir(&d);
}
END_TEST

START_TEST(empty_path_is_invalid)
{
    in_dir d;
    enter_temp_dir(&d);
    pmt_sink *sink = NULL;
    ck_assert_int_eq(pmt_sink_text_open(&sink, "", NULL), PMT_EINVAL);
    leave_temp_dir(&d);
}
END_TEST

START_TEST(sink_path_of_other_sinks_is_null)
{
    capture cap = {0};
    pmt_sink *sink = capture_sink(&cap);
    ck_assert_ptr_null(pmt_sink_path(sink));
    ck_assert_ptr_null(pmt_sink_path(NULL));
    pmt_sink_destroy(sink);
    ck_assert_int_eq(cap.closes, 1);
}
END_TEST

Suite *log_file_suite(void)
{
    Suite *s = suite_create("log_file");
    TCase *tc = unit_tcase("log_file");
    tcase_add_test(tc, default_name_is_utc_time_and_pid_in_cwd);
    tcase_add_test(tc, default_name_taken_gets_an_ordinal);
    tcase_add_test(tc, existing_files_are_never_overwritten);
    tcase_add_test(tc, files_are_created_0600);
    tcase_add_test(tc, symlinks_are_not_followed);
    tcase_add_test(tc, unusable_directories_fail_with_eio);
    tcase_add_test(tc, empty_path_is_invalid);
    tcase_add_test(tc, sink_path_of_other_sinks_is_null);
    suite_add_tcase(s, tc);
    return s;
}
