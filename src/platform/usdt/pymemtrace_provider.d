/*
 * The pymemtrace USDT provider as DTrace describes it: the probes of src/platform/usdt/
 * probes_sdt.c with their argument types, in doc/probes.md's order. The Linux build writes the
 * probes with sys/sdt.h directly; a DTrace port (macOS, FreeBSD, illumos) builds its probes from
 * this file with `dtrace -h` and `dtrace -G`. tests/probes/check_provider.py keeps the two in
 * step (names and argument counts against the built library's notes).
 */
provider pymemtrace {
	probe event(uint32_t kind, char *file, int32_t line, char *function, uint64_t rss,
	            int64_t d_rss);
	probe rss_change(uint32_t kind, char *file, int32_t line, char *function, uint64_t rss,
	                 int64_t d_rss);
	probe alloc(uint32_t allocator, uint64_t address, uint64_t size, char *file, int32_t line,
	            char *function);
	probe free(uint32_t allocator, uint64_t address, uint64_t size, char *file, int32_t line,
	           char *function);
	probe realloc(uint32_t allocator, uint64_t address, uint64_t size, uint64_t old_address,
	              uint64_t old_size);
	probe gc_start(int32_t generation, uint64_t rss);
	probe gc_done(int32_t generation, uint64_t collected, uint64_t uncollectable,
	              uint64_t duration_ns, uint64_t rss);
	probe mark(char *text, uint64_t rss, char *file, int32_t line, char *function);
	probe tracer_start(uint64_t tracer, int64_t pid, uint64_t rss, uint64_t event_mask,
	                   uint64_t allocators);
	probe tracer_stop(uint64_t tracer, uint64_t events_seen, uint64_t events_written,
	                  uint64_t rss);
	probe object_new(uint64_t address, char *type_name, int64_t live, char *file, int32_t line,
	                 char *function);
	probe object_free(uint64_t address, char *type_name, int64_t live, char *file,
	                  int32_t line, char *function);
};
