#!/usr/sbin/dtrace -Cs
/*
 * pymemtrace_rss_growth.d - the DTrace form of toolkit/pymemtrace_rss_growth.bt: RSS growth
 * charged to the user's own file and function (the rss_change probe's place), top 20.
 *
 *     sudo dtrace -Cs toolkit/dtrace/pymemtrace_rss_growth.d -p PID
 *
 * NOT RUN HERE: needs a DTrace-probed libpymemtrace (see pymemtrace_flow.d).
 */
#pragma D option quiet

pymemtrace$target:::rss_change
{
	@grew[copyinstr(arg1), copyinstr(arg3)] = sum((int64_t)arg5);
	@changes[copyinstr(arg1), copyinstr(arg3)] = count();
	@total = sum((int64_t)arg5);
	@peak = max(arg4);
}

pymemtrace$target:::tracer_stop
{
	exit(0);
}

dtrace:::END
{
	trunc(@grew, 20);
	trunc(@changes, 20);
	printf("\nRSS growth in bytes by the user's file and function (top 20):\n");
	printa("   %s, %s: %@d\n", @grew);
	printf("\nRSS changes counted by the user's file and function (top 20):\n");
	printa("   %s, %s: %@d\n", @changes);
	printa("\nTotal growth: %@d bytes\n", @total);
	printa("Peak RSS seen: %@d bytes\n", @peak);
}
