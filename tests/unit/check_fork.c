/* A tracer's copy in a child of fork (PMT_PARAM_ON_FORK), with real processes: the parent's log
 * is byte for byte what it would have been without the child, a stopped child writes nothing
 * anywhere, a following child writes a log of its own named after its pid. Children report
 * through their exit status: a failed check assertion there would run the rest of the suite in
 * the child. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "binlog.h"
#include "log/file_sink.h"
#include "expect_text.h"
#include "fakes.h"
#include "suites.h"

static const uint64_t PARENT_RSS = 64u << 20;
static const uint64_t CHILD_RSS = 80u << 20;
static const char *const MESSAGE = "fork test";

typedef struct fork_run {
    fake_clock clock;
    fake_rss rss;
    capture cap;
    pmt_tracer *t;
    pmt_sink *log;
    char *dir, *path;
} fork_run;

/* A started tracer (every event written) with a text or binary log at dir/name and a capturing
 * sink. */
static void start_run(fork_run *r, const char *dir, const char *name, int binary, int64_t mode)
{
    memset(r, 0, sizeof *r);
    r->rss.value = PARENT_RSS;
    r->t = fake_tracer(&r->clock, &r->rss, 0, &r->cap);
    ck_assert_int_eq(pmt_tracer_set_param(r->t, PMT_PARAM_ON_FORK, mode), PMT_OK);
    ck_assert_int_gt(asprintf(&r->path, "%s/%s", dir, name), 0);
    int rc = binary ? pmt_sink_binary_open(&r->log, r->path, MESSAGE, NULL)
                    : pmt_sink_text_open(&r->log, r->path, MESSAGE);
    ck_assert_int_eq(rc, PMT_OK);
    ck_assert_str_eq(pmt_sink_path(r->log), r->path);
    ck_assert_int_eq(pmt_tracer_add_sink(r->t, r->log), PMT_OK);
    ck_assert_int_eq(pmt_tracer_start(r->t), PMT_OK);
}

static void parent_events(fork_run *r, int from, int to)
{
    for (int i = from; i <= to; i++) {
        r->clock.now = 1000u * (uint64_t)i;
        r->rss.value = PARENT_RSS + 4096u * (uint64_t)i;
        pmt__tracer_event(r->t, PMT_EV_CALL, "parent.py", "parent_work", i, 1);
    }
}

static void end_run(fork_run *r)
{
    ck_assert_int_eq(pmt_tracer_stop(r->t), PMT_OK);
    pmt_tracer_destroy(r->t);
    capture_free(&r->cap);
    free(r->path);
}

/* What the parent writes, run once without a fork: the log the forking run must match. */
static void reference_log(const char *dir, const char *name, int binary)
{
    fork_run r;
    start_run(&r, dir, name, binary, PMT_FORK_STOP);
    parent_events(&r, 1, 6);
    end_run(&r);
}

static pid_t fork_child(fork_run *r, int (*child)(fork_run *))
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(child(r));
    return pid;
}

static void wait_child(pid_t pid)
{
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "the child failed its check %d (status 0x%x)",
                  WIFEXITED(status) ? WEXITSTATUS(status) : -1, (unsigned)status);
}

/* Names in dir, sorted, joined by spaces. */
static char *listing(const char *dir)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, alphasort);
    ck_assert_int_ge(n, 0);
    strbuf b = {0};
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.')
            strbuf_printf(&b, "%s%s", b.len ? " " : "", names[i]->d_name);
        free(names[i]);
    }
    free(names);
    strbuf_append(&b, "", 1);
    return b.data;
}

/* The parent's part of every scenario: events buffered (not yet written) when it forks, its log
 * untouched while the child runs and exits, then the parent goes on and its log is the
 * reference's. Returns the child's pid. */
static pid_t run_scenario(const char *dir, int binary, int64_t mode, int (*child)(fork_run *))
{
    const char *name = binary ? "trace.pmt" : "trace.log";
    const char *ref_name = binary ? "ref.pmt" : "ref.log";
    reference_log(dir, ref_name, binary);
    fork_run r;
    start_run(&r, dir, name, binary, mode);
    parent_events(&r, 1, 3);
    size_t before_len = 0, after_len = 0;
    char *before = read_whole_file(r.path, &before_len);
    pid_t pid = fork_child(&r, child);
    wait_child(pid);
    char *after = read_whole_file(r.path, &after_len);
    ck_assert_ptr_nonnull(before);
    ck_assert_ptr_nonnull(after);
    ck_assert_msg(after_len == before_len && memcmp(before, after, before_len) == 0,
                  "the child changed the parent's log (%zu bytes, then %zu)", before_len,
                  after_len);
    free(before);
    free(after);
    ck_assert_uint_eq(r.cap.count, 4); /* START and 3 events: the child's are its own */
    parent_events(&r, 4, 6);
    char *path = strdup(r.path);
    end_run(&r);
    char *ref_path = NULL;
    ck_assert_int_gt(asprintf(&ref_path, "%s/%s", dir, ref_name), 0);
    if (binary) {
        binlog_read got, want;
        binlog_read_file(path, &got);
        binlog_read_file(ref_path, &want);
        ck_assert_int_eq(got.open_rc, PMT_OK);
        ck_assert_int_eq(got.status, PMT_OK);
        ck_assert_int_eq(got.info.process_id, getpid());
        ck_assert_uint_eq(got.events.count, want.events.count);
        for (size_t i = 0; i < want.events.count; i++)
            binlog_assert_event_eq(&got.events.events[i], &want.events.events[i], "parent", i);
        binlog_read_free(&got);
        binlog_read_free(&want);
    } else {
        size_t got_len = 0, want_len = 0;
        char *got = read_whole_file(path, &got_len);
        char *want = read_whole_file(ref_path, &want_len);
        ck_assert_ptr_nonnull(got);
        ck_assert_ptr_nonnull(want);
        ck_assert_str_eq(got, want);
        free(got);
        free(want);
    }
    free(ref_path);
    free(path);
    return pid;
}

/* --- PMT_FORK_STOP ------------------------------------------------------------------------- */

/* Everything a child could do with its copy: events, a mark, pause, resume, stop, destroy. */
static int silent_child(fork_run *r)
{
    size_t delivered = r->cap.count;
    int flushes = r->cap.flushes, attaches = g_source.attach_calls;
    for (int i = 0; i < 5; i++) {
        r->clock.now = 90000u + 1000u * (uint64_t)i;
        r->rss.value = CHILD_RSS + 4096u * (uint64_t)i;
        pmt__tracer_event(r->t, PMT_EV_CALL, "child.py", "child_work", i, 1);
    }
    if (g_source.detach_calls != 0)
        return 10; /* not from inside a hook */
    if (pmt_tracer_mark(r->t, "child mark") != PMT_OK)
        return 11;
    if (g_source.detach_calls != 1)
        return 12; /* at the first API call */
    if (pmt_tracer_pause(r->t) != PMT_OK || pmt_tracer_resume(r->t) != PMT_OK)
        return 13;
    if (g_source.attach_calls != attaches || g_source.detach_calls != 1)
        return 14;
    pmt__tracer_event(r->t, PMT_EV_CALL, "child.py", "child_work", 9, 1);
    if (pmt_tracer_stop(r->t) != PMT_OK || pmt_tracer_state_of(r->t) != PMT_STATE_STOPPED)
        return 15;
    if (g_source.release_calls != 1)
        return 16;
    pmt_tracer_destroy(r->t);
    if (r->cap.count != delivered || r->cap.flushes != flushes || r->cap.closes != 1)
        return 17; /* no event, no flush, no finish: only close */
    return 0;
}

START_TEST(stop_child_writes_nothing)
{
    char *dir = temp_dir_create();
    run_scenario(dir, _i, PMT_FORK_STOP, silent_child);
    char *names = listing(dir);
    ck_assert_str_eq(names, _i ? "ref.pmt trace.pmt" : "ref.log trace.log");
    free(names);
    temp_dir_remove(dir);
}
END_TEST

/* A child that only destroys its copy (as an exiting interpreter may) writes nothing either,
 * following or not. */
static int destroying_child(fork_run *r)
{
    pmt_tracer_destroy(r->t);
    return r->cap.closes == 1 && r->cap.count == 4 ? 0 : 10;
}

START_TEST(child_that_only_destroys_writes_nothing)
{
    char *dir = temp_dir_create();
    run_scenario(dir, 0, _i ? PMT_FORK_FOLLOW : PMT_FORK_STOP, destroying_child);
    char *names = listing(dir);
    ck_assert_str_eq(names, "ref.log trace.log");
    free(names);
    temp_dir_remove(dir);
}
END_TEST

/* --- PMT_FORK_FOLLOW ----------------------------------------------------------------------- */

static char *child_path(const char *dir, const char *name, long pid)
{
    char *path = NULL;
    ck_assert_int_gt(asprintf(&path, "%s/%s.pid%ld.%s", dir, name, pid, "log"), 0);
    return path;
}

/* The child's run, noticed at its first event. */
static int following_child(fork_run *r)
{
    size_t delivered = r->cap.count;
    char *expected = NULL;
    if (asprintf(&expected, "%.*s.pid%ld%s", (int)(strlen(r->path) - 4), r->path, (long)getpid(),
                 r->path + strlen(r->path) - 4) < 0)
        return 9;
    r->clock.now = 50000;
    r->rss.value = CHILD_RSS;
    pmt__tracer_event(r->t, PMT_EV_CALL, "child.py", "child_work", 7, 2);
    if (strcmp(pmt_sink_path(r->log), expected) != 0)
        return 10;
    r->clock.now = 51000;
    r->rss.value = CHILD_RSS + 8192;
    pmt__tracer_event(r->t, PMT_EV_RETURN, "child.py", "child_work", 9, 2);
    uint64_t seen = 0, written = 0;
    pmt_tracer_get_stat(r->t, PMT_STAT_EVENTS_SEEN, &seen);
    pmt_tracer_get_stat(r->t, PMT_STAT_EVENTS_WRITTEN, &written);
    if (seen != 4 || written != 4)
        return 11;
    r->clock.now = 52000;
    if (pmt_tracer_mark(r->t, "child mark") != PMT_OK || pmt_tracer_stop(r->t) != PMT_OK)
        return 12;
    /* The callback sink carries on from the child's START. */
    const captured *c = &r->cap.events[delivered];
    if (r->cap.count != delivered + 6 || c[0].ev.kind != PMT_EV_START || c[0].ev.seq != 0 ||
        c[0].ev.reason != PMT_REASON_FIRST || c[1].ev.kind != PMT_EV_MARK ||
        c[5].ev.kind != PMT_EV_STOP || c[5].ev.seq != 5)
        return 13;
    pmt_tracer_destroy(r->t);
    free(expected);
    return 0;
}

START_TEST(follow_child_writes_its_own_text_log)
{
    char *dir = temp_dir_create();
    pid_t pid = run_scenario(dir, 0, PMT_FORK_FOLLOW, following_child);
    char *path = child_path(dir, "trace", (long)pid);
    char *names = listing(dir);
    char *expected_names = NULL;
    ck_assert_int_gt(asprintf(&expected_names, "ref.log trace.log trace.pid%ld.log", (long)pid), 0);
    ck_assert_str_eq(names, expected_names);
    strbuf want = {0}, fork_message = {0};
    strbuf_printf(&fork_message, "Forked: this is process %ld, a child of process %ld.", (long)pid,
                  (long)getpid());
    expect_header(&want, MESSAGE);
    expect_row(&want, "FRST:", 0, 0, 0, "START", "child.py", 7, "child_work", CHILD_RSS,
               (int64_t)CHILD_RSS);
    expect_msg(&want, 1, 1, 0, fork_message.data);
    expect_row(&want, "NEXT:", 2, 1, 0, "CALL", "child.py", 7, "child_work", CHILD_RSS, 0);
    expect_row(&want, "NEXT:", 3, 1, 1000, "RETURN", "child.py", 9, "child_work", CHILD_RSS + 8192,
               8192);
    expect_msg(&want, 4, 1, 2000, "child mark");
    expect_row(&want, "LAST:", 5, 1, 2000, "STOP", "main.py", 1, "<module>", CHILD_RSS + 8192, 0);
    strbuf_printf(&want, "EOF\n");
    char *got = read_whole_file(path, NULL);
    ck_assert_msg(got != NULL, "no child log %s", path);
    ck_assert_str_eq(got, want.data);
    free(got);
    strbuf_free(&want);
    strbuf_free(&fork_message);
    free(expected_names);
    free(names);
    free(path);
    temp_dir_remove(dir);
}
END_TEST

START_TEST(follow_child_writes_its_own_binary_log)
{
    char *dir = temp_dir_create();
    pid_t pid = run_scenario(dir, 1, PMT_FORK_FOLLOW, following_child);
    char *path = NULL;
    ck_assert_int_gt(asprintf(&path, "%s/trace.pid%ld.pmt", dir, (long)pid), 0);
    binlog_read got;
    binlog_read_file(path, &got);
    ck_assert_int_eq(got.open_rc, PMT_OK);
    ck_assert_int_eq(got.status, PMT_OK);
    ck_assert_int_eq(got.info.process_id, pid);
    ck_assert_str_eq(got.message, MESSAGE);
    ck_assert_uint_eq(got.info.events_seen, 6);
    ck_assert_uint_eq(got.events.count, 6);
    static const uint32_t kinds[] = {PMT_EV_START,  PMT_EV_MARK, PMT_EV_CALL,
                                     PMT_EV_RETURN, PMT_EV_MARK, PMT_EV_STOP};
    for (size_t i = 0; i < 6; i++) {
        ck_assert_uint_eq(got.events.events[i].ev.kind, kinds[i]);
        ck_assert_uint_eq(got.events.events[i].ev.seq, i);
    }
    ck_assert_uint_eq(got.events.events[0].ev.rss, CHILD_RSS);
    ck_assert_str_eq(got.events.events[4].message, "child mark");
    binlog_read_free(&got);
    free(path);
    temp_dir_remove(dir);
}
END_TEST

/* pmt_tracer_after_fork() makes the child's log exist before any event; a grandchild follows
 * from the child's log. */
static int grandparent_child(fork_run *r)
{
    if (pmt_tracer_after_fork(r->t) != PMT_OK)
        return 10;
    const char *mine = pmt_sink_path(r->log);
    size_t len = 0;
    char *content = read_whole_file(mine, &len);
    if (!content || !strstr(content, "FRST: 0 ") || strstr(content, "EOF"))
        return 11; /* header and START on disk, the log not finished */
    free(content);
    pid_t pid = fork();
    if (pid < 0)
        return 12;
    if (pid == 0) {
        r->clock.now = 70000;
        pmt__tracer_event(r->t, PMT_EV_CALL, "grandchild.py", "g", 1, 1);
        pmt_tracer_destroy(r->t);
        _exit(0);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return 13;
    char *expected = pmt__log_file_child_name(mine, (long)pid);
    if (!expected)
        return 14;
    content = read_whole_file(expected, NULL);
    if (!content || !strstr(content, "grandchild.py") || !strstr(content, "\nEOF\n"))
        return 15;
    free(content);
    content = read_whole_file(mine, NULL);
    if (!content || strstr(content, "grandchild.py"))
        return 16;
    free(content);
    free(expected);
    pmt_tracer_destroy(r->t);
    return 0;
}

START_TEST(after_fork_and_grandchildren)
{
    char *dir = temp_dir_create();
    pid_t pid = run_scenario(dir, 0, PMT_FORK_FOLLOW, grandparent_child);
    char *path = child_path(dir, "trace", (long)pid);
    char *got = read_whole_file(path, NULL);
    ck_assert_msg(got != NULL, "no child log %s", path);
    ck_assert_ptr_nonnull(strstr(got, "\nLAST: "));
    ck_assert_ptr_nonnull(strstr(got, "\nEOF\n"));
    free(got);
    free(path);
    temp_dir_remove(dir);
}
END_TEST

/* A text sink on a caller's descriptor (a pipe here) is the parent's too: a following child's
 * copy drops its rows and stops, and its events still reach the callback sink. */
static int child_of_a_pipe(fork_run *r)
{
    size_t delivered = r->cap.count;
    r->rss.value = CHILD_RSS;
    pmt__tracer_event(r->t, PMT_EV_CALL, "child.py", "child_work", 7, 2);
    if (pmt_tracer_stop(r->t) != PMT_OK || r->cap.count != delivered + 4)
        return 10; /* START, the fork's mark, the event, STOP */
    pmt_tracer_destroy(r->t);
    return 0;
}

START_TEST(descriptor_sink_stops_in_child)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    fork_run r;
    memset(&r, 0, sizeof r);
    r.rss.value = PARENT_RSS;
    r.t = fake_tracer(&r.clock, &r.rss, 0, &r.cap);
    ck_assert_int_eq(pmt_tracer_set_param(r.t, PMT_PARAM_ON_FORK, PMT_FORK_FOLLOW), PMT_OK);
    ck_assert_int_eq(pmt_sink_text_fd(&r.log, fds[1], MESSAGE), PMT_OK);
    ck_assert_int_eq(pmt_tracer_add_sink(r.t, r.log), PMT_OK);
    ck_assert_int_eq(pmt_tracer_start(r.t), PMT_OK);
    parent_events(&r, 1, 3);
    wait_child(fork_child(&r, child_of_a_pipe));
    parent_events(&r, 4, 6);
    ck_assert_int_eq(pmt_tracer_stop(r.t), PMT_OK);
    pmt_tracer_destroy(r.t);
    capture_free(&r.cap);
    close(fds[1]);
    strbuf got = {0};
    char buf[4096];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0)
        strbuf_append(&got, buf, (size_t)n);
    strbuf_append(&got, "", 1);
    close(fds[0]);
    char *dir = temp_dir_create();
    reference_log(dir, "ref.log", 0);
    char *path = NULL;
    ck_assert_int_gt(asprintf(&path, "%s/ref.log", dir), 0);
    char *want = read_whole_file(path, NULL);
    ck_assert_ptr_nonnull(want);
    ck_assert_str_eq(got.data, want);
    free(want);
    free(path);
    strbuf_free(&got);
    temp_dir_remove(dir);
}
END_TEST

/* A tracer created (its log opened) by the parent and started by the child: silent, or
 * started into the child's own log. */
static int starting_child(fork_run *r)
{
    int64_t mode = PMT_FORK_STOP;
    pmt_tracer_get_param(r->t, PMT_PARAM_ON_FORK, &mode);
    if (pmt_tracer_start(r->t) != PMT_OK || pmt_tracer_state_of(r->t) != PMT_STATE_RUNNING)
        return 10;
    if ((mode == PMT_FORK_STOP) != (g_source.attach_calls == 0))
        return 11; /* a silent tracer attaches no hook */
    pmt__tracer_event(r->t, PMT_EV_CALL, "child.py", "child_work", 7, 2);
    if (pmt_tracer_stop(r->t) != PMT_OK)
        return 12;
    pmt_tracer_destroy(r->t);
    return 0;
}

START_TEST(created_by_the_parent_started_by_the_child)
{
    char *dir = temp_dir_create();
    fork_run r;
    memset(&r, 0, sizeof r);
    r.t = fake_tracer(&r.clock, &r.rss, 0, &r.cap);
    ck_assert_int_eq(pmt_tracer_set_param(r.t, PMT_PARAM_ON_FORK, _i), PMT_OK);
    ck_assert_int_gt(asprintf(&r.path, "%s/trace.log", dir), 0);
    ck_assert_int_eq(pmt_sink_text_open(&r.log, r.path, MESSAGE), PMT_OK);
    ck_assert_int_eq(pmt_tracer_add_sink(r.t, r.log), PMT_OK);
    char *before = read_whole_file(r.path, NULL);
    pid_t pid = fork_child(&r, starting_child);
    wait_child(pid);
    char *after = read_whole_file(r.path, NULL);
    ck_assert_str_eq(after, before);
    char *names = listing(dir);
    char *expected = NULL;
    ck_assert_int_gt(_i ? asprintf(&expected, "trace.log trace.pid%ld.log", (long)pid)
                        : asprintf(&expected, "trace.log"),
                     0);
    ck_assert_str_eq(names, expected);
    if (_i) {
        char *path = child_path(dir, "trace", (long)pid);
        char *child = read_whole_file(path, NULL);
        ck_assert_ptr_nonnull(child);
        ck_assert_ptr_nonnull(strstr(child, "child_work"));
        ck_assert_ptr_nonnull(strstr(child, "\nEOF\n"));
        free(child);
        free(path);
    }
    free(expected);
    free(names);
    free(before);
    free(after);
    pmt_tracer_destroy(r.t);
    capture_free(&r.cap);
    free(r.path);
    temp_dir_remove(dir);
}
END_TEST

/* --- the parameter and the name rule -------------------------------------------------------- */

/* --- a caller's sink ------------------------------------------------------------------------ */

/* A sink written as a user of the public API would: rows buffered in memory, written at flush,
 * its own file; in a child of fork it forgets the parent's rows and file and, when asked, opens
 * "<path>.child<PID>" of its own. */
typedef struct user_log {
    char *path;
    int fd;
    strbuf pending;
    int begins;
} user_log;

static int user_open(user_log *u, const char *path)
{
    free(u->path);
    u->path = strdup(path);
    u->fd = open(u->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    return u->fd >= 0 ? 0 : -1;
}

static int user_write(const pmt_event *ev, void *user_data)
{
    user_log *u = user_data;
    strbuf_printf(&u->pending, "%llu %s %s %s\n", (unsigned long long)ev->seq,
                  pmt_event_kind_name((int)ev->kind), ev->function,
                  ev->message ? ev->message : "-");
    return 0;
}

static int user_flush(void *user_data)
{
    user_log *u = user_data;
    ssize_t n = u->pending.len ? write(u->fd, u->pending.data, u->pending.len) : 0;
    int ok = n == (ssize_t)u->pending.len;
    u->pending.len = 0;
    return ok ? 0 : -1;
}

static int user_begin(const pmt_run_info *info, void *user_data)
{
    user_log *u = user_data;
    u->begins++;
    strbuf_printf(&u->pending, "begin pid %lld\n", (long long)info->process_id);
    return 0;
}

static void user_forget(void *user_data)
{
    user_log *u = user_data;
    u->pending.len = 0; /* the parent's rows: its copy writes them */
    close(u->fd);
    u->fd = -1;
}

static int user_reopen(int64_t child_pid, void *user_data)
{
    user_log *u = user_data;
    char *path = NULL;
    if (asprintf(&path, "%s.child%lld", u->path, (long long)child_pid) < 0)
        return -1;
    int rc = user_open(u, path);
    free(path);
    return rc;
}

static const char *user_path(void *user_data)
{
    return ((user_log *)user_data)->path;
}

static void user_close(void *user_data)
{
    user_log *u = user_data;
    if (u->fd >= 0)
        close(u->fd);
    strbuf_free(&u->pending);
    free(u->path);
}

static int user_sink_child(fork_run *r)
{
    r->clock.now = 50000;
    r->rss.value = CHILD_RSS;
    pmt__tracer_event(r->t, PMT_EV_CALL, "child.py", "child_work", 7, 2);
    if (pmt_tracer_stop(r->t) != PMT_OK)
        return 20;
    pmt_tracer_destroy(r->t);
    return 0;
}

START_TEST(user_sink_follows_fork)
{
    char *dir = temp_dir_create();
    fork_run r;
    memset(&r, 0, sizeof r);
    r.rss.value = PARENT_RSS;
    r.t = fake_tracer(&r.clock, &r.rss, 0, NULL);
    ck_assert_int_eq(pmt_tracer_set_param(r.t, PMT_PARAM_ON_FORK, PMT_FORK_FOLLOW), PMT_OK);
    static user_log u;
    memset(&u, 0, sizeof u);
    char *path = NULL;
    ck_assert_int_gt(asprintf(&path, "%s/user.txt", dir), 0);
    ck_assert_int_eq(user_open(&u, path), 0);
    pmt_sink_ops ops = PMT_SINK_OPS_INIT;
    ops.write = user_write;
    ops.flush = user_flush;
    ops.begin = user_begin;
    ops.forget = user_forget;
    ops.reopen = user_reopen;
    ops.path = user_path;
    ops.close = user_close;
    pmt_sink *sink = NULL;
    ck_assert_int_eq(pmt_sink_create(&sink, &ops, &u), PMT_OK);
    ck_assert_str_eq(pmt_sink_path(sink), path);
    ck_assert_int_eq(pmt_tracer_add_sink(r.t, sink), PMT_OK);
    ck_assert_int_eq(pmt_tracer_start(r.t), PMT_OK);
    parent_events(&r, 1, 2); /* buffered in the parent when it forks */
    pid_t pid = fork_child(&r, user_sink_child);
    wait_child(pid);
    parent_events(&r, 3, 3);
    ck_assert_int_eq(pmt_tracer_stop(r.t), PMT_OK);
    pmt_tracer_destroy(r.t);

    strbuf want = {0};
    strbuf_printf(&want,
                  "begin pid %ld\n0 START <module> -\n1 CALL parent_work -\n"
                  "2 CALL parent_work -\n3 CALL parent_work -\n4 STOP <module> -\n",
                  (long)getpid());
    char *got = read_whole_file(path, NULL);
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got, want.data);
    free(got);
    want.len = 0;
    strbuf_printf(&want,
                  "begin pid %ld\n0 START child_work -\n"
                  "1 MARK child_work Forked: this is process %ld, a child of process %ld.\n"
                  "2 CALL child_work -\n3 STOP <module> -\n",
                  (long)pid, (long)pid, (long)getpid());
    char *child_path_name = NULL;
    ck_assert_int_gt(asprintf(&child_path_name, "%s.child%ld", path, (long)pid), 0);
    got = read_whole_file(child_path_name, NULL);
    ck_assert_msg(got != NULL, "no child log %s", child_path_name);
    ck_assert_str_eq(got, want.data);
    free(got);
    free(child_path_name);
    strbuf_free(&want);
    free(path);
    temp_dir_remove(dir);
}
END_TEST

START_TEST(on_fork_parameter)
{
    fake_clock clock = {0};
    fake_rss rss = {0};
    pmt_tracer *t = fake_tracer(&clock, &rss, 0, NULL);
    int64_t value = -1, lo = -1, hi = -1;
    ck_assert_int_eq(pmt_tracer_get_param(t, PMT_PARAM_ON_FORK, &value), PMT_OK);
    ck_assert_int_eq(value, PMT_FORK_STOP);
    ck_assert_int_eq(pmt_param_bounds(PMT_PARAM_ON_FORK, &lo, &hi), PMT_OK);
    ck_assert_int_eq(lo, PMT_FORK_STOP);
    ck_assert_int_eq(hi, PMT_FORK_FOLLOW);
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_ON_FORK, 2), PMT_EINVAL);
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_ON_FORK, PMT_FORK_FOLLOW), PMT_OK);
    ck_assert_int_eq(pmt_tracer_after_fork(t), PMT_OK); /* not a child: nothing to do */
    ck_assert_int_eq(pmt_tracer_start(t), PMT_OK);
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_ON_FORK, PMT_FORK_STOP), PMT_ESTATE);
    ck_assert_int_eq(pmt_tracer_after_fork(t), PMT_OK);
    ck_assert_int_eq(pmt_tracer_after_fork(NULL), PMT_EINVAL);
    pmt_tracer_destroy(t);
}
END_TEST

START_TEST(child_log_names)
{
    static const char *const cases[][2] = {
        {"trace.log", "trace.pid42.log"},
        {"/tmp/x.d/run", "/tmp/x.d/run.pid42"},
        {"logs/trace.tar.pmt", "logs/trace.tar.pid42.pmt"},
        {"trace.pid7.log", "trace.pid7.pid42.log"},
        {"dir/.hidden", "dir/.hidden.pid42"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *name = pmt__log_file_child_name(cases[i][0], 42);
        ck_assert_str_eq(name, cases[i][1]);
        free(name);
    }
}
END_TEST

Suite *fork_suite(void)
{
    Suite *s = suite_create("fork");
    TCase *tc = unit_tcase("fork");
    tcase_add_loop_test(tc, stop_child_writes_nothing, 0, 2); /* text, binary */
    tcase_add_loop_test(tc, child_that_only_destroys_writes_nothing, 0, 2);
    tcase_add_test(tc, follow_child_writes_its_own_text_log);
    tcase_add_test(tc, follow_child_writes_its_own_binary_log);
    tcase_add_test(tc, after_fork_and_grandchildren);
    tcase_add_test(tc, descriptor_sink_stops_in_child);
    tcase_add_loop_test(tc, created_by_the_parent_started_by_the_child, 0, 2); /* stop, follow */
    tcase_add_test(tc, user_sink_follows_fork);
    tcase_add_test(tc, on_fork_parameter);
    tcase_add_test(tc, child_log_names);
    suite_add_tcase(s, tc);
    return s;
}
