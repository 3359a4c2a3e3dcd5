#!/usr/sbin/dtrace -Cs
/*
 * pymemtrace_gc.d - the DTrace form of toolkit/pymemtrace_gc.bt: collections per generation,
 * their durations (quantize, microseconds), objects collected and the RSS given back.
 *
 *     sudo dtrace -Cs toolkit/dtrace/pymemtrace_gc.d -p PID
 *
 * NOT RUN HERE: needs a DTrace-probed libpymemtrace (see pymemtrace_flow.d).
 */
#pragma D option quiet

pymemtrace$target:::gc_start
{
	self->rss_before = arg1;
}

pymemtrace$target:::gc_done
{
	@collections[arg0] = count();
	@duration_us[arg0] = quantize(arg3 / 1000);
	@total_us[arg0] = sum(arg3 / 1000);
	@collected[arg0] = sum(arg1);
	@uncollectable[arg0] = sum(arg2);
}

pymemtrace$target:::gc_done
/self->rss_before/
{
	@rss_returned[arg0] = sum((int64_t)self->rss_before - (int64_t)arg4);
	self->rss_before = 0;
}

pymemtrace$target:::tracer_stop
{
	exit(0);
}

dtrace:::END
{
	printf("\nCollections by generation:\n");
	printa("   gen %d: %@d\n", @collections);
	printf("\nDuration by generation (microseconds):\n");
	printa("   gen %d%@d\n", @duration_us);
	printf("\nTotal time by generation (microseconds):\n");
	printa("   gen %d: %@d\n", @total_us);
	printf("\nObjects collected by generation:\n");
	printa("   gen %d: %@d\n", @collected);
	printf("\nUncollectable objects by generation:\n");
	printa("   gen %d: %@d\n", @uncollectable);
	printf("\nRSS returned by generation (bytes):\n");
	printa("   gen %d: %@d\n", @rss_returned);
}
