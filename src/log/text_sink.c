/* The text log in pymemtrace's format:
 *
 *   [message]
 *   SOF
 *   HDR:  Event        dEvent  Clock        What     File ... #line Function ...  RSS  dRSS
 *   [FLT:  the filter stages, when any: "max_depth=5 sample_every=10"]
 *   FRST: / NEXT: / PREV: / LAST: rows with those columns, MSG: rows with a "# text" tail
 *   EOF
 *
 * Columns are padded to fixed widths; longer values are written whole. Rows are formatted by
 * hand (no printf) because the text sink formats every written event. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pymemtrace/monitor.h>
#include <pymemtrace/sink.h>

#include "common/compiler.h"
#include "common/error.h"
#include "log/file_sink.h"
#include "log/file_window.h"
#include "log/text_columns.h"
#include "core/sink_internal.h"

enum {
    BUFFER_SIZE = 64 * 1024,
    /* Events whose rows end in the buffer, at most (a row is longer than 32 bytes). */
    MAX_PENDING = BUFFER_SIZE / 32,
    W_EVENT = 12,
    W_DEVENT = 6, /* after the '+' */
    W_CLOCK = 12,
    W_WHAT = 8,
    W_FILE = 80,
    W_LINE = 5,
    W_FUNCTION = 32,
    W_RSS = 12,
};
static const uint64_t flush_interval_ns = 1000000000u;

typedef struct text_sink {
    pmt__log_file file;
    int failed;
    char *message; /* the first line, for a forked child's log (PMT_FORK_FOLLOW) */
    size_t used;
    uint64_t origin_ns, last_flush_ns, last_seq;
    uint64_t stored;            /* events whose rows are all in the file */
    uint32_t pending;           /* events whose rows end in buf ... */
    uint32_t ends[MAX_PENDING]; /* ... at these offsets */
    int have_origin;
    int names_live; /* begun by a tracer: names live as long as it, cached by address */
    pmt__name_cache names;
    char kinds[PMT_EV_KIND_COUNT][16]; /* each kind's column, padded, then a space */
    uint8_t kind_length[PMT_EV_KIND_COUNT];
    /* Rows go to buf: the heap buffer, written with write(2) when full; or, once begun on a
     * file of its own, a window over the file's tail (file_window.h), whose rows are in the file
     * as soon as they are stored: a killed process loses at most the row being written. */
    char *buf;
    int windowed;
    pmt__file_window window;
    uint64_t file_end; /* windowed: the file offset of buf[0] */
    char heap[BUFFER_SIZE];
} text_sink;

static void leave_window(text_sink *s);
static void enter_window(text_sink *s);

/* Windowed: the rows so far are in the file; the window moves on past them. */
static int move_window(text_sink *s)
{
    s->file_end += s->used;
    s->used = 0;
    char *at = pmt__file_window_move(&s->window, s->file.fd, s->file_end, BUFFER_SIZE);
    if (at) {
        s->buf = at;
        return 0;
    }
    leave_window(s); /* no room for a window (a full disk): whole writes from here on */
    return s->failed ? -1 : 0;
}

static int flush_buffer(text_sink *s)
{
    if (s->failed)
        return -1;
    if (s->windowed)
        return move_window(s);
    if (s->used && pmt__log_file_write(&s->file, s->buf, s->used) != 0) {
        s->failed = 1;
        /* A write cut short (a full disk) left some whole rows in the file: those count. */
        uint32_t whole = 0;
        while (whole < s->pending && s->ends[whole] <= s->file.last_done)
            whole++;
        s->stored += whole;
    } else {
        s->stored += s->pending;
    }
    s->pending = 0;
    s->used = 0;
    return s->failed ? -1 : 0;
}

/* The buffer is full: write it, then the text (through the buffer, or straight when larger). */
static PMT__NOINLINE void put_slow(text_sink *s, const char *p, size_t n)
{
    flush_buffer(s);
    if (n > BUFFER_SIZE) {
        /* Longer than a window (a long message): written whole, from the file's end. */
        int windowed = s->windowed;
        leave_window(s);
        if (!s->failed && pmt__log_file_write(&s->file, p, n) != 0)
            s->failed = 1;
        if (windowed && !s->failed)
            enter_window(s); /* at the file's end, after the message */
        return;
    }
    memcpy(s->buf + s->used, p, n);
    s->used += n;
}

/* Small enough to inline everywhere: a constant n becomes a store. */
static inline void put(text_sink *s, const char *p, size_t n)
{
    if (PMT__UNLIKELY(s->used + n > BUFFER_SIZE)) {
        put_slow(s, p, n);
        return;
    }
    memcpy(s->buf + s->used, p, n);
    s->used += n;
}

static void put_str(text_sink *s, const char *p)
{
    put(s, p, strlen(p));
}

static void put_spaces(text_sink *s, size_t n)
{
    static const char spaces[] = "                                                                "
                                 "                                ";
    while (n > 0) {
        size_t k = n < sizeof spaces - 1 ? n : sizeof spaces - 1;
        put(s, spaces, k);
        n -= k;
    }
}

/* Writes n bytes of UTF-8 text whole; control characters become \xNN so that a row stays one
 * line. Returns the number of bytes written, for padding (UTF-8 names may pad a little short). */
static size_t put_text_n(text_sink *s, const char *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t written = 0, run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 0x20 && c != 0x7f)
            continue;
        put(s, p + run, i - run);
        char esc[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
        put(s, esc, 4);
        written += i - run + 4;
        run = i + 1;
    }
    put(s, p + run, n - run);
    return written + n - run;
}

static size_t put_text(text_sink *s, const char *p)
{
    return put_text_n(s, p, strlen(p));
}

/* Columns are split on whitespace when read, so an empty name (no Python frame at an event the
 * host caused, e.g. a stop at exit) is written as "?" rather than as nothing. */
static const char *or_unknown(const char *name)
{
    return name && name[0] ? name : "?";
}

static void put_left(text_sink *s, const char *text, size_t width)
{
    size_t n = put_text(s, text);
    if (n < width)
        put_spaces(s, width - n);
}

static size_t format_u64(char *out, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

static size_t format_i64(char *out, int64_t v)
{
    if (v >= 0)
        return format_u64(out, (uint64_t)v);
    out[0] = '-';
    return 1 + format_u64(out + 1, (uint64_t)0 - (uint64_t)v);
}

static void put_number(text_sink *s, const char *digits, size_t n, size_t width, int right)
{
    if (right && n < width)
        put_spaces(s, width - n);
    put(s, digits, n);
    if (!right && n < width)
        put_spaces(s, width - n);
}

static void put_u64(text_sink *s, uint64_t v, size_t width, int right)
{
    char d[24];
    put_number(s, d, format_u64(d, v), width, right);
}

static void put_i64(text_sink *s, int64_t v, size_t width, int right)
{
    char d[24];
    put_number(s, d, format_i64(d, v), width, right);
}

/* Seconds with six decimals, rounded to the microsecond. */
static void put_clock(text_sink *s, uint64_t ns, size_t width)
{
    uint64_t us = (ns + 500) / 1000;
    char d[32];
    size_t n = format_u64(d, us / 1000000);
    d[n++] = '.';
    uint64_t frac = us % 1000000;
    for (int i = 5; i >= 0; i--) {
        d[n + (size_t)i] = (char)('0' + frac % 10);
        frac /= 10;
    }
    put_number(s, d, n + 6, width, 0);
}

static const char *tag_of(uint32_t reason)
{
    switch (reason) {
    case PMT_REASON_FIRST:
        return "FRST: ";
    case PMT_REASON_TRIGGER:
        return "NEXT: ";
    case PMT_REASON_BEFORE:
        return "PREV: ";
    case PMT_REASON_MESSAGE:
        return "MSG:  ";
    case PMT_REASON_ALLOCATION:
        return "ALOC: ";
    case PMT_REASON_GC:
        return "GC:   ";
    case PMT_REASON_OBJECT:
        return "OBJ:  ";
    case PMT_REASON_SAMPLE:
        return "SMPL: ";
    default:
        return "LAST: ";
    }
}

/* Event, +dEvent and Clock: the columns every row starts with. */
static void put_position(text_sink *s, const pmt_event *ev)
{
    put_u64(s, ev->seq, W_EVENT, 0);
    put(s, " +", 2);
    put_u64(s, ev->seq - s->last_seq, W_DEVENT, 0);
    put(s, " ", 1);
    put_clock(s, ev->time_ns - s->origin_ns, W_CLOCK);
}

static void put_message_rows(text_sink *s, const pmt_event *ev)
{
    const char *line = ev->message;
    for (;;) {
        const char *end = strchr(line, '\n');
        put_str(s, tag_of(ev->reason));
        put_position(s, ev);
        put(s, " # ", 3);
        put_text_n(s, line, end ? (size_t)(end - line) : strlen(line));
        put(s, "\n", 1);
        if (!end)
            return;
        line = end + 1;
    }
}

/* Bytes a row needs besides its file and function columns: the tag, the numbers at their widest
 * (20 digits and a sign), the kind and the separators. */
enum {
    ROW_FIXED_MAX =
        6 + 21 + 2 + 21 + 1 + 28 + 1 + 16 + 16 + 12 + 1 + 16 + 21 + 1 + 21 + 1 + PMT__COLUMN_SLACK
};

/* A row of a tracer's event, written straight into the buffer with the name columns copied from
 * the cache: what almost every row takes. 0, or -1 when it could not (out of memory, or names
 * too long for the buffer): the caller writes the row the slow way. */
static int put_row_fast(text_sink *s, const pmt_event *ev)
{
    size_t file_n, function_n;
    const char *file = pmt__name_column(&s->names, or_unknown(ev->file), W_FILE, &file_n);
    uint64_t moves = s->names.moves;
    const char *function =
        file ? pmt__name_column(&s->names, or_unknown(ev->function), W_FUNCTION, &function_n)
             : NULL;
    /* Adding the function's text may have moved the file's, or the two may evict each other. */
    if (!function || s->names.moves != moves)
        return -1;
    size_t need = ROW_FIXED_MAX + file_n + function_n;
    if (need > BUFFER_SIZE || ev->kind >= PMT_EV_KIND_COUNT)
        return -1;
    if (PMT__UNLIKELY(s->used + need > BUFFER_SIZE) && flush_buffer(s) != 0)
        return 0; /* failed: nothing more is written */
    char *p = s->buf + s->used;
    memcpy(p, tag_of(ev->reason), 6);
    p = pmt__put_u64_left(p + 6, ev->seq, W_EVENT);
    *p++ = ' ';
    *p++ = '+';
    p = pmt__put_u64_left(p, ev->seq - s->last_seq, W_DEVENT);
    *p++ = ' ';
    p = pmt__put_clock_left(p, ev->time_ns - s->origin_ns, W_CLOCK);
    *p++ = ' ';
    memcpy(p, s->kinds[ev->kind], 16); /* constant sizes: the row's room covers the excess */
    p += s->kind_length[ev->kind];
    if (file_n <= W_FILE + 16)
        memcpy(p, file, W_FILE + 16);
    else
        memcpy(p, file, file_n);
    p = pmt__put_i64_right(p + file_n, ev->line, W_LINE);
    *p++ = ' ';
    if (function_n <= W_FUNCTION + 16)
        memcpy(p, function, W_FUNCTION + 16);
    else
        memcpy(p, function, function_n);
    p = pmt__put_i64_right(p + function_n, (int64_t)ev->rss, W_RSS);
    *p++ = ' ';
    p = pmt__put_i64_right(p, ev->d_rss, W_RSS);
    *p++ = '\n';
    s->used = (size_t)(p - s->buf);
    return 0;
}

static void put_hex(text_sink *s, uint64_t v)
{
    char digits[18] = "0x";
    size_t n = 2;
    int shift = 60;
    while (shift > 0 && !(v >> shift & 0xF))
        shift -= 4;
    for (; shift >= 0; shift -= 4)
        digits[n++] = "0123456789abcdef"[v >> shift & 0xF];
    put(s, digits, n);
}

/* An allocation row's tail (doc/text-format.md): " @ OBJ 177 0x55d0c0a0" and, for a resize,
 * " from 0x55d0c000 64". */
static void put_allocation(text_sink *s, const pmt_event *ev)
{
    put(s, " @ ", 3);
    put_str(s, pmt_allocator_name((int)ev->allocator));
    put(s, " ", 1);
    put_u64(s, ev->size, 0, 0);
    put(s, " ", 1);
    put_hex(s, ev->address);
    if (ev->kind == PMT_EV_REALLOC) {
        put(s, " from ", 6);
        put_hex(s, ev->old_address);
        put(s, " ", 1);
        put_u64(s, ev->old_size, 0, 0);
    }
}

/* A garbage collection row's tail (doc/text-format.md): " @ gen 2" and, at its end,
 * " collected 12 uncollectable 0 ns 183042". */
static void put_gc(text_sink *s, const pmt_event *ev)
{
    put(s, " @ gen ", 7);
    put_i64(s, ev->gc_generation, 0, 0);
    if (ev->kind == PMT_EV_GC_DONE) {
        put(s, " collected ", 11);
        put_u64(s, ev->gc_collected, 0, 0);
        put(s, " uncollectable ", 15);
        put_u64(s, ev->gc_uncollectable, 0, 0);
        put(s, " ns ", 4);
        put_u64(s, ev->gc_duration_ns, 0, 0);
    }
}

/* An object row's tail (doc/text-format.md): " @ Node 0x7f3a2c1e8e50 live 12" for a birth or a
 * death, " @ Node created 100 destroyed 20 live 80" for a type's counts. */
static void put_object(text_sink *s, const pmt_event *ev)
{
    put(s, " @ ", 3);
    put_str(s, or_unknown(ev->type_name));
    if (ev->kind == PMT_EV_OBJECT_COUNT) {
        put(s, " created ", 9);
        put_u64(s, ev->type_created, 0, 0);
        put(s, " destroyed ", 11);
        put_u64(s, ev->type_destroyed, 0, 0);
    } else {
        put(s, " ", 1);
        put_hex(s, ev->address);
    }
    put(s, " live ", 6);
    put_i64(s, ev->type_live, 0, 0);
}

/* A monitor sample's tail (doc/text-format.md): " @ taken 0.100413 peak 52428800 minflt 1200
 * majflt 0 user_ns 120000000 system_ns 10000000 anon 30000000 file 20000000 shmem 0 cgroup 0
 * max none", then " # label" when it has one. */
static void put_sample(text_sink *s, const pmt_event *ev)
{
    const pmt_sample *sample = ev->sample;
    const struct {
        const char *name;
        uint64_t value;
    } fields[] = {{" peak ", sample->peak_rss},           {" minflt ", sample->minor_faults},
                  {" majflt ", sample->major_faults},     {" user_ns ", sample->user_cpu_ns},
                  {" system_ns ", sample->system_cpu_ns}, {" anon ", sample->rss_anon},
                  {" file ", sample->rss_file},           {" shmem ", sample->rss_shmem},
                  {" cgroup ", sample->cgroup_current}};
    /* When it was taken, on the Clock column's scale: its row may be a little earlier. */
    put(s, " @ taken ", 9);
    put_clock(s, sample->time_ns > s->origin_ns ? sample->time_ns - s->origin_ns : 0, 0);
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        put_str(s, fields[i].name);
        put_u64(s, fields[i].value, 0, 0);
    }
    put(s, " max ", 5);
    if (sample->cgroup_max == UINT64_MAX)
        put(s, "none", 4);
    else
        put_u64(s, sample->cgroup_max, 0, 0);
    if (ev->message) {
        put(s, " # ", 3);
        put_text_n(s, ev->message, strlen(ev->message));
    }
}

static int text_write(const pmt_event *ev, void *user_data)
{
    text_sink *s = user_data;
    if (!s->have_origin) {
        s->origin_ns = ev->time_ns;
        s->last_flush_ns = ev->time_ns;
        s->last_seq = ev->seq;
        s->have_origin = 1;
    }
    if (ev->kind == PMT_EV_MARK && ev->message) {
        put_message_rows(s, ev);
    } else if (s->names_live && ev->rss <= INT64_MAX && ev->kind < PMT_EV_ALLOC &&
               put_row_fast(s, ev) == 0) {
        /* written */
    } else {
        put_str(s, tag_of(ev->reason));
        put_position(s, ev);
        put(s, " ", 1);
        put_left(s, pmt_event_kind_name((int)ev->kind), W_WHAT);
        put(s, " ", 1);
        put_left(s, or_unknown(ev->file), W_FILE);
        put(s, " ", 1);
        put_i64(s, ev->line, W_LINE, 1);
        put(s, " ", 1);
        put_left(s, or_unknown(ev->function), W_FUNCTION);
        put(s, " ", 1);
        put_u64(s, ev->rss, W_RSS, 1);
        put(s, " ", 1);
        put_i64(s, ev->d_rss, W_RSS, 1);
        if (ev->kind >= PMT_EV_ALLOC && ev->kind <= PMT_EV_FREE &&
            ev->struct_size >= offsetof(pmt_event, old_size) + sizeof ev->old_size)
            put_allocation(s, ev);
        else if ((ev->kind == PMT_EV_GC_START || ev->kind == PMT_EV_GC_DONE) &&
                 ev->struct_size >= offsetof(pmt_event, gc_duration_ns) + sizeof ev->gc_duration_ns)
            put_gc(s, ev);
        else if (ev->kind >= PMT_EV_OBJECT_NEW && ev->kind <= PMT_EV_OBJECT_COUNT &&
                 ev->struct_size >= offsetof(pmt_event, type_destroyed) + sizeof ev->type_destroyed)
            put_object(s, ev);
        else if (ev->kind == PMT_EV_SAMPLE &&
                 ev->struct_size >= offsetof(pmt_event, sample) + sizeof ev->sample && ev->sample)
            put_sample(s, ev);
        put(s, "\n", 1);
    }
    s->last_seq = ev->seq;
    if (s->windowed) {
        s->stored++; /* its rows are in the file already */
        return 0;
    }
    s->ends[s->pending++] = (uint32_t)s->used;
    if (s->pending == MAX_PENDING)
        flush_buffer(s);
    if (ev->time_ns - s->last_flush_ns >= flush_interval_ns) {
        s->last_flush_ns = ev->time_ns;
        flush_buffer(s);
    }
    return s->failed ? -1 : 0;
}

/* A run with filter stages says which under the header, so that a reader knows what the rows
 * leave out. Written at start, not at open: the header is on disk before the tracer starts. */
/* The window for a file of the sink's own: what is buffered goes out first; the window starts
 * at the file's end. Without one (no fallocate, no room), rows are written as before. */
static void enter_window(text_sink *s)
{
    if (s->windowed || !s->file.owns_fd || s->file.fd < 0 || getenv("PYMEMTRACE_NO_LIVE_AREA"))
        return;
    if (flush_buffer(s) != 0)
        return;
    off_t end = lseek(s->file.fd, 0, SEEK_CUR);
    char *at =
        end >= 0 ? pmt__file_window_move(&s->window, s->file.fd, (uint64_t)end, BUFFER_SIZE) : NULL;
    if (!at) {
        /* Its allocated zeros go; if they cannot, a reader stops at them as at a cut. */
        if (end >= 0)
            (void)!ftruncate(s->file.fd, end);
        return;
    }
    s->windowed = 1;
    s->file_end = (uint64_t)end;
    s->buf = at;
    s->used = 0;
}

/* Back to whole writes: the file is cut after its rows (the window's zeros go) and written on
 * from there. */
static void leave_window(text_sink *s)
{
    if (!s->windowed)
        return;
    uint64_t end = s->file_end + s->used;
    pmt__file_window_close(&s->window);
    s->windowed = 0;
    s->buf = s->heap;
    s->used = 0;
    if (ftruncate(s->file.fd, (off_t)end) != 0 || lseek(s->file.fd, (off_t)end, SEEK_SET) < 0)
        s->failed = 1;
}

static int text_begin(const pmt_run_info *info, void *user_data)
{
    text_sink *s = user_data;
    s->names_live = 1;
    enter_window(s);
    if (info->struct_size < offsetof(pmt_run_info, filters) + sizeof info->filters ||
        !info->filters || !*info->filters)
        return 0;
    put_str(s, "FLT:  ");
    put_text(s, info->filters);
    put(s, "\n", 1);
    return s->failed ? -1 : 0;
}

static int text_flush(void *user_data)
{
    return flush_buffer(user_data);
}

static int text_finish(void *user_data)
{
    text_sink *s = user_data;
    put_str(s, "EOF\n");
    if (s->windowed) {
        leave_window(s); /* the file ends after EOF */
        return s->failed ? -1 : 0;
    }
    return flush_buffer(s);
}

static void text_close(void *user_data)
{
    text_sink *s = user_data;
    if (s->windowed && !s->failed)
        leave_window(s);
    pmt__file_window_close(&s->window);
    pmt__log_file_close(&s->file);
    pmt__name_cache_free(&s->names);
    free(s->message);
    free(s);
}

/* In a child of fork: the buffered rows and the file are the parent's. */
static void text_forget(void *user_data)
{
    text_sink *s = user_data;
    pmt__file_window_close(&s->window); /* the parent's pages: unmapped here, untouched */
    s->windowed = 0;
    s->buf = s->heap;
    s->used = 0;
    s->pending = 0;
    s->failed = 1;
    s->names_live = 0;
    pmt__log_file_forget(&s->file);
}

static void put_header(text_sink *s, const char *message);

/* A following child's own log: a new file that starts as the parent's did. */
static int text_reopen(int64_t child_pid, void *user_data)
{
    text_sink *s = user_data;
    if (pmt__log_file_reopen_child(&s->file, child_pid, ".log") != PMT_OK)
        return -1;
    s->failed = 0;
    s->used = 0;
    s->stored = s->pending = 0;
    s->have_origin = 0;
    put_header(s, s->message);
    if (flush_buffer(s) != 0)
        return pmt__fail_os(errno, "cannot write log file '%s'", s->file.path);
    return 0;
}

static const char *text_path(void *user_data)
{
    return ((text_sink *)user_data)->file.path;
}

static uint64_t text_stored(void *user_data)
{
    return ((text_sink *)user_data)->stored;
}

static void put_header(text_sink *s, const char *message)
{
    if (message) {
        put_text(s, message); /* one line: control characters become \xNN */
        put(s, "\n", 1);
    }
    put_str(s, "SOF\n");
    put_str(s, "HDR:  ");
    put_left(s, "Event", W_EVENT);
    put(s, " ", 1);
    put_left(s, "dEvent", W_DEVENT + 1);
    put(s, " ", 1);
    put_left(s, "Clock", W_CLOCK);
    put(s, " ", 1);
    put_left(s, "What", W_WHAT);
    put(s, " ", 1);
    put_left(s, "File", W_FILE);
    put(s, " ", 1);
    put_spaces(s, W_LINE - 5);
    put_str(s, "#line");
    put(s, " ", 1);
    put_left(s, "Function", W_FUNCTION);
    put(s, " ", 1);
    put_spaces(s, W_RSS - 3);
    put_str(s, "RSS");
    put(s, " ", 1);
    put_spaces(s, W_RSS - 4);
    put_str(s, "dRSS");
    put(s, "\n", 1);
}

/* Wraps s, whose file is open; takes ownership of s (freed on failure). */
static int make_text_sink(pmt_sink **out, text_sink *s, const char *message)
{
    s->buf = s->heap;
    for (int kind = 0; kind < PMT_EV_KIND_COUNT; kind++) {
        const char *name = pmt_event_kind_name(kind);
        s->kind_length[kind] =
            (uint8_t)pmt__format_name(s->kinds[kind], name, strlen(name), W_WHAT);
    }
    put_header(s, message);
    int rc = PMT_OK;
    if (message && !(s->message = strdup(message)))
        rc = pmt__fail(PMT_ENOMEM, "out of memory for the message");
    else if (flush_buffer(s) != 0)
        rc = pmt__fail_os(errno, "cannot write log file '%s'",
                          s->file.path ? s->file.path : "(descriptor)");
    pmt_sink_ops ops = PMT_SINK_OPS_INIT;
    ops.write = text_write;
    ops.flush = text_flush;
    ops.close = text_close;
    ops.finish = text_finish;
    ops.begin = text_begin;
    ops.forget = text_forget;
    ops.reopen =
        s->file.owns_fd ? text_reopen : NULL; /* a caller's descriptor stays the parent's */
    ops.path = text_path;
    ops.stored = text_stored;
    if (rc == PMT_OK)
        rc = pmt_sink_create(out, &ops, s);
    if (rc != PMT_OK)
        text_close(s);
    else
        pmt__sink_set_file(*out);
    return rc;
}

int pmt_sink_text_open(pmt_sink **out, const char *path, const char *message)
{
    if (!out)
        return pmt__fail(PMT_EINVAL, "pmt_sink_text_open: out is NULL");
    *out = NULL;
    text_sink *s = calloc(1, sizeof *s);
    if (!s)
        return pmt__fail(PMT_ENOMEM, "out of memory for a text sink");
    int rc = pmt__log_file_create(&s->file, path, ".log");
    if (rc != PMT_OK) {
        free(s);
        return rc;
    }
    return make_text_sink(out, s, message);
}

int pmt_sink_text_fd(pmt_sink **out, int fd, const char *message)
{
    if (!out || fd < 0)
        return pmt__fail(PMT_EINVAL, "pmt_sink_text_fd: NULL out or negative descriptor");
    *out = NULL;
    text_sink *s = calloc(1, sizeof *s);
    if (!s)
        return pmt__fail(PMT_ENOMEM, "out of memory for a text sink");
    pmt__log_file_adopt(&s->file, fd);
    return make_text_sink(out, s, message);
}
