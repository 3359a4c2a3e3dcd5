#!/usr/sbin/dtrace -Cs
/*
 * pymemtrace_flow.d - the DTrace form of toolkit/pymemtrace_flow.bt: every allocation and free
 * of a traced Python process with the Python file:line and function that made it, then size
 * distributions by allocator and by Python file and function (DTrace's py_flow_malloc_free.d
 * layout).
 *
 *     sudo dtrace -Cs toolkit/dtrace/pymemtrace_flow.d -p PID
 *
 * NOT RUN HERE: it needs a libpymemtrace built with DTrace probes on macOS, FreeBSD or illumos
 * (dtrace -G over src/platform/usdt/pymemtrace_provider.d); the Linux build's probes are read by
 * bpftrace (toolkit/*.bt). Probe arguments: doc/probes.md.
 */
#pragma D option quiet

string allocator[int];

dtrace:::BEGIN
{
	allocator[1] = "RAW"; allocator[2] = "MEM"; allocator[3] = "OBJ";
	allocator[4] = "NATIVE"; allocator[5] = "MMAP";
	printf("%-7s %s\n", "PID", "FILE:LINE -> FUNCTION ALLOCATOR CALL");
}

pymemtrace$target:::alloc
{
	printf("%-7d %s:%d -> %s %s malloc(%d) pntr 0x%x\n", pid, copyinstr(arg3), (int)arg4,
	       copyinstr(arg5), allocator[arg0], arg2, arg1);
	@by_allocator[allocator[arg0]] = quantize(arg2);
	@by_function[copyinstr(arg3), copyinstr(arg5)] = quantize(arg2);
	@bytes_by_function[copyinstr(arg3), copyinstr(arg5)] = sum(arg2);
}

pymemtrace$target:::free
{
	printf("%-7d %s:%d -> %s %s free(0x%x)\n", pid, copyinstr(arg3), (int)arg4,
	       copyinstr(arg5), allocator[arg0], arg1);
}

pymemtrace$target:::tracer_stop
{
	exit(0);
}

dtrace:::END
{
	printf("\nPython allocation byte distributions by allocator:\n");
	printa("   %s%@d\n", @by_allocator);
	printf("\nPython allocation byte distributions by Python file and function:\n");
	printa("   %s, %s%@d\n", @by_function);
	printf("\nBytes allocated by Python file and function:\n");
	printa("   %s, %s: %@d\n", @bytes_by_function);
}
