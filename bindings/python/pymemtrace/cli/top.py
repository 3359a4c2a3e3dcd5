"""top: the places where RSS grew most: in the user's terms (total, own, calls per function, the
growth of library code charged to the user's function that called it) when the log holds the
tracer's call aggregation (binary logs), else the rows where RSS grew."""
import json
import sys
from collections import defaultdict

from .. import allocations, callstats
from .common import count, finish, mib, open_or_fail, shown


def has_allocations(log):
    """Did the tracer record allocations (its stages name the allocators)?"""
    return "allocators=" in (log.header.get("filters") or "")


def add_allocation_totals(path, rows, user):
    """Each row (file, function) gets what was allocated there: alloc_bytes, allocations, and per
    allocator [count, bytes] (allocation events charged to the same place: the user site)."""
    with open_or_fail(path) as log:
        totals = allocations.totals_by_function(log, user=user)
    for r in rows:
        per = totals.get((r["file"], r.get("qualname") or r["function"]), {})
        r["allocations"] = sum(n for n, _ in per.values())
        r["alloc_bytes"] = sum(b for _, b in per.values())
        r["by_allocator"] = {a: list(v) for a, v in sorted(per.items())}


def growth_by_place(log, user=False):
    """Total positive dRSS and number of triggering rows per (file, line, function): the row's
    own place. With user=True, in the user's terms: the net dRSS (growth less what was given
    back, as the call aggregation's own) charged to the user site (the nearest frame of the
    user's code, which binary logs store with every row) of the code that ran when RSS moved:
    that of the event just before the row (the PREV row the trigger writes, or a row written
    just before), whose frame ran until this row's event, else the row's own."""
    grown = defaultdict(lambda: [0, 0])
    peak = 0
    before = None  # the row before, if it is the event just before
    for event in log:
        if event.kind == "MARK":  # a message: no RSS in a text log, no place of its own
            before = None
            continue
        peak = max(peak, event.rss)
        if event.reason == "NEXT" and (event.d_rss > 0 or (user and event.d_rss)):
            ran = before if before is not None and before.seq + 1 == event.seq else event
            if user and ran.user_file:  # None in a text log: no sites there
                key = (ran.user_file, ran.user_line, ran.user_function)
            elif user and event.user_file:
                key = (event.user_file, event.user_line, event.user_function)
            else:
                key = (event.file, event.line, event.function)
            place = grown[key]
            place[0] += event.d_rss
            place[1] += 1
        before = event
    return grown, peak


def print_top(log, count, out=None, user=False):
    out = out or sys.stdout
    grown, peak = growth_by_place(log, user)
    rows = sorted(((k, v) for k, v in grown.items() if v[0] > 0), key=lambda kv: kv[1][0],
                  reverse=True)[:count]
    whose = ", each charged to its user site" if user else ""
    print(f"Where RSS grew ({log.path}; peak RSS {mib(peak).strip()} MiB; rows{whose}):",
          file=out)
    print(f"{'MiB':>10} {'rows':>6}  place", file=out)
    for (file, line, function), (total, times) in rows:
        print(f"{mib(total)} {times:6d}  {shown(file)}:{line} {shown(function)}", file=out)
    if not rows:
        print("   (no row with a positive dRSS)", file=out)


def print_user_table(rows, out=None, title="Where RSS grew, by the user's functions (library "
                     "code charged to its caller):"):
    """Rows of callstats.table() as total MiB, own MiB, calls and place (and what was allocated
    there, when the rows say)."""
    out = out or sys.stdout
    print(title, file=out)
    alloc = any("alloc_bytes" in r for r in rows)
    extra = f" {'alloc MiB':>10} {'allocs':>8}" if alloc else ""
    print(f"{'total MiB':>10} {'own MiB':>10} {'calls':>8}{extra}  place", file=out)
    for r in rows:
        place = (f"{shown(r['file'])}:{r['line']} {shown(r['function'])}" if r["function"]
                 else shown(r["file"]))
        extra = f" {mib(r['alloc_bytes'])} {r['allocations']:8d}" if alloc else ""
        print(f"{mib(r['total'])} {mib(r['own'])} {r['calls']:8d}{extra}  {place}", file=out)
    if not rows:
        print("   (no call returned while traced)", file=out)


def _from_rows(log, args):
    """Is the table made from the log's rows rather than its call aggregation? A text log has
    none; --by line asks the rows, whose user sites name the line of the user's code that was
    running (the aggregation knows a function's first line only)."""
    return args.by == "line" or not log.call_stats()


def _rows_of(log, args):
    """The log's rows: in the user's terms from its call aggregation, else from its rows (each
    growth charged to the row's user site unless --all), each place's growth counted as its
    own."""
    if not _from_rows(log, args):
        return callstats.table(log.call_stats(), by=args.by, user=not args.all)
    grown, _ = growth_by_place(log, user=not args.all)
    rows = [{"file": f, "line": line, "function": fn, "qualname": fn, "total": t, "own": t,
             "calls": n} for (f, line, fn), (t, n) in grown.items() if t > 0]
    return sorted(rows, key=lambda r: r["own"], reverse=True)


def top(args):
    if len(args.logs) > 1:
        return top_of_several(args)
    args.log = args.logs[0]
    with open_or_fail(args.log) as log:
        if args.json:
            rows = _rows_of(log, args)[:args.n]
            if has_allocations(log):
                add_allocation_totals(args.log, rows, user=not args.all)
            json.dump(rows, sys.stdout, indent=1)
            print()
        elif _from_rows(log, args):
            print_top(log, args.n, user=not args.all)
        else:
            rows = _rows_of(log, args)[:args.n]
            if has_allocations(log):
                add_allocation_totals(args.log, rows, user=not args.all)
            print_user_table(rows, title=f"Where RSS grew ({log.path}), by "
                             + ("function" if args.all else "the user's functions (library "
                                "code charged to its caller)") + ":")
        return finish(log)


def top_of_several(args):
    """The logs of a process tree (run.log run.pid*.log) in one table, a column for the process:
    every log's rows, ranked together."""
    rows, status = [], 0
    for path in args.logs:
        with open_or_fail(path) as log:
            pid = log.header.get("process_id", 0)
            rows.extend(dict(r, pid=pid, log=log.path) for r in _rows_of(log, args))
            status = max(status, finish(log))
    rows.sort(key=lambda r: (r["own"], r["total"]), reverse=True)
    rows = rows[:args.n]
    if args.json:
        json.dump(rows, sys.stdout, indent=1)
        print()
        return status
    print(f"Where RSS grew in {len(args.logs)} logs, by the user's functions:")
    print(f"{'pid':>8} {'total MiB':>10} {'own MiB':>10} {'calls':>8}  place")
    for r in rows:
        print(f"{r['pid']:>8} {mib(r['total'])} {mib(r['own'])} {r['calls']:8d}  "
              f"{shown(r['file'])}:{r['line']} {shown(r['function'])}")
    return status


def register(commands):
    summary = ("the places where RSS grew most: with a binary log, the functions whose calls grew "
               "it, in the user's terms; several logs (a process tree's) in one table")
    command = commands.add_parser("top", help=summary, description=summary,
                                  epilog="example: python -m pymemtrace top run.pmt -n 20 --by line")
    command.add_argument("logs", nargs="+", metavar="LOG", help="binary or text logs")
    command.add_argument("-n", type=count, default=10, metavar="N",
                         help="how many places (default 10)")
    command.set_defaults(handler=top)
    command.add_argument("--by", choices=("function", "line", "file"), default="function",
                         help="one row per function (default) or per file, from the call "
                              "aggregation; line: per line of the user's code, from the log's "
                              "rows and their user sites")
    command.add_argument("--all", action="store_true",
                         help="every function's own growth as is, library code included, "
                              "instead of charging it to the user's caller")
    command.add_argument("--json", action="store_true",
                         help="the rows as a JSON list (file, line, function, qualname, total, "
                              "own, calls, largest, peak_rss; pid with several logs)")
