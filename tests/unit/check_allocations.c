/* Allocation events without Python: the block table against a model, the allocation stages of
 * the pipeline (allocators, minimum size, byte sampling, frees of recorded blocks only, resizes,
 * free(NULL)), and allocation records through the binary log and the text log. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/blocks.h"
#include "fakes.h"
#include "suites.h"

START_TEST(the_block_table_matches_a_model)
{
    enum { ADDRESSES = 5000, OPERATIONS = 200000 };
    static uint64_t model[ADDRESSES]; /* size + 1 when live, 0 when not */
    memset(model, 0, sizeof model);
    pmt__blocks blocks = {0};
    uint64_t state = 12345, live = 0, bytes = 0;
    for (int i = 0; i < OPERATIONS; i++) {
        uint64_t r = fake_random(&state);
        size_t k = (size_t)(r % ADDRESSES);
        /* Addresses 16 apart, so that many share a home slot region. */
        uint64_t address = 0x10000 + (uint64_t)k * 16;
        if ((r >> 32) % 3) {
            uint64_t size = (r >> 40) % 100000;
            if (model[k]) {
                bytes -= model[k] - 1;
                live--;
            }
            ck_assert_int_eq(pmt__blocks_add(&blocks, address, size, (unsigned)(k % 6)), 0);
            model[k] = size + 1;
            live++;
            bytes += size;
        } else {
            uint64_t size = 0;
            unsigned allocator = 9;
            int found = pmt__blocks_remove(&blocks, address, &size, &allocator);
            ck_assert_int_eq(found, model[k] != 0);
            if (found) {
                ck_assert_uint_eq(size, model[k] - 1);
                ck_assert_uint_eq(allocator, k % 6);
                bytes -= size;
                live--;
                model[k] = 0;
            }
        }
        ck_assert_uint_eq(blocks.count, live);
    }
    ck_assert_uint_eq(blocks.bytes, bytes);
    for (size_t k = 0; k < ADDRESSES; k++) { /* every live one is still found */
        uint64_t size;
        unsigned allocator;
        ck_assert_int_eq(pmt__blocks_remove(&blocks, 0x10000 + (uint64_t)k * 16, &size, &allocator),
                         model[k] != 0);
    }
    ck_assert_uint_eq(blocks.count, 0);
    ck_assert_uint_eq(blocks.bytes, 0);
    pmt__blocks_free(&blocks);
}
END_TEST

static void allocation(pmt_tracer *t, pmt_event_kind kind, pmt_allocator allocator,
                       uint64_t address, uint64_t size, uint64_t old_address)
{
    pmt__allocation a = {kind, allocator, address, size, old_address};
    pmt__tracer_allocation(t, &a, "app.py", "build", 7, 3);
}

static pmt_tracer *alloc_tracer(fake_clock *clock, fake_rss *rss, capture *cap, int64_t allocators,
                                int64_t min_size, int64_t sample)
{
    pmt_tracer *t = fake_tracer(clock, rss, -1, cap);
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_ALLOCATORS, allocators), PMT_OK);
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_ALLOC_MIN_SIZE, min_size), PMT_OK);
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_ALLOC_SAMPLE_BYTES, sample), PMT_OK);
    ck_assert_int_eq(pmt_tracer_start(t), PMT_OK);
    return t;
}

static uint64_t stat_of(const pmt_tracer *t, pmt_stat stat)
{
    uint64_t value = 0;
    ck_assert_int_eq(pmt_tracer_get_stat(t, stat, &value), PMT_OK);
    return value;
}

START_TEST(allocation_stages_write_what_they_keep)
{
    fake_clock clock = {.now = 1000};
    fake_rss rss = {.value = 1 << 20};
    capture cap = {0};
    pmt_tracer *t = alloc_tracer(&clock, &rss, &cap, PMT_ALLOCATORS_PYTHON, 64, 0);
    size_t first = cap.count; /* START */
    allocation(t, PMT_EV_ALLOC, PMT_ALLOCATOR_OBJ, 0x1000, 100, 0);
    allocation(t, PMT_EV_ALLOC, PMT_ALLOCATOR_OBJ, 0x2000, 10, 0);         /* below the minimum */
    allocation(t, PMT_EV_FREE, PMT_ALLOCATOR_OBJ, 0x2000, 0, 0);           /* its free: dropped */
    allocation(t, PMT_EV_FREE, PMT_ALLOCATOR_OBJ, 0x3000, 0, 0);           /* never seen: dropped */
    allocation(t, PMT_EV_ALLOC, PMT_ALLOCATOR_NATIVE, 0x4000, 4096, 0);    /* not traced */
    allocation(t, PMT_EV_REALLOC, PMT_ALLOCATOR_MEM, 0x5000, 300, 0x1000); /* a recorded block */
    allocation(t, PMT_EV_REALLOC, PMT_ALLOCATOR_MEM, 0x6000, 500, 0x7000); /* an unknown one */
    allocation(t, PMT_EV_FREE, PMT_ALLOCATOR_MEM, 0, 0, 0);                /* free(NULL) */
    ck_assert_uint_eq(stat_of(t, PMT_STAT_BLOCKS_LIVE), 2);
    ck_assert_uint_eq(stat_of(t, PMT_STAT_BLOCK_BYTES_LIVE), 800);
    rss.value += 1 << 20;
    allocation(t, PMT_EV_FREE, PMT_ALLOCATOR_MEM, 0x5000, 0, 0);
    ck_assert_uint_eq(stat_of(t, PMT_STAT_FREES_OF_NULL), 1);
    ck_assert_uint_eq(stat_of(t, PMT_STAT_BLOCKS_LIVE), 1);
    ck_assert_uint_eq(stat_of(t, PMT_STAT_ALLOCATIONS_SEEN), 8); /* NATIVE is not traced */
    ck_assert_uint_eq(cap.count - first, 4);
    const pmt_event *e = &cap.events[first].ev;
    ck_assert_int_eq(e->kind, PMT_EV_ALLOC);
    ck_assert_int_eq(e->reason, PMT_REASON_ALLOCATION);
    ck_assert_int_eq(e->allocator, PMT_ALLOCATOR_OBJ);
    ck_assert_uint_eq(e->address, 0x1000);
    ck_assert_uint_eq(e->size, 100);
    ck_assert_str_eq(cap.events[first].file, "app.py");
    ck_assert_int_eq(e->line, 7);
    ck_assert_int_eq(e->depth, 3);
    e = &cap.events[first + 1].ev;
    ck_assert_int_eq(e->kind, PMT_EV_REALLOC);
    ck_assert_uint_eq(e->address, 0x5000);
    ck_assert_uint_eq(e->old_address, 0x1000);
    ck_assert_uint_eq(e->old_size, 100);
    ck_assert_uint_eq(e->size, 300);
    e = &cap.events[first + 2].ev;
    ck_assert_uint_eq(e->old_size, 0); /* not seen allocated */
    e = &cap.events[first + 3].ev;
    ck_assert_int_eq(e->kind, PMT_EV_FREE);
    ck_assert_uint_eq(e->size, 300);     /* from the table */
    ck_assert_int_eq(e->d_rss, 1 << 20); /* allocations are rows: dRSS moves to them */
    ck_assert_int_eq(pmt_tracer_stop(t), PMT_OK);
    /* The last mark says what was counted. */
    const captured *mark = &cap.events[cap.count - 2];
    ck_assert_int_eq(mark->ev.kind, PMT_EV_MARK);
    ck_assert_ptr_nonnull(strstr(mark->message, "free(NULL) 1, live blocks 1, live bytes 500"));
    pmt_tracer_destroy(t);
    capture_free(&cap);
}
END_TEST

START_TEST(byte_sampling_keeps_about_size_over_rate)
{
    fake_clock clock = {.now = 1000};
    fake_rss rss = {.value = 1 << 20};
    capture cap = {0};
    pmt_tracer *t = alloc_tracer(&clock, &rss, &cap, PMT_ALLOCATORS_PYTHON, 0, 1024);
    size_t first = cap.count;
    enum { SMALL = 100000 };
    for (int i = 0; i < SMALL; i++)
        allocation(t, PMT_EV_ALLOC, PMT_ALLOCATOR_OBJ, 0x100000 + (uint64_t)i * 64, 64, 0);
    size_t kept = cap.count - first;
    /* Each is kept with probability 1 - exp(-1/16) = 0.0606: 6058 expected, sd 75. */
    ck_assert_msg(kept > 5600 && kept < 6500, "kept %zu of %d", kept, SMALL);
    /* Every free of a kept block is written, no other. */
    for (int i = 0; i < SMALL; i++)
        allocation(t, PMT_EV_FREE, PMT_ALLOCATOR_OBJ, 0x100000 + (uint64_t)i * 64, 0, 0);
    ck_assert_uint_eq(cap.count - first, 2 * kept);
    /* A block much larger than the rate is all but always kept. */
    first = cap.count;
    for (int i = 0; i < 100; i++)
        allocation(t, PMT_EV_ALLOC, PMT_ALLOCATOR_OBJ, 0x90000000 + (uint64_t)i * 65536, 65536, 0);
    ck_assert_uint_eq(cap.count - first, 100);
    ck_assert_int_eq(pmt_tracer_stop(t), PMT_OK);
    pmt_tracer_destroy(t);
    capture_free(&cap);
}
END_TEST

START_TEST(the_tracers_own_allocations_are_not_recorded)
{
    fake_clock clock = {.now = 1000};
    fake_rss rss = {.value = 1 << 20};
    capture cap = {0};
    pmt_tracer *t = alloc_tracer(&clock, &rss, &cap, PMT_ALLOCATORS_PYTHON, 0, 0);
    size_t first = cap.count;
    t->delivering = 1;
    allocation(t, PMT_EV_ALLOC, PMT_ALLOCATOR_OBJ, 0x1000, 100, 0);
    t->delivering = 0;
    ck_assert_uint_eq(cap.count, first);
    ck_assert_uint_eq(stat_of(t, PMT_STAT_ALLOCATIONS_UNTRACED), 1);
    ck_assert_int_eq(pmt_tracer_stop(t), PMT_OK);
    pmt_tracer_destroy(t);
    capture_free(&cap);
}
END_TEST

/* Allocation records through a binary log: every field back, for steps up, down, unaligned and
 * far, in several chunks. */
START_TEST(allocation_records_round_trip_through_the_binary_log)
{
    char *dir = temp_dir_create();
    char *path;
    ck_assert_int_gt(asprintf(&path, "%s/alloc.pmt", dir), 0);
    fake_clock clock = {.now = 1000};
    fake_rss rss = {.value = 1 << 20};
    capture cap = {0};
    pmt_tracer *t = fake_tracer(&clock, &rss, -1, &cap);
    pmt_sink *sink = NULL;
    pmt_binary_options options = {.struct_size = sizeof options, .chunk_bytes = 4096};
    ck_assert_int_eq(pmt_sink_binary_open(&sink, path, "allocations", &options), PMT_OK);
    ck_assert_int_eq(pmt_tracer_add_sink(t, sink), PMT_OK);
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_ALLOCATORS, 62), PMT_OK);
    ck_assert_int_eq(pmt_tracer_start(t), PMT_OK);
    uint64_t state = 99, address = 0x7f0000000000;
    for (int i = 0; i < 3000; i++) {
        uint64_t r = fake_random(&state);
        clock.now += r % 5000;
        if (i % 97 == 0)
            rss.value += 4096;
        int64_t step = (int64_t)(r >> 20 & 0xFFFF) - 0x8000;
        address += (uint64_t)(i % 5 == 0 ? step : step * 16); /* some steps unaligned */
        if (i % 400 == 0)
            address ^= UINT64_C(0x555500000000); /* far */
        pmt_allocator allocator = (pmt_allocator)(1 + r % 5);
        allocation(t, PMT_EV_ALLOC, allocator, address, r >> 33, 0);
        if (i % 3 == 0)
            allocation(t, PMT_EV_REALLOC, allocator, address + 4096, (r >> 40) + 1, address);
        if (i % 3 == 1)
            allocation(t, PMT_EV_FREE, allocator, address, 0, 0);
    }
    ck_assert_int_eq(pmt_tracer_stop(t), PMT_OK);
    pmt_tracer_destroy(t);
    pmt_reader *reader = NULL;
    ck_assert_int_eq(pmt_reader_open(&reader, path), PMT_OK);
    const pmt_event *ev;
    size_t i = 0;
    int rc;
    while ((rc = pmt_reader_next(reader, &ev)) == 1) {
        ck_assert_uint_lt(i, cap.count);
        const pmt_event *w = &cap.events[i++].ev;
        ck_assert_int_eq(ev->kind, w->kind);
        ck_assert_int_eq(ev->reason, w->reason);
        ck_assert_uint_eq(ev->seq, w->seq);
        ck_assert_uint_eq(ev->time_ns, w->time_ns);
        ck_assert_uint_eq(ev->rss, w->rss);
        ck_assert_int_eq(ev->depth, w->depth);
        ck_assert_int_eq(ev->allocator, w->allocator);
        ck_assert_uint_eq(ev->address, w->address);
        ck_assert_uint_eq(ev->size, w->size);
        ck_assert_uint_eq(ev->old_address, w->old_address);
        ck_assert_uint_eq(ev->old_size, w->old_size);
    }
    ck_assert_msg(i == cap.count, "read %zu of %zu: %d %s", i, cap.count, rc,
                  pmt_last_error_message());
    uint64_t offset = 0;
    const char *reason = NULL;
    ck_assert_int_eq(pmt_reader_status(reader, &offset, &reason), PMT_OK);
    pmt_reader_close(reader);
    capture_free(&cap);
    free(path);
    temp_dir_remove(dir);
}
END_TEST

START_TEST(a_text_log_row_carries_the_block)
{
    char *dir = temp_dir_create();
    char *path;
    ck_assert_int_gt(asprintf(&path, "%s/alloc.log", dir), 0);
    fake_clock clock = {.now = 1000};
    fake_rss rss = {.value = 1 << 20};
    pmt_tracer *t = fake_tracer(&clock, &rss, -1, NULL);
    pmt_sink *sink = NULL;
    ck_assert_int_eq(pmt_sink_text_open(&sink, path, NULL), PMT_OK);
    ck_assert_int_eq(pmt_tracer_add_sink(t, sink), PMT_OK);
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_ALLOCATORS, PMT_ALLOCATORS_PYTHON), PMT_OK);
    ck_assert_int_eq(pmt_tracer_start(t), PMT_OK);
    allocation(t, PMT_EV_ALLOC, PMT_ALLOCATOR_OBJ, 0x55d0c0a0, 177, 0);
    allocation(t, PMT_EV_REALLOC, PMT_ALLOCATOR_OBJ, 0x55d0c100, 300, 0x55d0c0a0);
    ck_assert_int_eq(pmt_tracer_stop(t), PMT_OK);
    pmt_tracer_destroy(t);
    char *text = read_whole_file(path, NULL);
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(strstr(text, "ALOC: "));
    ck_assert_ptr_nonnull(strstr(text, " @ OBJ 177 0x55d0c0a0\n"));
    ck_assert_ptr_nonnull(strstr(text, " @ OBJ 300 0x55d0c100 from 0x55d0c0a0 177\n"));
    free(text);
    free(path);
    temp_dir_remove(dir);
}
END_TEST

START_TEST(allocation_parameters_have_bounds)
{
    pmt_tracer *t = NULL;
    ck_assert_int_eq(pmt__tracer_create_with_source(&t, &fake_source_ops, &g_source), PMT_OK);
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_ALLOCATORS, 63), PMT_EINVAL);
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_ALLOCATORS, -1), PMT_EINVAL);
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_ALLOC_MIN_SIZE, -1), PMT_EINVAL);
    ck_assert_int_eq(pmt_tracer_set_param(t, PMT_PARAM_ALLOC_SAMPLE_BYTES, (INT64_C(1) << 40) + 1),
                     PMT_EINVAL);
    ck_assert_str_eq(pmt_allocator_name(PMT_ALLOCATOR_OBJ), "OBJ");
    ck_assert_str_eq(pmt_allocator_name(99), "UNKNOWN");
    ck_assert_str_eq(pmt_event_kind_name(PMT_EV_REALLOC), "REALLOC");
    ck_assert_str_eq(pmt_strerror(PMT_EBUSY), "a process-wide resource is in use");
    pmt_tracer_destroy(t);
}
END_TEST

Suite *allocations_suite(void)
{
    Suite *s = suite_create("allocations");
    TCase *tc = tcase_create("allocations");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, the_block_table_matches_a_model);
    tcase_add_test(tc, allocation_stages_write_what_they_keep);
    tcase_add_test(tc, byte_sampling_keeps_about_size_over_rate);
    tcase_add_test(tc, the_tracers_own_allocations_are_not_recorded);
    tcase_add_test(tc, allocation_records_round_trip_through_the_binary_log);
    tcase_add_test(tc, a_text_log_row_carries_the_block);
    tcase_add_test(tc, allocation_parameters_have_bounds);
    suite_add_tcase(s, tc);
    return s;
}
