#!/usr/sbin/dtrace -Cs
/*
 * pymemtrace_objects.d - the DTrace form of toolkit/pymemtrace_objects.bt: objects made and
 * freed per type while it listened, the net count, and where each type's objects were made.
 *
 *     sudo dtrace -Cs toolkit/dtrace/pymemtrace_objects.d -p PID
 *
 * NOT RUN HERE: needs a DTrace-probed libpymemtrace (see pymemtrace_flow.d).
 */
#pragma D option quiet

pymemtrace$target:::object_new
{
	@made[copyinstr(arg1)] = count();
	@net[copyinstr(arg1)] = sum(1);
	@made_at[copyinstr(arg1), copyinstr(arg3), arg4, copyinstr(arg5)] = count();
}

pymemtrace$target:::object_free
{
	@freed[copyinstr(arg1)] = count();
	@net[copyinstr(arg1)] = sum(-1);
}

pymemtrace$target:::tracer_stop
{
	exit(0);
}

dtrace:::END
{
	printf("\nObjects made by type:\n");
	printa("   %-40s %@d\n", @made);
	printf("\nObjects freed by type:\n");
	printa("   %-40s %@d\n", @freed);
	printf("\nNet objects by type (made - freed while listening):\n");
	printa("   %-40s %@d\n", @net);
	printf("\nWhere objects were made (type, file, line, function):\n");
	trunc(@made_at, 20);
	printa("   %s %s:%d %s %@d\n", @made_at);
}
