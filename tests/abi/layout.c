/* Pins what doc/abi-policy.md promises never changes, at compile time, in C and in C++ (this file
 * is compiled as both): enum values, and on LP64 targets the layout of the public structs
 * (fields are only appended). The macros of the headers are expanded here too. A failure here is
 * an ABI break, or a deliberate one that needs a new SONAME. */
#include <stddef.h>
#include <stdint.h>

#include <pymemtrace/pymemtrace.h>

#ifdef __cplusplus
#define PIN(cond) static_assert(cond, #cond)
#else
#define PIN(cond) _Static_assert(cond, #cond)
#endif

/* pmt_status */
PIN(PMT_OK == 0);
PIN(PMT_EINVAL == -1);
PIN(PMT_ENOMEM == -2);
PIN(PMT_EIO == -3);
PIN(PMT_ENOTSUP == -4);
PIN(PMT_ESTATE == -5);
PIN(PMT_EVERSION == -6);
PIN(PMT_ECALLBACK == -7);
PIN(PMT_EPYTHON == -8);
PIN(PMT_ENOTHREAD == -9);
PIN(PMT_EFORMAT == -10);
PIN(PMT_ETRUNCATED == -11);
PIN(PMT_EBUSY == -12);

/* pmt_compression: the codec numbers are also written into binary logs (doc/format.md). */
PIN(PMT_COMPRESS_NONE == 0);
PIN(PMT_COMPRESS_ZSTD == 1);
PIN(PMT_COMPRESS_LZ4 == 2);

/* pmt_event_kind: only appended; PMT_EV_KIND_COUNT may grow. */
PIN(PMT_EV_CALL == 0);
PIN(PMT_EV_RETURN == 1);
PIN(PMT_EV_C_CALL == 2);
PIN(PMT_EV_C_RETURN == 3);
PIN(PMT_EV_C_EXCEPTION == 4);
PIN(PMT_EV_EXCEPTION == 5);
PIN(PMT_EV_LINE == 6);
PIN(PMT_EV_MARK == 7);
PIN(PMT_EV_START == 8);
PIN(PMT_EV_STOP == 9);
PIN(PMT_EV_ALLOC == 10);
PIN(PMT_EV_REALLOC == 11);
PIN(PMT_EV_FREE == 12);
PIN(PMT_EV_GC_START == 13);
PIN(PMT_EV_GC_DONE == 14);
PIN(PMT_EV_OBJECT_NEW == 15);
PIN(PMT_EV_OBJECT_DELETE == 16);
PIN(PMT_EV_OBJECT_COUNT == 17);
PIN(PMT_EV_SAMPLE == 18);
PIN(PMT_EV_KIND_COUNT >= 19);
/* pmt_allocator: only appended. */
PIN(PMT_ALLOCATOR_NONE == 0);
PIN(PMT_ALLOCATOR_RAW == 1);
PIN(PMT_ALLOCATOR_MEM == 2);
PIN(PMT_ALLOCATOR_OBJ == 3);
PIN(PMT_ALLOCATOR_NATIVE == 4);
PIN(PMT_ALLOCATOR_MMAP == 5);

/* pmt_event_reason */
PIN(PMT_REASON_FIRST == 0);
PIN(PMT_REASON_TRIGGER == 1);
PIN(PMT_REASON_BEFORE == 2);
PIN(PMT_REASON_MESSAGE == 3);
PIN(PMT_REASON_LAST == 4);
PIN(PMT_REASON_ALLOCATION == 5);
PIN(PMT_REASON_GC == 6);
PIN(PMT_REASON_OBJECT == 7);
PIN(PMT_REASON_SAMPLE == 8);

/* pmt_param, pmt_stat, pmt_tracer_state */
PIN(PMT_PARAM_D_RSS_TRIGGER == 1);
PIN(PMT_PARAM_EVENT_MASK == 2);
PIN(PMT_PARAM_RSS_MODE == 3);
PIN(PMT_PARAM_RSS_INTERVAL_NS == 4);
PIN(PMT_PARAM_MAX_DEPTH == 5);
PIN(PMT_PARAM_SAMPLE_EVERY == 6);
PIN(PMT_PARAM_TIME_FROM_NS == 7);
PIN(PMT_PARAM_TIME_UNTIL_NS == 8);
PIN(PMT_PARAM_RSS_ABOVE == 9);
PIN(PMT_FILTER_INCLUDE_FILE == 1);
PIN(PMT_FILTER_EXCLUDE_FILE == 2);
PIN(PMT_FILTER_INCLUDE_FUNCTION == 3);
PIN(PMT_FILTER_EXCLUDE_FUNCTION == 4);
PIN(PMT_FILTER_USER_FILE == 5);
PIN(PMT_FILTER_NOT_USER_FILE == 6);
PIN(PMT_FILTER_INCLUDE_TYPE == 7);
PIN(PMT_FILTER_EXCLUDE_TYPE == 8);
PIN(PMT_PARAM_THREADS == 10);
PIN(PMT_THREADS_ALL == 0);
PIN(PMT_THREADS_CALLING == 1);
PIN(PMT_PARAM_ON_FORK == 11);
PIN(PMT_FORK_STOP == 0);
PIN(PMT_FORK_FOLLOW == 1);
PIN(PMT_PARAM_ALLOCATORS == 13);
PIN(PMT_PARAM_ALLOC_MIN_SIZE == 14);
PIN(PMT_PARAM_ALLOC_SAMPLE_BYTES == 15);
PIN(PMT_PARAM_OBJECTS == 16);
PIN(PMT_STAT_ALLOCATIONS_SEEN == 6);
PIN(PMT_STAT_ALLOCATIONS_UNTRACED == 7);
PIN(PMT_STAT_BLOCKS_LIVE == 8);
PIN(PMT_STAT_BLOCK_BYTES_LIVE == 9);
PIN(PMT_STAT_FREES_OF_NULL == 10);
PIN(PMT_STAT_OBJECTS_CREATED == 11);
PIN(PMT_STAT_OBJECTS_DESTROYED == 12);
PIN(PMT_STAT_SAMPLES_WRITTEN == 13);
PIN(PMT_STAT_SAMPLES_LOST == 14);
PIN(PMT_STAT_EVENTS_SEEN == 1);
PIN(PMT_STAT_EVENTS_WRITTEN == 2);
PIN(PMT_STAT_SINKS_FAILED == 3);
PIN(PMT_STAT_RSS_ERRORS == 4);
PIN(PMT_STATE_CREATED == 0);
PIN(PMT_STATE_RUNNING == 1);
PIN(PMT_STATE_PAUSED == 2);
PIN(PMT_STATE_STOPPED == 3);

/* The masks and the version macros. */
PIN(PMT_EV_BIT(PMT_EV_LINE) == 64);
PIN(PMT_EV_MASK_PROFILE == 0x1F);
PIN(PMT_EV_MASK_TRACE == 0x63);
PIN(PMT_VERSION_NUMBER == PMT_VERSION_MAJOR * 10000 + PMT_VERSION_MINOR * 100 + PMT_VERSION_PATCH);

/* Layouts: the first field is always struct_size; existing offsets never move. */
PIN(offsetof(pmt_event, struct_size) == 0);
PIN(offsetof(pmt_sink_ops, struct_size) == 0);
PIN(offsetof(pmt_rss_provider, struct_size) == 0);
PIN(offsetof(pmt_run_info, struct_size) == 0);
PIN(offsetof(pmt_binary_options, struct_size) == 0);
PIN(offsetof(pmt_log_info, struct_size) == 0);
PIN(sizeof(((pmt_event *)0)->struct_size) == 4);
PIN(sizeof(((pmt_run_info *)0)->struct_size) == 4);
PIN(sizeof(((pmt_log_info *)0)->struct_size) == 4);

/* pmt_binary_options holds 32-bit fields only: the same layout on every target. */
PIN(offsetof(pmt_binary_options, compression) == 4);
PIN(offsetof(pmt_binary_options, level) == 8);
PIN(offsetof(pmt_binary_options, chunk_bytes) == 12);
PIN(offsetof(pmt_binary_options, flush_interval_ms) == 16);
PIN(sizeof(pmt_binary_options) >= 20);
#if defined(__LP64__) || defined(_LP64)
PIN(offsetof(pmt_event, kind) == 4);
PIN(offsetof(pmt_event, reason) == 8);
PIN(offsetof(pmt_event, depth) == 12);
PIN(offsetof(pmt_event, seq) == 16);
PIN(offsetof(pmt_event, time_ns) == 24);
PIN(offsetof(pmt_event, thread_id) == 32);
PIN(offsetof(pmt_event, file) == 40);
PIN(offsetof(pmt_event, function) == 48);
PIN(offsetof(pmt_event, line) == 56);
PIN(offsetof(pmt_event, reserved0) == 60);
PIN(offsetof(pmt_event, rss) == 64);
PIN(offsetof(pmt_event, d_rss) == 72);
PIN(offsetof(pmt_event, message) == 80);
PIN(offsetof(pmt_event, interpreter_id) == 88);
PIN(offsetof(pmt_event, user_file) == 96);
PIN(offsetof(pmt_event, user_function) == 104);
PIN(offsetof(pmt_event, user_line) == 112);
PIN(offsetof(pmt_event, call_node) == 116);
PIN(offsetof(pmt_event, allocator) == 120);
PIN(offsetof(pmt_event, address) == 128);
PIN(offsetof(pmt_event, size) == 136);
PIN(offsetof(pmt_event, old_address) == 144);
PIN(offsetof(pmt_event, old_size) == 152);
PIN(offsetof(pmt_event, gc_generation) == 160);
PIN(offsetof(pmt_event, gc_collected) == 168);
PIN(offsetof(pmt_event, gc_uncollectable) == 176);
PIN(offsetof(pmt_event, gc_duration_ns) == 184);
PIN(offsetof(pmt_event, type_name) == 192);
PIN(offsetof(pmt_event, type_live) == 200);
PIN(offsetof(pmt_event, type_created) == 208);
PIN(offsetof(pmt_event, type_destroyed) == 216);
PIN(offsetof(pmt_event, sample) == 224);
PIN(sizeof(pmt_event) >= 232);
PIN(offsetof(pmt_type_count, name) == 8);
PIN(offsetof(pmt_type_count, created) == 16);
PIN(offsetof(pmt_type_count, destroyed) == 24);
PIN(offsetof(pmt_type_count, live) == 32);
PIN(sizeof(pmt_type_count) == 40);
PIN(offsetof(pmt_sample, seq) == 8);
PIN(offsetof(pmt_sample, rss) == 32);
PIN(offsetof(pmt_sample, cgroup_max) == 112);
PIN(offsetof(pmt_sample, label) == 120);
PIN(sizeof(pmt_sample) == 128);

PIN(offsetof(pmt_sink_ops, write) == 8);
PIN(offsetof(pmt_sink_ops, flush) == 16);
PIN(offsetof(pmt_sink_ops, close) == 24);
PIN(offsetof(pmt_sink_ops, begin) == 32);
PIN(sizeof(pmt_sink_ops) >= 40);

PIN(offsetof(pmt_run_info, reserved0) == 4);
PIN(offsetof(pmt_run_info, event_mask) == 8);
PIN(offsetof(pmt_run_info, d_rss_trigger) == 16);
PIN(offsetof(pmt_run_info, start_time_ns) == 24);
PIN(offsetof(pmt_run_info, start_realtime_ns) == 32);
PIN(offsetof(pmt_run_info, process_id) == 40);
PIN(offsetof(pmt_run_info, library_version) == 48);
PIN(offsetof(pmt_run_info, rss_provider) == 56);
PIN(offsetof(pmt_run_info, runtime) == 64);
PIN(offsetof(pmt_run_info, rss_accuracy) == 72);
PIN(offsetof(pmt_run_info, filters) == 80);
PIN(offsetof(pmt_run_info, interpreter_id) == 88);
PIN(sizeof(pmt_run_info) >= 96);

PIN(offsetof(pmt_log_info, format_major) == 4);
PIN(offsetof(pmt_log_info, format_minor) == 6);
PIN(offsetof(pmt_log_info, process_id) == 8);
PIN(offsetof(pmt_log_info, library_version) == 16);
PIN(offsetof(pmt_log_info, runtime) == 24);
PIN(offsetof(pmt_log_info, rss_provider) == 32);
PIN(offsetof(pmt_log_info, message) == 40);
PIN(offsetof(pmt_log_info, clock_origin_ns) == 48);
PIN(offsetof(pmt_log_info, clock_units) == 56);
PIN(offsetof(pmt_log_info, start_realtime_ns) == 64);
PIN(offsetof(pmt_log_info, d_rss_trigger) == 72);
PIN(offsetof(pmt_log_info, event_mask) == 80);
PIN(offsetof(pmt_log_info, compression) == 88);
PIN(offsetof(pmt_log_info, has_summary) == 92);
PIN(offsetof(pmt_log_info, events_seen) == 96);
PIN(offsetof(pmt_log_info, events_written) == 104);
PIN(offsetof(pmt_log_info, peak_rss) == 112);
PIN(offsetof(pmt_log_info, last_time_ns) == 120);
PIN(offsetof(pmt_log_info, rss_accuracy) == 128);
PIN(offsetof(pmt_log_info, filters) == 136);
PIN(offsetof(pmt_log_info, interpreter_id) == 144);
PIN(sizeof(pmt_log_info) >= 152);

PIN(offsetof(pmt_rss_provider, name) == 8);
PIN(offsetof(pmt_rss_provider, read) == 16);
PIN(offsetof(pmt_rss_provider, may_have_changed) == 24);
PIN(offsetof(pmt_rss_provider, release) == 32);
PIN(offsetof(pmt_rss_provider, accuracy) == 40);
PIN(sizeof(pmt_rss_provider) >= 48);
PIN(offsetof(pmt_sink_ops, finish) == 40);
PIN(sizeof(pmt_sink_ops) >= 48);
/* Appended so that a sink of the caller's can follow a fork as the built-in file sinks do. */
PIN(offsetof(pmt_sink_ops, forget) == 48);
PIN(offsetof(pmt_sink_ops, reopen) == 56);
PIN(offsetof(pmt_sink_ops, path) == 64);
PIN(offsetof(pmt_sink_ops, call_stats) == 72);
PIN(offsetof(pmt_sink_ops, stored) == 80);
PIN(sizeof(pmt_sink_ops) == 88);
/* pmt_sink_counts: 32-bit fields first, then 64-bit counters: one layout everywhere. */
PIN(offsetof(pmt_sink_counts, error) == 4);
PIN(offsetof(pmt_sink_counts, os_error) == 8);
PIN(offsetof(pmt_sink_counts, events_given) == 16);
PIN(offsetof(pmt_sink_counts, events_stored) == 24);
PIN(offsetof(pmt_sink_counts, events_lost) == 32);
PIN(sizeof(pmt_sink_counts) == 40);
#endif

/* The initialisers compile and fill struct_size. */
int pmt_abi_layout_check(void);
int pmt_abi_layout_check(void)
{
    const pmt_sink_ops ops = PMT_SINK_OPS_INIT;
    const pmt_rss_provider provider = PMT_RSS_PROVIDER_INIT;
    const pmt_binary_options options = PMT_BINARY_OPTIONS_INIT;
    return ops.struct_size == sizeof ops && provider.struct_size == sizeof provider &&
                   options.struct_size == sizeof options && options.compression == 0 &&
                   options.chunk_bytes == 0 && ops.begin == 0 && ops.path == 0
               ? 0
               : 1;
}
