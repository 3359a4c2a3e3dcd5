/* Exact RSS with no syscall per event: the kernel writes every change of this process's RSS
 * counters (tracepoint kmem:rss_stat) into perf ring buffers that reading RSS only polls.
 *
 * RSS is per process, and a change happens in the context of whichever thread caused it, so the
 * rings are per CPU (system-wide events, filtered in the kernel to this process's mm_id) rather
 * than per thread. That needs CAP_PERFMON (or root, or perf_event_paranoid <= -1) and a readable
 * tracefs for the tracepoint's id; without them this provider is unavailable and AUTO falls back.
 * Each sample carries the member's absolute size, so a lost record is repaired by re-seeding the
 * members from /proc/self/status.
 *
 * Opening and closing tracepoint events takes milliseconds (each waits for RCU), so the rings of
 * the default size are opened once per process and shared by every tracer that uses them: the
 * first tracer opens them, the last one to stop disables them (no samples while nobody traces),
 * and the next one enables and re-seeds them. Each tracer keeps the version of the members it
 * last read, so a drain made for one tracer opens the others' gates too. */
#define _GNU_SOURCE
#include "platform/linux/linux_ring.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "platform/os.h"
#include "platform/linux/linux_proc.h"

typedef struct cpu_ring {
    int fd;
    struct perf_event_mmap_page *meta;
    const unsigned char *data;
    uint64_t data_size;
    size_t map_size;
    uint64_t drained; /* the head as of the last drain: nothing new while it has not moved */
} cpu_ring;

typedef struct ring_provider {
    cpu_ring *rings;
    int ring_count;
    unsigned data_pages;
    uint32_t mm_id;
    uint64_t members[4];
    uint64_t member_time[4]; /* time of the sample each member came from */
    uint64_t seeded_at;      /* samples older than the seed are stale */
    uint64_t generation;
    uint64_t lost_records;
    uint64_t resyncs;
    uint64_t version;     /* bumped whenever the members change */
    int shared;           /* the process's rings (see above), else one tracer's own */
    int users;            /* shared: tracers using them; 0 = disabled */
    pthread_mutex_t lock; /* shared: drains of tracers of interpreters with their own GIL */
} ring_provider;

/* What a tracer holds: the rings and the members' version it last read. */
typedef struct ring_user {
    ring_provider *p;
    uint64_t seen;
} ring_user;

static ring_provider *shared_rings; /* opened on first use, never closed: see above */
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;

/* Raw tracepoint record of kmem:rss_stat (its format file): mm_id@8, curr@12, member@16,
 * size@24. */
enum { RAW_MM_ID = 8, RAW_MEMBER = 16, RAW_SIZE = 24, RAW_MIN = 32, MAX_RECORD = 128 };

static const char *const id_files[] = {
    "/sys/kernel/tracing/events/kmem/rss_stat/id",
    "/sys/kernel/debug/tracing/events/kmem/rss_stat/id",
};

static int tracepoint_id(long *out)
{
    for (size_t i = 0; i < sizeof id_files / sizeof *id_files; i++) {
        FILE *f = fopen(id_files[i], "re");
        if (!f)
            continue;
        int ok = fscanf(f, "%ld", out) == 1;
        fclose(f);
        if (ok)
            return PMT_OK;
    }
    return pmt__fail(PMT_ENOTSUP, "kmem:rss_stat is not readable: tracefs is not mounted at "
                                  "/sys/kernel/tracing (or not readable by this user)");
}

static int open_event(long id, pid_t pid, int cpu, int disabled)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.type = PERF_TYPE_TRACEPOINT;
    a.config = (uint64_t)id;
    a.sample_period = 1;
    a.sample_type = PERF_SAMPLE_TIME | PERF_SAMPLE_RAW;
    a.use_clockid = 1;
    a.clockid = CLOCK_MONOTONIC; /* comparable with the seed's time */
    a.wakeup_events = 1u << 30;  /* never wake anyone: the ring is polled */
    a.disabled = disabled ? 1 : 0;
    return (int)syscall(SYS_perf_event_open, &a, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

static int map_ring(cpu_ring *r, unsigned data_pages)
{
    size_t page = (size_t)pmt__page_size();
    r->map_size = page * (1 + data_pages);
    void *m = mmap(NULL, r->map_size, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
    if (m == MAP_FAILED)
        return -1;
    r->meta = m;
    r->data = (const unsigned char *)m + page;
    r->data_size = (uint64_t)page * data_pages;
    return 0;
}

static void unmap_ring(cpu_ring *r)
{
    if (r->meta)
        munmap(r->meta, r->map_size);
    if (r->fd >= 0)
        close(r->fd);
    r->meta = NULL;
    r->fd = -1;
}

/* Copies len bytes at ring position pos, across the wrap. */
static void ring_copy(const cpu_ring *r, uint64_t pos, void *out, size_t len)
{
    uint64_t off = pos & (r->data_size - 1);
    size_t first = len < r->data_size - off ? len : (size_t)(r->data_size - off);
    memcpy(out, r->data + off, first);
    memcpy((unsigned char *)out + first, r->data, len - first);
}

/* Applies every record between tail and head; returns 1 if records were lost. */
static int drain(ring_provider *p, cpu_ring *r)
{
    uint64_t head = __atomic_load_n(&r->meta->data_head, __ATOMIC_ACQUIRE);
    uint64_t tail = r->meta->data_tail;
    /* A ring (nearly) full may have refused samples: the kernel writes its LOST notice only once
     * there is room again, so do not wait for it. */
    int lost = head - tail + MAX_RECORD > r->data_size;
    r->drained = head;
    if (tail == head && !lost)
        return 0;
    while (tail < head) {
        struct perf_event_header h;
        ring_copy(r, tail, &h, sizeof h);
        if (h.size < sizeof h)
            break; /* cannot happen; never loop forever on it */
        if (h.type == PERF_RECORD_SAMPLE && h.size >= sizeof h + 8 + 4 + RAW_MIN) {
            unsigned char body[sizeof(uint64_t) + sizeof(uint32_t) + RAW_MIN];
            ring_copy(r, tail + sizeof h, body, sizeof body);
            uint64_t time;
            uint32_t mm_id;
            int32_t member;
            int64_t size;
            memcpy(&time, body, 8);
            memcpy(&mm_id, body + 12 + RAW_MM_ID, 4);
            memcpy(&member, body + 12 + RAW_MEMBER, 4);
            memcpy(&size, body + 12 + RAW_SIZE, 8);
            /* Rings are drained one CPU after another: a thread that moved between CPUs leaves
             * an older sample in a ring read later, which must not win. */
            if (mm_id == p->mm_id && member >= 0 && member < 4 && time >= p->member_time[member]) {
                p->members[member] = size > 0 ? (uint64_t)size : 0;
                p->member_time[member] = time;
                p->version++;
            }
        } else if (h.type == PERF_RECORD_LOST) {
            lost = 1;
            p->lost_records++;
        }
        tail += h.size;
    }
    __atomic_store_n(&r->meta->data_tail, tail, __ATOMIC_RELEASE);
    return lost;
}

/* The kernel sends a member's size only when it changes, and /proc/self/status's split may come
 * from approximate per-CPU counters. So after a first guess from status, one page of each kind
 * (anonymous, shmem, file) is faulted in and out: the samples that follow carry every member's
 * exact size. */
static void provoke_samples(void)
{
    size_t page = (size_t)pmt__page_size();
    volatile unsigned char *anon =
        mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (anon != MAP_FAILED) {
        anon[0] = 1;
        munmap((void *)anon, page);
    }
    volatile unsigned char *shmem =
        mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shmem != MAP_FAILED) {
        shmem[0] = 1;
        munmap((void *)shmem, page);
    }
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        volatile unsigned char *file = mmap(NULL, page, PROT_READ, MAP_PRIVATE, fd, 0);
        if (file != MAP_FAILED) {
            (void)file[0];
            munmap((void *)file, page);
        }
        close(fd);
    }
}

static int seed(ring_provider *p)
{
    p->seeded_at = pmt__monotonic_ns();
    for (int i = 0; i < 4; i++)
        p->member_time[i] = p->seeded_at;
    int rc = pmt__status_members(p->members);
    p->version++;
    provoke_samples();
    return rc;
}

/* This process's mm_id, as the tracepoint hashes it: from a sample caused on purpose. */
static int learn_mm_id(long id, unsigned data_pages, uint32_t *out)
{
    cpu_ring r = {open_event(id, 0, -1, 0), NULL, NULL, 0, 0, 0};
    if (r.fd < 0)
        return pmt__fail(PMT_ENOTSUP,
                         "perf_event_open(kmem:rss_stat) refused (%s): needs CAP_PERFMON, root "
                         "or perf_event_paranoid <= -1",
                         strerror(errno));
    if (map_ring(&r, data_pages) != 0) {
        close(r.fd);
        return pmt__fail_os(errno, "cannot map the RSS ring");
    }
    size_t page = (size_t)pmt__page_size();
    volatile unsigned char *touch =
        mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (touch != MAP_FAILED) {
        touch[0] = 1; /* one anonymous page in, then out: two samples of this mm */
        munmap((void *)touch, page);
    }
    int rc = pmt__fail(PMT_ENOTSUP, "no kmem:rss_stat sample arrived for this process");
    uint64_t head = __atomic_load_n(&r.meta->data_head, __ATOMIC_ACQUIRE);
    for (uint64_t tail = 0; tail < head;) {
        struct perf_event_header h;
        ring_copy(&r, tail, &h, sizeof h);
        if (h.size < sizeof h)
            break;
        if (h.type == PERF_RECORD_SAMPLE && h.size >= sizeof h + 12 + RAW_MIN) {
            ring_copy(&r, tail + sizeof h + 12 + RAW_MM_ID, out, sizeof *out);
            rc = PMT_OK;
            break;
        }
        tail += h.size;
    }
    unmap_ring(&r);
    return rc;
}

static void close_rings(ring_provider *p)
{
    for (int i = 0; i < p->ring_count; i++)
        unmap_ring(&p->rings[i]);
    free(p->rings);
    p->rings = NULL;
    p->ring_count = 0;
}

static int open_rings(ring_provider *p)
{
    long id;
    int rc = tracepoint_id(&id);
    if (rc == PMT_OK)
        rc = learn_mm_id(id, p->data_pages, &p->mm_id);
    if (rc != PMT_OK)
        return rc;
    long cpus = sysconf(_SC_NPROCESSORS_CONF);
    p->rings = calloc((size_t)(cpus > 0 ? cpus : 1), sizeof *p->rings);
    if (!p->rings)
        return pmt__fail(PMT_ENOMEM, "out of memory for RSS rings");
    char filter[32];
    snprintf(filter, sizeof filter, "mm_id == %u", p->mm_id);
    for (int cpu = 0; cpu < cpus; cpu++) {
        cpu_ring *r = &p->rings[p->ring_count];
        r->fd = open_event(id, -1, cpu, 1);
        if (r->fd < 0) {
            if (errno == ENODEV || errno == EINVAL) /* an offline CPU */
                continue;
            rc = pmt__fail(PMT_ENOTSUP, "perf_event_open(kmem:rss_stat, cpu %d) refused (%s)", cpu,
                           strerror(errno));
            break;
        }
        p->ring_count++;
        if (ioctl(r->fd, PERF_EVENT_IOC_SET_FILTER, filter) != 0 ||
            map_ring(r, p->data_pages) != 0 || ioctl(r->fd, PERF_EVENT_IOC_ENABLE, 0) != 0) {
            rc = pmt__fail_os(errno, "cannot set up the RSS ring of cpu %d", cpu);
            break;
        }
    }
    if (rc == PMT_OK && p->ring_count == 0)
        rc = pmt__fail(PMT_ENOTSUP, "no CPU accepted a kmem:rss_stat event");
    if (rc == PMT_OK)
        rc = seed(p);
    if (rc != PMT_OK)
        close_rings(p);
    p->generation = pmt__fork_generation();
    return rc;
}

/* The gate: a few loads, one per CPU ring; open when a ring got a record since its last drain,
 * when another tracer's drain changed the members since this one read them, or in a child of
 * fork, whose rings must be its own. */
static int ring_gate(void *user_data, uint64_t now_ns)
{
    (void)now_ns;
    const ring_user *u = user_data;
    const ring_provider *p = u->p;
    if (p->generation != pmt__fork_counter || u->seen != p->version)
        return 1;
    for (int i = 0; i < p->ring_count; i++)
        if (__atomic_load_n(&p->rings[i].meta->data_head, __ATOMIC_ACQUIRE) != p->rings[i].drained)
            return 1;
    return 0;
}

static int refresh(ring_provider *p)
{
    if (p->generation != pmt__fork_generation()) {
        /* The rings are filtered to the parent's mm: a forked child needs its own. */
        close_rings(p);
        int rc = open_rings(p);
        if (rc != PMT_OK)
            return rc;
    }
    int lost = 0;
    for (int i = 0; i < p->ring_count; i++)
        lost |= drain(p, &p->rings[i]);
    if (lost) {
        p->resyncs++;
        seed(p);
    }
    return PMT_OK;
}

static int ring_read(void *user_data, uint64_t *out_bytes)
{
    ring_user *u = user_data;
    ring_provider *p = u->p;
    if (p->shared)
        pthread_mutex_lock(&p->lock);
    int rc = refresh(p);
    u->seen = p->version;
    *out_bytes = p->members[PMT__MM_FILEPAGES] + p->members[PMT__MM_ANONPAGES] +
                 p->members[PMT__MM_SHMEMPAGES];
    if (p->shared)
        pthread_mutex_unlock(&p->lock);
    return rc;
}

static void set_enabled(ring_provider *p, int enabled)
{
    for (int i = 0; i < p->ring_count; i++)
        ioctl(p->rings[i].fd, enabled ? PERF_EVENT_IOC_ENABLE : PERF_EVENT_IOC_DISABLE, 0);
}

static void ring_release(void *user_data)
{
    ring_user *u = user_data;
    ring_provider *p = u->p;
    free(u);
    if (!p->shared) {
        close_rings(p);
        free(p);
        return;
    }
    pthread_mutex_lock(&shared_lock);
    if (--p->users == 0)
        set_enabled(p, 0); /* nobody reads them: no sample costs the process anything */
    pthread_mutex_unlock(&shared_lock);
}

/* The process's rings, opened on first use; enabled and re-seeded when they were idle. */
static int use_shared_rings(ring_provider **out)
{
    pthread_mutex_lock(&shared_lock);
    ring_provider *p = shared_rings;
    int rc = PMT_OK;
    if (!p) {
        p = calloc(1, sizeof *p);
        if (!p) {
            pthread_mutex_unlock(&shared_lock);
            return pmt__fail(PMT_ENOMEM, "out of memory for the RSS ring provider");
        }
        p->data_pages = PMT__RING_DEFAULT_PAGES;
        p->shared = 1;
        pthread_mutex_init(&p->lock, NULL);
        rc = open_rings(p);
        if (rc == PMT_OK)
            shared_rings = p;
        else
            free(p);
    } else if (p->generation != pmt__fork_generation()) {
        close_rings(p); /* the parent's, inherited: this process needs its own */
        rc = open_rings(p);
    } else if (p->users == 0) {
        set_enabled(p, 1);
        rc = seed(p); /* nothing was recorded while they were off */
    }
    if (rc == PMT_OK) {
        p->users++;
        *out = p;
    }
    pthread_mutex_unlock(&shared_lock);
    return rc;
}

/* Rings of a size of their own (the tests of lost records), for one tracer. */
static int own_rings(unsigned data_pages, ring_provider **out)
{
    ring_provider *p = calloc(1, sizeof *p);
    if (!p)
        return pmt__fail(PMT_ENOMEM, "out of memory for the RSS ring provider");
    p->data_pages = data_pages;
    int rc = open_rings(p);
    if (rc != PMT_OK) {
        free(p);
        return rc;
    }
    *out = p;
    return PMT_OK;
}

int pmt__ring_provider(unsigned data_pages, pmt_rss_provider *out, void **user_data)
{
    ring_user *u = calloc(1, sizeof *u);
    if (!u)
        return pmt__fail(PMT_ENOMEM, "out of memory for the RSS ring provider");
    int rc = data_pages == 0 ? use_shared_rings(&u->p) : own_rings(data_pages, &u->p);
    if (rc != PMT_OK) {
        free(u);
        return rc;
    }
    u->seen = u->p->version - 1; /* the first event reads */
    pmt_rss_provider provider = PMT_RSS_PROVIDER_INIT;
    provider.name = "linux-rss_stat-ring";
    provider.accuracy = "exact at every event (the kernel streams each change)";
    provider.read = ring_read;
    provider.may_have_changed = ring_gate;
    provider.release = ring_release;
    *out = provider;
    *user_data = u;
    return PMT_OK;
}

uint64_t pmt__ring_resyncs(void *user_data)
{
    return ((ring_user *)user_data)->p->resyncs;
}
