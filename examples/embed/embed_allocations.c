/* embed_allocations: an application that embeds Python and records its interpreter's
 * allocations (doc/allocations.md): which Python function allocated what.
 *
 *   embed_allocations LOG.pmt
 *
 * It starts an interpreter and a tracer of CPython's allocator domains only (no Python event is
 * written, RSS is not read), with a binary log and a callback sink of its own; runs a snippet
 * whose function embed_alloc makes a 4 MiB bytearray and drops it; stops; then checks that both
 * the callback and the log (read back with pmt_reader_*) saw that block made and freed in
 * embed_alloc, that a second tracer of allocations is refused while the first runs (PMT_EBUSY),
 * and that the counters agree. Exit status 0 when every check passed, 1 otherwise, 2 on usage.
 *
 * Build against an installed library:
 *   cc embed_allocations.c $(pkg-config --cflags --libs pymemtrace python3-embed)
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <pymemtrace/pymemtrace.h>

#define BLOCK_BYTES (UINT64_C(4) << 20)

static const char code[] = "def embed_alloc():\n"
                           "    block = bytearray(4 << 20)\n"
                           "    return len(block)\n"
                           "\n"
                           "embed_alloc()\n";

static int failures;

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "embed_allocations: FAIL: %s (last message: \"%s\")\n", what,
                pmt_last_error_message());
        failures++;
    }
}

/* What a sink saw of the 4 MiB block: its address, made and freed in embed_alloc. */
typedef struct seen_block {
    uint64_t address;
    int made, freed;
    uint64_t events;
} seen_block;

static void look(seen_block *b, const pmt_event *ev)
{
    /* Read the allocation fields only when the library filled them (events only ever grow). */
    if (offsetof(pmt_event, old_size) + sizeof ev->old_size > ev->struct_size)
        return;
    b->events++;
    if (ev->kind == PMT_EV_ALLOC && ev->size >= BLOCK_BYTES &&
        strcmp(ev->function, "embed_alloc") == 0) {
        b->address = ev->address;
        b->made++;
    } else if (ev->kind == PMT_EV_FREE && b->made && ev->address == b->address &&
               ev->size >= BLOCK_BYTES) {
        b->freed++;
    }
}

static int callback_write(const pmt_event *ev, void *user_data)
{
    look(user_data, ev);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s LOG.pmt\n", argv[0]);
        return 2;
    }
    Py_Initialize();
    pmt_tracer *t = NULL, *second = NULL;
    pmt_sink *log = NULL, *callback = NULL;
    seen_block live = {0}, read_back = {0};
    check(pmt_tracer_create(&t) == PMT_OK, "pmt_tracer_create");
    check(pmt_tracer_set_param(t, PMT_PARAM_ALLOCATORS, PMT_ALLOCATORS_PYTHON) == PMT_OK,
          "set PMT_PARAM_ALLOCATORS");
    check(pmt_tracer_set_param(t, PMT_PARAM_EVENT_MASK, 0) == PMT_OK, "event mask 0");
    check(pmt_tracer_set_param(t, PMT_PARAM_RSS_MODE, PMT_RSS_NONE) == PMT_OK, "rss mode none");
    check(pmt_sink_binary_open(&log, argv[1], "embed_allocations", NULL) == PMT_OK,
          "pmt_sink_binary_open");
    pmt_sink_ops ops = PMT_SINK_OPS_INIT;
    ops.write = callback_write;
    check(pmt_sink_create(&callback, &ops, &live) == PMT_OK, "pmt_sink_create");
    check(pmt_tracer_add_sink(t, log) == PMT_OK, "add the log");
    check(pmt_tracer_add_sink(t, callback) == PMT_OK, "add the callback");
    check(pmt_tracer_start(t) == PMT_OK, "pmt_tracer_start");

    /* One tracer of allocations per process. */
    check(pmt_tracer_create(&second) == PMT_OK, "second pmt_tracer_create");
    pmt_tracer_set_param(second, PMT_PARAM_ALLOCATORS, PMT_ALLOCATORS_PYTHON);
    check(pmt_tracer_start(second) == PMT_EBUSY, "a second tracer of allocations is PMT_EBUSY");
    pmt_tracer_destroy(second);

    check(PyRun_SimpleString(code) == 0, "the snippet runs");
    check(pmt_tracer_stop(t) == PMT_OK, "pmt_tracer_stop");
    uint64_t seen = 0, written = 0;
    pmt_tracer_get_stat(t, PMT_STAT_ALLOCATIONS_SEEN, &seen);
    pmt_tracer_get_stat(t, PMT_STAT_EVENTS_WRITTEN, &written);
    pmt_tracer_destroy(t); /* closes the log */

    check(live.made == 1 && live.freed == 1, "the callback saw the block made and freed");
    pmt_reader *r = NULL;
    check(pmt_reader_open(&r, argv[1]) == PMT_OK, "pmt_reader_open");
    const pmt_event *ev;
    while (r && pmt_reader_next(r, &ev) == 1)
        look(&read_back, ev);
    check(r && pmt_reader_status(r, NULL, NULL) == PMT_OK, "the log is complete");
    pmt_reader_close(r);
    check(read_back.made == 1 && read_back.freed == 1 && read_back.address == live.address,
          "the log holds the block made and freed");
    check(seen > 0 && read_back.events == written, "the counters agree with the log");
    Py_Finalize();
    if (failures)
        return 1;
    printf("embed_allocations: ok: %llu allocator calls seen, %llu events written, the 4 MiB "
           "block made and freed in embed_alloc at 0x%llx\n",
           (unsigned long long)seen, (unsigned long long)written, (unsigned long long)live.address);
    return 0;
}
