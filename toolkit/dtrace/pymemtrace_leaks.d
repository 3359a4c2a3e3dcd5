#!/usr/sbin/dtrace -Cs
/*
 * pymemtrace_leaks.d - the DTrace form of toolkit/pymemtrace_leaks.bt: the blocks allocated
 * while DTrace listened and not freed at the end, by Python file, line and function.
 *
 *     sudo dtrace -Cs toolkit/dtrace/pymemtrace_leaks.d -p PID
 *
 * NOT RUN HERE: needs a DTrace-probed libpymemtrace (see pymemtrace_flow.d).
 */
#pragma D option quiet
#pragma D option dynvarsize=16m

uint64_t size[uint64_t];
uint64_t site_file[uint64_t], site_function[uint64_t];
int site_line[uint64_t];

pymemtrace$target:::alloc
{
	size[arg1] = arg2;
	site_file[arg1] = arg3;
	site_line[arg1] = (int)arg4;
	site_function[arg1] = arg5;
	@leak_bytes[copyinstr(arg3), (int)arg4, copyinstr(arg5)] = sum((int64_t)arg2);
	@leak_blocks[copyinstr(arg3), (int)arg4, copyinstr(arg5)] = sum(1);
}

pymemtrace$target:::free
/size[arg1]/
{
	@leak_bytes[copyinstr(site_file[arg1]), site_line[arg1], copyinstr(site_function[arg1])] =
	    sum(-(int64_t)size[arg1]);
	@leak_blocks[copyinstr(site_file[arg1]), site_line[arg1], copyinstr(site_function[arg1])] =
	    sum(-1);
	size[arg1] = 0;
	site_file[arg1] = 0;
	site_line[arg1] = 0;
	site_function[arg1] = 0;
}

pymemtrace$target:::tracer_stop
{
	exit(0);
}

dtrace:::END
{
	trunc(@leak_bytes, 20);
	trunc(@leak_blocks, 20);
	printf("\nLeak candidates: bytes outstanding by Python file, line and function (top 20):\n");
	printa("   %s:%d %s: %@d\n", @leak_bytes);
	printf("\nLeak candidates: blocks outstanding by Python file, line and function (top 20):\n");
	printa("   %s:%d %s: %@d\n", @leak_blocks);
}
