#!/usr/sbin/dtrace -Cs
/*
 * pymemtrace_quantize.d - the DTrace form of toolkit/pymemtrace_quantize.bt: quantize()
 * histograms of allocation sizes per Python function and per allocator, counts and totals.
 *
 *     sudo dtrace -Cs toolkit/dtrace/pymemtrace_quantize.d -p PID
 *
 * NOT RUN HERE: needs a DTrace-probed libpymemtrace (see pymemtrace_flow.d).
 */
#pragma D option quiet

string allocator[int];

dtrace:::BEGIN
{
	allocator[1] = "RAW"; allocator[2] = "MEM"; allocator[3] = "OBJ";
	allocator[4] = "NATIVE"; allocator[5] = "MMAP";
}

pymemtrace$target:::alloc
{
	@size_by_function[copyinstr(arg3), copyinstr(arg5)] = quantize(arg2);
	@size_by_allocator[allocator[arg0]] = quantize(arg2);
	@count_by_function[copyinstr(arg3), copyinstr(arg5)] = count();
	@bytes_by_function[copyinstr(arg3), copyinstr(arg5)] = sum(arg2);
}

pymemtrace$target:::tracer_stop
{
	exit(0);
}

dtrace:::END
{
	printf("\nAllocation sizes by Python file and function:\n");
	printa("   %s, %s%@d\n", @size_by_function);
	printf("\nAllocation sizes by allocator:\n");
	printa("   %s%@d\n", @size_by_allocator);
	printf("\nAllocations by Python file and function:\n");
	printa("   %s, %s: %@d\n", @count_by_function);
	printf("\nBytes allocated by Python file and function:\n");
	printa("   %s, %s: %@d\n", @bytes_by_function);
}
