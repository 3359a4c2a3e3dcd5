#define _GNU_SOURCE /* mkdtemp, nftw, strdup */
#include "fakes.h"

#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

fake_source g_source;

static int source_check_thread(void *self)
{
    fake_source *src = self;
    src->check_calls++;
    return src->check_result;
}

static int source_attach(void *self, pmt_tracer *tracer, void **state)
{
    (void)tracer;
    fake_source *src = self;
    src->attach_calls++;
    if (src->attach_result != PMT_OK)
        return src->attach_result;
    *state = src;
    return PMT_OK;
}

static int source_detach(void *self, pmt_tracer *tracer, void *state)
{
    (void)tracer;
    fake_source *src = self;
    ck_assert_ptr_eq(state, src);
    src->detach_calls++;
    return PMT_OK;
}

static void source_release(void *self, pmt_tracer *tracer, void *state)
{
    (void)tracer;
    (void)state;
    ((fake_source *)self)->release_calls++;
}

static void source_locate(void *self, pmt_tracer *tracer, void *state, const char **file,
                          const char **function, int32_t *line, int32_t *depth)
{
    (void)tracer;
    (void)state;
    fake_source *src = self;
    src->locate_calls++;
    *file = src->file;
    *function = src->function;
    *line = src->line;
    *depth = src->depth;
}

static const char *source_runtime(void *self, pmt_tracer *tracer, void *state)
{
    (void)self;
    (void)tracer;
    (void)state;
    return "fake runtime 1.0";
}

/* User sites as a function of the event, so that every kind of context a log stores comes up:
 * none, the event's own place, a few others (some at one line, some at several), call paths. */
static void source_site(void *self, void *state, pmt_event *ev, const struct pmt__shadow *shadow,
                        size_t depth, int now, int want_path)
{
    (void)self;
    (void)state;
    (void)shadow;
    (void)depth;
    (void)now;
    static const char *const functions[] = {"user_a", "User.b", "user_c"};
    switch ((unsigned)ev->depth % 5) {
    case 0:
        break;
    case 1:
        ev->user_file = ev->file;
        ev->user_function = ev->function;
        ev->user_line = ev->line;
        break;
    default:
        ev->user_file = "user/app.py";
        ev->user_function = functions[(unsigned)ev->depth % 3];
        ev->user_line = ev->depth % 2 ? 7 : (int32_t)(ev->seq % 4) + 10;
    }
    if (want_path)
        ev->call_node = (uint32_t)(ev->seq % 13 < 9 ? ev->depth : (int32_t)(ev->seq % 1000));
}

/* No enter/leave: marks then need check_thread to pass, as events do. */
const pmt__source_ops fake_source_ops = {
    .check_thread = source_check_thread,
    .attach = source_attach,
    .detach = source_detach,
    .release = source_release,
    .locate = source_locate,
    .runtime = source_runtime,
    .site = source_site,
};

void fake_source_reset(void)
{
    memset(&g_source, 0, sizeof g_source);
    g_source.file = "main.py";
    g_source.function = "<module>";
    g_source.line = 1;
}

uint64_t fake_clock_read(void *user_data)
{
    fake_clock *c = user_data;
    c->calls++;
    return c->now;
}

int fake_rss_read(void *user_data, uint64_t *out_bytes)
{
    fake_rss *r = user_data;
    r->reads++;
    if (r->fail)
        return PMT_EIO;
    *out_bytes = r->value;
    return PMT_OK;
}

int fake_rss_gate(void *user_data, uint64_t now_ns)
{
    fake_rss *r = user_data;
    r->gate_last_now = now_ns;
    r->gate_calls++;
    return r->gate_open;
}

void fake_rss_release(void *user_data)
{
    fake_rss *r = user_data;
    r->releases++;
}

pmt_rss_provider fake_rss_provider(int with_gate)
{
    pmt_rss_provider p = PMT_RSS_PROVIDER_INIT;
    p.name = "fake";
    p.read = fake_rss_read;
    p.may_have_changed = with_gate ? fake_rss_gate : NULL;
    p.release = fake_rss_release;
    return p;
}

static char *copy_or_null(const char *s)
{
    if (!s)
        return NULL;
    char *c = strdup(s);
    ck_assert_ptr_nonnull(c);
    return c;
}

void captured_copy(captured *c, const pmt_event *ev)
{
    c->ev = *ev;
    c->file = copy_or_null(ev->file);
    c->function = copy_or_null(ev->function);
    c->message = copy_or_null(ev->message);
    c->user_file = copy_or_null(ev->user_file);
    c->user_function = copy_or_null(ev->user_function);
    memset(&c->sample, 0, sizeof c->sample);
    c->has_sample = ev->sample != NULL;
    if (ev->sample) {
        c->sample = *ev->sample;
        c->sample.label = NULL;
    }
    c->ev.sample = NULL; /* the array moves as it grows */
}

static int capture_write(const pmt_event *event, void *user_data)
{
    capture *cap = user_data;
    cap->writes++;
    if (cap->fail_at_write && cap->writes >= cap->fail_at_write)
        return -1;
    if (cap->count == cap->capacity) {
        cap->capacity = cap->capacity ? cap->capacity * 2 : 64;
        cap->events = realloc(cap->events, cap->capacity * sizeof *cap->events);
        ck_assert_ptr_nonnull(cap->events);
    }
    captured_copy(&cap->events[cap->count++], event);
    return 0;
}

static int capture_flush(void *user_data)
{
    capture *cap = user_data;
    cap->flushes++;
    return cap->fail_flush ? -1 : 0;
}

static void capture_close(void *user_data)
{
    capture *cap = user_data;
    cap->closes++;
}

pmt_sink *capture_sink(capture *cap)
{
    pmt_sink_ops ops = PMT_SINK_OPS_INIT;
    ops.write = capture_write;
    ops.flush = capture_flush;
    ops.close = capture_close;
    pmt_sink *sink = NULL;
    ck_assert_int_eq(pmt_sink_create(&sink, &ops, cap), PMT_OK);
    ck_assert_ptr_nonnull(sink);
    return sink;
}

void capture_free(capture *cap)
{
    for (size_t i = 0; i < cap->count; i++) {
        free(cap->events[i].file);
        free(cap->events[i].function);
        free(cap->events[i].message);
        free(cap->events[i].user_file);
        free(cap->events[i].user_function);
    }
    free(cap->events);
    cap->events = NULL;
    cap->count = cap->capacity = 0;
}

pmt_tracer *fake_tracer(fake_clock *clock, fake_rss *rss, int64_t trigger, capture *cap)
{
    fake_source_reset();
    pmt_tracer *t = NULL;
    ck_assert_int_eq(pmt__tracer_create_with_source(&t, &fake_source_ops, &g_source), PMT_OK);
    ck_assert_ptr_nonnull(t);
    pmt__tracer_set_clock(t, fake_clock_read, clock);
    pmt_rss_provider p = fake_rss_provider(0);
    ck_assert_int_eq(pmt_tracer_set_rss_provider(t, &p, rss), PMT_OK);
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_D_RSS_TRIGGER, trigger), PMT_OK);
    if (cap)
        ck_assert_int_eq(pmt_tracer_add_sink(t, capture_sink(cap)), PMT_OK);
    return t;
}

char *temp_dir_create(void)
{
    const char *base = getenv("TMPDIR");
    char *path = NULL;
    ck_assert_int_gt(asprintf(&path, "%s/pmt-unit-XXXXXX", base && *base ? base : "/tmp"), 0);
    ck_assert_msg(mkdtemp(path) != NULL, "mkdtemp %s failed", path);
    return path;
}

/* A test may have made a directory read-only to provoke a failure. */
static int make_writable(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)ftw;
    if (type == FTW_D && (st->st_mode & 0700) != 0700)
        chmod(path, 0700);
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    remove(path);
    return 0;
}

void temp_dir_remove(char *path)
{
    if (!path)
        return;
    chmod(path, 0700);
    nftw(path, make_writable, 16, FTW_PHYS);
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(path);
}

char *read_whole_file(const char *path, size_t *out_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t len = 0, capacity = 4096;
    char *data = malloc(capacity + 1);
    ck_assert_ptr_nonnull(data);
    for (;;) {
        if (len == capacity) {
            capacity *= 2;
            data = realloc(data, capacity + 1);
            ck_assert_ptr_nonnull(data);
        }
        ssize_t n = read(fd, data + len, capacity - len);
        ck_assert_int_ge(n, 0);
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    data[len] = '\0';
    if (out_len)
        *out_len = len;
    return data;
}

void strbuf_append(strbuf *b, const char *text, size_t n)
{
    if (b->len + n + 1 > b->capacity) {
        size_t capacity = b->capacity ? b->capacity : 256;
        while (b->len + n + 1 > capacity)
            capacity *= 2;
        b->data = realloc(b->data, capacity);
        ck_assert_ptr_nonnull(b->data);
        b->capacity = capacity;
    }
    memcpy(b->data + b->len, text, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void strbuf_printf(strbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = NULL;
    int n = vasprintf(&text, fmt, ap);
    va_end(ap);
    ck_assert_int_ge(n, 0);
    strbuf_append(b, text, (size_t)n);
    free(text);
}

void strbuf_free(strbuf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->capacity = 0;
}

uint64_t fake_random(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

void fake_random_events(fake_input *out, size_t n, uint64_t *state, const char *const files[7],
                        const char *const functions[7])
{
    static const pmt_event_kind kinds[7] = {PMT_EV_CALL,     PMT_EV_RETURN,      PMT_EV_C_CALL,
                                            PMT_EV_C_RETURN, PMT_EV_C_EXCEPTION, PMT_EV_EXCEPTION,
                                            PMT_EV_LINE};
    uint64_t value = UINT64_C(1) << 30;
    for (size_t i = 0; i < n; i++) {
        uint64_t r = fake_random(state);
        int64_t step = (int64_t)(r % 3001) - 1500;
        if (r % 17 == 0)
            step *= 40;
        value = (uint64_t)((int64_t)value + step);
        out[i].kind = kinds[(r >> 20) % 7];
        out[i].time = 1000 + 1000 * (uint64_t)i;
        out[i].rss = value;
        out[i].file = files[(r >> 24) % 7];
        out[i].function = functions[(r >> 28) % 7];
        out[i].line = (int32_t)i;
        out[i].depth = (int32_t)((r >> 32) % 50);
    }
}
