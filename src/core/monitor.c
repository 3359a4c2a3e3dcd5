/* The RSS monitor (monitor.h, doc/monitor.md): a thread that samples the process's memory every
 * interval through the platform's sampler (platform/sample_os.h) and writes each sample as a JSON
 * line, gives it to a callback and/or hands it to a tracer through a queue (sample_queue.h) that
 * the tracer's own thread empties into its sinks. It never touches a tracer's state or Python: it
 * runs without the GIL. A label or a stop wakes it at once (a condition variable on the monotonic
 * clock where the system has one). */
#define _GNU_SOURCE
#include <pymemtrace/monitor.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "core/sample_queue.h"
#include "core/tracer_internal.h"
#include "platform/os.h"
#include "platform/sample_os.h"

enum {
    MIN_INTERVAL_NS = 1000000,       /* 1 ms */
    DEFAULT_INTERVAL_NS = 100000000, /* 100 ms, as process.py's default tick */
};
#define MAX_INTERVAL_NS (UINT64_C(3600) * 1000000000u) /* 1 hour */

typedef struct label_node {
    struct label_node *next;
    char text[];
} label_node;

struct pmt_monitor {
    uint64_t interval_ns;
    FILE *jsonl;
    pmt_sample_fn callback;
    void *callback_data;
    int running, stopping, write_failed, callback_stopped;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    clockid_t wake_clock;            /* the clock the condition's deadlines are on */
    label_node *labels, *last_label; /* given and not yet sampled, oldest first */
    long owner_pid; /* the process whose thread samples: a child of fork has no such thread */
    void *sampler;
    pmt__sample_queue *queue; /* to the attached tracer, or NULL */
    uint64_t thread_id;       /* the sampling thread's, for the tracer's rows */
    pmt_sample last;          /* the last good values: a failed read keeps them */
    uint64_t samples, start_ns;
};

int pmt_monitor_create(pmt_monitor **out)
{
    if (!out)
        return pmt__fail(PMT_EINVAL, "pmt_monitor_create: out is NULL");
    *out = NULL;
    pmt_monitor *m = calloc(1, sizeof *m);
    if (!m)
        return pmt__fail(PMT_ENOMEM, "out of memory for a monitor");
    m->interval_ns = DEFAULT_INTERVAL_NS;
    m->last.struct_size = sizeof m->last;
    m->last.cgroup_max = UINT64_MAX;
    pthread_mutex_init(&m->lock, NULL);
    pthread_condattr_t attributes;
    pthread_condattr_init(&attributes);
    m->wake_clock = pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC) == 0 ? CLOCK_MONOTONIC
                                                                                 : CLOCK_REALTIME;
    pthread_cond_init(&m->wake, &attributes);
    pthread_condattr_destroy(&attributes);
    *out = m;
    return PMT_OK;
}

static int not_started(const pmt_monitor *m, const char *call)
{
    if (!m)
        return pmt__fail(PMT_EINVAL, "%s: monitor is NULL", call);
    if (m->running || m->samples)
        return pmt__fail(PMT_ESTATE, "%s: the monitor was started already", call);
    return PMT_OK;
}

int pmt_monitor_set_interval_ns(pmt_monitor *m, uint64_t interval_ns)
{
    int rc = not_started(m, "pmt_monitor_set_interval_ns");
    if (rc != PMT_OK)
        return rc;
    if (interval_ns < MIN_INTERVAL_NS || interval_ns > MAX_INTERVAL_NS)
        return pmt__fail(PMT_EINVAL,
                         "the monitor's interval must be between 1 ms and 1 hour, "
                         "not %llu ns",
                         (unsigned long long)interval_ns);
    m->interval_ns = interval_ns;
    return PMT_OK;
}

int pmt_monitor_open_jsonl(pmt_monitor *m, const char *path)
{
    int rc = not_started(m, "pmt_monitor_open_jsonl");
    if (rc != PMT_OK)
        return rc;
    if (!path || !*path)
        return pmt__fail(PMT_EINVAL, "pmt_monitor_open_jsonl: no path");
    if (m->jsonl)
        return pmt__fail(PMT_ESTATE, "the monitor writes a JSON-lines file already");
    int fd = pmt__create_new_file(path);
    if (fd < 0)
        return pmt__fail_os(errno, "cannot create %s", path);
    m->jsonl = fdopen(fd, "w");
    if (!m->jsonl) {
        int error = errno;
        close(fd);
        return pmt__fail_os(error, "cannot open %s", path);
    }
    return PMT_OK;
}

int pmt_monitor_set_callback(pmt_monitor *m, pmt_sample_fn fn, void *user_data)
{
    int rc = not_started(m, "pmt_monitor_set_callback");
    if (rc != PMT_OK)
        return rc;
    m->callback = fn;
    m->callback_data = user_data;
    return PMT_OK;
}

int pmt_monitor_add_tracer(pmt_monitor *m, pmt_tracer *tracer)
{
    int rc = not_started(m, "pmt_monitor_add_tracer");
    if (rc != PMT_OK)
        return rc;
    if (!tracer)
        return pmt__fail(PMT_EINVAL, "pmt_monitor_add_tracer: tracer is NULL");
    if (m->queue)
        return pmt__fail(PMT_EBUSY, "the monitor gives its samples to a tracer already");
    pmt__sample_queue *q = pmt__sample_queue_new();
    if (!q)
        return pmt__fail(PMT_ENOMEM, "out of memory for the monitor's queue to a tracer");
    rc = pmt__tracer_take_samples(tracer, q);
    if (rc != PMT_OK) {
        pmt__sample_queue_release(q);
        pmt__sample_queue_release(q); /* both references: the tracer did not take its own */
        return rc;
    }
    m->queue = q;
    return PMT_OK;
}

/* A JSON string (quotes included), escaping what JSON requires. */
static void put_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* One JSON line: the fields pymemtrace's process.py recorded (timestamp, pid, elapsed_time,
 * memory_info, cpu_times, label) and ours. */
static void write_line(pmt_monitor *m, const pmt_sample *s)
{
    pmt__utc_time utc;
    pmt__utc_now(&utc);
    FILE *f = m->jsonl;
    fprintf(f,
            "{\"seq\": %llu, \"timestamp\": \"%04d-%02d-%02d %02d:%02d:%02d.%06llu\", "
            "\"timezone\": \"UTC\", \"pid\": %ld, \"elapsed_time\": %.6f, \"time_ns\": %llu, "
            "\"memory_info\": {\"rss\": %llu, \"peak_rss\": %llu, \"anon\": %llu, \"file\": %llu, "
            "\"shmem\": %llu}, \"faults\": {\"minor\": %llu, \"major\": %llu}, "
            "\"cpu_times\": {\"user\": %.6f, \"system\": %.6f}, \"cgroup\": {\"current\": %llu, "
            "\"max\": ",
            (unsigned long long)s->seq, utc.year, utc.month, utc.day, utc.hour, utc.minute,
            utc.second, (unsigned long long)(s->realtime_ns / 1000u % 1000000u), pmt__process_id(),
            (double)(s->time_ns - m->start_ns) / 1e9, (unsigned long long)s->time_ns,
            (unsigned long long)s->rss, (unsigned long long)s->peak_rss,
            (unsigned long long)s->rss_anon, (unsigned long long)s->rss_file,
            (unsigned long long)s->rss_shmem, (unsigned long long)s->minor_faults,
            (unsigned long long)s->major_faults, (double)s->user_cpu_ns / 1e9,
            (double)s->system_cpu_ns / 1e9, (unsigned long long)s->cgroup_current);
    if (s->cgroup_max == UINT64_MAX)
        fputs("null", f);
    else
        fprintf(f, "%llu", (unsigned long long)s->cgroup_max);
    fputs("}, \"label\": ", f);
    if (s->label)
        put_json_string(f, s->label);
    else
        fputs("null", f);
    fputs("}\n", f);
    /* Each sample reaches the file as it is taken: a process killed later leaves them all. */
    if (fflush(f) != 0 || ferror(f))
        m->write_failed = 1;
}

static void take_sample(pmt_monitor *m, const char *label)
{
    pmt_sample s = m->last;
    s.struct_size = sizeof s;
    if (pmt__sampler_read(m->sampler, &s) != PMT_OK)
        s = m->last; /* the last good values */
    s.seq = m->samples;
    s.time_ns = pmt__monotonic_ns();
    s.realtime_ns = pmt__realtime_ns();
    s.label = label;
    m->last = s;
    m->last.label = NULL;
    if (m->jsonl && !m->write_failed)
        write_line(m, &s);
    if (m->callback && !m->callback_stopped && m->callback(&s, m->callback_data) != 0)
        m->callback_stopped = 1;
    if (m->queue)
        pmt__sample_queue_push(m->queue, &s, m->thread_id);
    pthread_mutex_lock(&m->lock);
    m->samples++;
    pthread_mutex_unlock(&m->lock);
}

static struct timespec deadline_at(clockid_t clock, uint64_t from_now_ns)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    uint64_t ns = (uint64_t)ts.tv_nsec + from_now_ns;
    ts.tv_sec += (time_t)(ns / 1000000000u);
    ts.tv_nsec = (long)(ns % 1000000000u);
    return ts;
}

static void *run(void *arg)
{
    pmt_monitor *m = arg;
    m->thread_id = pmt__os_thread_id();
    uint64_t next = pmt__monotonic_ns();
    pthread_mutex_lock(&m->lock);
    for (;;) {
        label_node *label = m->labels;
        if (label) {
            m->labels = label->next;
            if (!m->labels)
                m->last_label = NULL;
        }
        int stopping = m->stopping;
        pthread_mutex_unlock(&m->lock);
        take_sample(m, label ? label->text : NULL);
        free(label);
        pthread_mutex_lock(&m->lock);
        if (stopping && !m->labels)
            break; /* the last sample was taken after the stop was asked */
        if (!label) {
            next += m->interval_ns;
            uint64_t now = pmt__monotonic_ns();
            if (next <= now) /* a late tick (a stopped process): the next one from now */
                next = now + m->interval_ns;
        }
        for (uint64_t now = pmt__monotonic_ns(); !m->stopping && !m->labels && now < next;
             now = pmt__monotonic_ns()) {
            struct timespec deadline = deadline_at(m->wake_clock, next - now);
            pthread_cond_timedwait(&m->wake, &m->lock, &deadline);
        }
    }
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

/* Is this a child of fork of the process whose thread samples? There, the thread does not
 * exist and the lock may have been copied held: nothing may wait for either. */
static int forked_away(const pmt_monitor *m)
{
    return m->running && m->owner_pid != pmt__process_id();
}

int pmt_monitor_start(pmt_monitor *m)
{
    int rc = not_started(m, "pmt_monitor_start");
    if (rc != PMT_OK)
        return rc;
    if ((rc = pmt__sampler_open(&m->sampler)) != PMT_OK)
        return rc;
    m->start_ns = pmt__monotonic_ns();
    m->owner_pid = pmt__process_id();
    m->running = 1;
    int error = pthread_create(&m->thread, NULL, run, m);
    if (error) {
        m->running = 0;
        pmt__sampler_close(m->sampler);
        m->sampler = NULL;
        return pmt__fail_os(error, "cannot start the monitor's thread");
    }
    return PMT_OK;
}

int pmt_monitor_label(pmt_monitor *m, const char *text)
{
    if (!m || !text)
        return pmt__fail(PMT_EINVAL, "pmt_monitor_label: NULL argument");
    size_t n = strlen(text);
    if (forked_away(m))
        return pmt__fail(PMT_ESTATE, "pmt_monitor_label: the monitor samples the parent process");
    label_node *node = malloc(sizeof *node + n + 1);
    if (!node)
        return pmt__fail(PMT_ENOMEM, "out of memory for a label");
    node->next = NULL;
    memcpy(node->text, text, n + 1);
    pthread_mutex_lock(&m->lock);
    if (!m->running || m->stopping) {
        pthread_mutex_unlock(&m->lock);
        free(node);
        return pmt__fail(PMT_ESTATE, "pmt_monitor_label: the monitor is not running");
    }
    if (m->last_label)
        m->last_label->next = node;
    else
        m->labels = node;
    m->last_label = node;
    pthread_cond_signal(&m->wake);
    pthread_mutex_unlock(&m->lock);
    return PMT_OK;
}

int pmt_monitor_stop(pmt_monitor *m)
{
    if (!m)
        return pmt__fail(PMT_EINVAL, "pmt_monitor_stop: monitor is NULL");
    if (forked_away(m)) {
        /* The parent's thread and file stay the parent's: the child drops its copies (its
         * stream copy holds nothing new; the descriptors close with the child). */
        m->running = 0;
        m->stopping = 1;
        m->sampler = NULL;
        m->jsonl = NULL;
        return PMT_OK;
    }
    pthread_mutex_lock(&m->lock);
    int running = m->running && !m->stopping;
    m->stopping = 1;
    pthread_cond_signal(&m->wake);
    pthread_mutex_unlock(&m->lock);
    if (!running)
        return pmt__fail(PMT_ESTATE, "pmt_monitor_stop: the monitor is not running");
    pthread_join(m->thread, NULL);
    m->running = 0;
    if (m->queue) /* its last sample is in: the tracer may take another monitor's */
        pmt__sample_queue_finish(m->queue);
    pmt__sampler_close(m->sampler);
    m->sampler = NULL;
    int failed = m->write_failed;
    if (m->jsonl && fclose(m->jsonl) != 0)
        failed = 1;
    m->jsonl = NULL;
    return failed ? pmt__fail(PMT_EIO, "the monitor's JSON-lines file could not be written "
                                       "whole (the lines before stay readable)")
                  : PMT_OK;
}

int pmt_monitor_samples(const pmt_monitor *m, uint64_t *out)
{
    if (!m || !out)
        return pmt__fail(PMT_EINVAL, "pmt_monitor_samples: NULL argument");
    if (forked_away(m)) { /* the count copied at the fork */
        *out = m->samples;
        return PMT_OK;
    }
    pthread_mutex_lock((pthread_mutex_t *)&m->lock);
    *out = m->samples;
    pthread_mutex_unlock((pthread_mutex_t *)&m->lock);
    return PMT_OK;
}

void pmt_monitor_destroy(pmt_monitor *m)
{
    if (!m)
        return;
    if (m->running && !m->stopping)
        pmt_monitor_stop(m);
    if (m->jsonl)
        fclose(m->jsonl);
    while (m->labels) {
        label_node *next = m->labels->next;
        free(m->labels);
        m->labels = next;
    }
    pmt__sample_queue_release(m->queue);
    if (m->owner_pid == pmt__process_id() || !m->owner_pid) { /* not a copy's, maybe held */
        pthread_cond_destroy(&m->wake);
        pthread_mutex_destroy(&m->lock);
    }
    free(m);
}
