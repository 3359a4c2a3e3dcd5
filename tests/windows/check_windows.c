/* The Windows port, run under Wine in CI (tests/windows/run.sh): the platform layer (clock,
 * thread ids, process id, page size, UTC time), the working-set RSS providers and the core's
 * tracer with a scripted event source and a callback sink, reading the real RSS. Prints
 * "N passed, N failed"; exit status 1 when any failed. */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <stdio.h>
#include <string.h>

#include <pymemtrace/pymemtrace.h>

#include "core/source.h"
#include "core/tracer_internal.h"
#include "platform/os.h"
#include "platform/rss_os.h"

static int passed, failed;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (cond) {                                                                                \
            passed++;                                                                              \
        } else {                                                                                   \
            failed++;                                                                              \
            printf("FAILED %s:%d: %s (%s)\n", __FILE__, __LINE__, #cond,                           \
                   pmt_last_error_message());                                                      \
        }                                                                                          \
    } while (0)

enum { MIB = 1 << 20 };

static uint64_t rss_now(void)
{
    uint64_t rss = 0;
    CHECK(pmt_rss_current(&rss) == PMT_OK);
    return rss;
}

/* Committed and written, so that every page is in the working set. */
static char *touch(size_t size)
{
    char *p = VirtualAlloc(NULL, size, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    if (p)
        memset(p, 1, size);
    return p;
}

static void platform_layer(void)
{
    uint64_t t0 = pmt__monotonic_ns();
    Sleep(30);
    uint64_t t1 = pmt__monotonic_ns();
    CHECK(t1 - t0 >= 20000000u && t1 - t0 < 2000000000u);
    pmt__utc_time utc;
    pmt__utc_now(&utc);
    CHECK(utc.year >= 2024 && utc.month >= 1 && utc.month <= 12);
    CHECK(pmt__realtime_ns() / 1000000000u > UINT64_C(1700000000)); /* after November 2023 */
    CHECK(pmt__process_id() == (long)GetCurrentProcessId());
    CHECK(pmt__page_size() >= 4096);
    CHECK(pmt__os_thread_id() == (uint64_t)GetCurrentThreadId());
    CHECK(pmt__os_thread_id() == pmt__os_thread_id()); /* the cache */
    CHECK(pmt__fork_generation() == 0);
}

static DWORD WINAPI other_thread(LPVOID out)
{
    *(uint64_t *)out = pmt__os_thread_id();
    return 0;
}

static void thread_ids(void)
{
    uint64_t id = 0;
    HANDLE h = CreateThread(NULL, 0, other_thread, &id, 0, NULL);
    CHECK(h != NULL);
    WaitForSingleObject(h, INFINITE);
    CloseHandle(h);
    CHECK(id != 0 && id != pmt__os_thread_id());
}

static void rss_functions(void)
{
    uint64_t before = rss_now(), peak = 0;
    CHECK(before > MIB);
    char *block = touch(64 * (size_t)MIB);
    CHECK(block != NULL);
    uint64_t grown = rss_now();
    CHECK(grown >= before + 48 * (uint64_t)MIB);
    CHECK(pmt_rss_peak(&peak) == PMT_OK && peak >= grown);
    VirtualFree(block, 0, MEM_RELEASE);
    CHECK(rss_now() + 32 * (uint64_t)MIB <= grown); /* given back */
    CHECK(pmt_rss_current(NULL) == PMT_EINVAL);
    CHECK(strstr(pmt_last_error_message(), "NULL") != NULL);
    CHECK(strcmp(pmt_rss_default_provider_name(), "windows-working-set") == 0);
}

static void providers(void)
{
    pmt_rss_provider p;
    void *data = NULL;
    uint64_t value = 0;
    CHECK(pmt__rss_os_provider(PMT_RSS_EXACT, 0, &p, &data) == PMT_OK);
    CHECK(strcmp(p.name, "windows-working-set") == 0 && p.may_have_changed == NULL);
    CHECK(p.read(data, &value) == PMT_OK && value > MIB);
    CHECK(pmt__rss_os_provider(PMT_RSS_INTERVAL, 1000000, &p, &data) == PMT_OK);
    CHECK(strcmp(p.accuracy, "stale by at most the interval") == 0);
    CHECK(p.may_have_changed(data, 5000000) == 1); /* the first read */
    CHECK(p.may_have_changed(data, 5500000) == 0); /* within the interval: no system call */
    CHECK(p.may_have_changed(data, 6000000) == 1); /* an interval later */
    p.release(data);
    CHECK(pmt__rss_os_provider(PMT_RSS_FAULT_GATE, 0, &p, &data) == PMT_ENOTSUP);
    CHECK(strstr(pmt_last_error_message(), "page-fault counter") != NULL);
    CHECK(pmt__rss_os_provider(PMT_RSS_KERNEL_RING, 0, &p, &data) == PMT_ENOTSUP);
}

/* A scripted source: the tracer's hooks are calls of pmt__tracer_event below. */
static int source_ok(void *self)
{
    (void)self;
    return PMT_OK;
}

static int source_attach(void *self, pmt_tracer *tracer, void **state)
{
    (void)tracer;
    *state = self;
    return PMT_OK;
}

static int source_detach(void *self, pmt_tracer *tracer, void *state)
{
    (void)self, (void)tracer, (void)state;
    return PMT_OK;
}

static void source_release(void *self, pmt_tracer *tracer, void *state)
{
    (void)self, (void)tracer, (void)state;
}

static void source_locate(void *self, pmt_tracer *tracer, void *state, const char **file,
                          const char **function, int32_t *line, int32_t *depth)
{
    (void)self, (void)tracer, (void)state;
    *file = "main.c";
    *function = "main";
    *line = 1;
    *depth = 0;
}

static const pmt__source_ops scripted = {
    .check_thread = source_ok,
    .attach = source_attach,
    .detach = source_detach,
    .release = source_release,
    .locate = source_locate,
};

typedef struct written {
    int count;
    pmt_event events[64];
} written;

static int keep(const pmt_event *ev, void *user_data)
{
    written *w = user_data;
    if (w->count < 64)
        w->events[w->count++] = *ev;
    return 0;
}

static void tracer_with_real_rss(pmt_rss_mode mode, const char *provider)
{
    pmt_tracer *t = NULL;
    int self = 0;
    CHECK(pmt__tracer_create_with_source(&t, &scripted, &self) == PMT_OK);
    CHECK(pmt_tracer_set_param(t, PMT_PARAM_RSS_MODE, mode) == PMT_OK);
    CHECK(pmt_tracer_set_param(t, PMT_PARAM_RSS_INTERVAL_NS, 1) == PMT_OK); /* read every time */
    CHECK(pmt_tracer_set_param(t, PMT_PARAM_D_RSS_TRIGGER, 16 * MIB) == PMT_OK);
    written w = {0};
    pmt_sink_ops ops = PMT_SINK_OPS_INIT;
    ops.write = keep;
    pmt_sink *sink = NULL;
    CHECK(pmt_sink_create(&sink, &ops, &w) == PMT_OK);
    CHECK(pmt_tracer_add_sink(t, sink) == PMT_OK);
    CHECK(pmt_tracer_start(t) == PMT_OK);
    CHECK(strcmp(pmt_tracer_rss_provider_name(t), provider) == 0);
    for (int i = 0; i < 10; i++)
        pmt__tracer_event(t, PMT_EV_CALL, "app.py", "quiet", i, 1); /* below the trigger */
    char *block = touch(64 * (size_t)MIB);
    pmt__tracer_event(t, PMT_EV_RETURN, "app.py", "grow", 20, 1);
    CHECK(pmt_tracer_mark(t, "grown") == PMT_OK);
    CHECK(pmt_tracer_stop(t) == PMT_OK);
    VirtualFree(block, 0, MEM_RELEASE);
    /* START, the event before the trigger (PREV), the triggering RETURN, the mark, STOP. */
    CHECK(w.count == 5);
    CHECK(w.events[0].kind == PMT_EV_START);
    CHECK(w.events[1].reason == PMT_REASON_BEFORE && w.events[1].line == 9);
    CHECK(w.events[2].kind == PMT_EV_RETURN && w.events[2].reason == PMT_REASON_TRIGGER);
    CHECK(w.events[2].d_rss >= 48 * MIB);
    CHECK(w.events[2].thread_id == (uint64_t)GetCurrentThreadId());
    CHECK(w.events[2].time_ns > w.events[0].time_ns);
    CHECK(w.events[3].kind == PMT_EV_MARK && strcmp(w.events[3].message, "grown") == 0);
    CHECK(w.events[4].kind == PMT_EV_STOP);
    uint64_t seen = 0;
    CHECK(pmt_tracer_get_stat(t, PMT_STAT_EVENTS_SEEN, &seen) == PMT_OK && seen == 14);
    pmt_tracer_destroy(t);
}

static int count_sample(const pmt_sample *s, void *user_data)
{
    uint64_t *rss = user_data;
    *rss = s->rss;
    return 0;
}

static void monitor(void)
{
    pmt_monitor *m = NULL;
    uint64_t rss = 0, samples = 0;
    CHECK(pmt_monitor_create(&m) == PMT_OK);
    CHECK(pmt_monitor_set_interval_ns(m, 10000000) == PMT_OK);
    CHECK(pmt_monitor_set_callback(m, count_sample, &rss) == PMT_OK);
    CHECK(pmt_monitor_start(m) == PMT_OK);
    Sleep(100);
    CHECK(pmt_monitor_label(m, "label") == PMT_OK);
    CHECK(pmt_monitor_stop(m) == PMT_OK);
    CHECK(pmt_monitor_samples(m, &samples) == PMT_OK && samples >= 4);
    CHECK(rss > MIB);
    pmt_monitor_destroy(m);
}

/* A monitor attached to a tracer: its samples (from a Windows thread, through the lock-free
 * queue) reach the tracer's sink as SAMPLE events between START and STOP, the label on one. */
static void monitor_beside_a_tracer(void)
{
    pmt_tracer *t = NULL;
    int self = 0;
    CHECK(pmt__tracer_create_with_source(&t, &scripted, &self) == PMT_OK);
    written w = {0};
    pmt_sink_ops ops = PMT_SINK_OPS_INIT;
    ops.write = keep;
    pmt_sink *sink = NULL;
    CHECK(pmt_sink_create(&sink, &ops, &w) == PMT_OK);
    CHECK(pmt_tracer_add_sink(t, sink) == PMT_OK);
    pmt_monitor *m = NULL;
    CHECK(pmt_monitor_create(&m) == PMT_OK);
    CHECK(pmt_monitor_set_interval_ns(m, 10000000) == PMT_OK);
    CHECK(pmt_monitor_add_tracer(m, t) == PMT_OK);
    CHECK(pmt_tracer_start(t) == PMT_OK);
    CHECK(pmt_monitor_start(m) == PMT_OK);
    Sleep(50);
    pmt__tracer_event(t, PMT_EV_CALL, "app.py", "work", 1, 1);
    CHECK(pmt_monitor_label(m, "label") == PMT_OK);
    Sleep(30);
    CHECK(pmt_monitor_stop(m) == PMT_OK);
    CHECK(pmt_tracer_stop(t) == PMT_OK);
    uint64_t taken = 0, logged = 0;
    CHECK(pmt_monitor_samples(m, &taken) == PMT_OK && taken >= 3);
    CHECK(pmt_tracer_get_stat(t, PMT_STAT_SAMPLES_WRITTEN, &logged) == PMT_OK && logged == taken);
    int samples = 0, labelled = 0;
    for (int i = 0; i < w.count; i++) {
        if (w.events[i].kind != PMT_EV_SAMPLE)
            continue;
        samples++; /* the sample itself is valid only during the call: its label is the message */
        labelled += w.events[i].message && strcmp(w.events[i].message, "label") == 0;
    }
    CHECK(samples == (int)taken);
    CHECK(labelled == 1);
    CHECK(w.events[w.count - 1].kind == PMT_EV_STOP);
    pmt_monitor_destroy(m);
    pmt_tracer_destroy(t);
}

int main(void)
{
    CHECK(pmt_version_number() == PMT_VERSION_NUMBER);
    platform_layer();
    thread_ids();
    rss_functions();
    providers();
    tracer_with_real_rss(PMT_RSS_AUTO, "windows-working-set-interval");
    tracer_with_real_rss(PMT_RSS_EXACT, "windows-working-set");
    monitor();
    monitor_beside_a_tracer();
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
