"""python -m pymemtrace: trace a script, or summarise a log.

    python -m pymemtrace run [--trace] [-d BYTES] [-o LOG] script.py [args...]
    python -m pymemtrace top LOG [-n N]
"""
import argparse
import os
import runpy
import sys
from collections import defaultdict

from . import Profile, Trace
from .textlog import read_rows


def _growth_by_place(path):
    """Total positive dRSS and number of triggering rows per (file, line, function)."""
    grown = defaultdict(lambda: [0, 0])
    peak = 0
    for row in read_rows(path):
        peak = max(peak, row.rss)
        if row.tag == "NEXT" and row.d_rss > 0:
            place = grown[(row.file, row.line, row.function)]
            place[0] += row.d_rss
            place[1] += 1
    return grown, peak


def _mib(n):
    return f"{n / (1 << 20):10.2f}"


def print_top(path, count, out=sys.stdout):
    grown, peak = _growth_by_place(path)
    rows = sorted(grown.items(), key=lambda kv: kv[1][0], reverse=True)[:count]
    print(f"Where RSS grew ({path}; peak RSS {_mib(peak).strip()} MiB):", file=out)
    print(f"{'MiB':>10} {'rows':>6}  place", file=out)
    for (file, line, function), (total, times) in rows:
        print(f"{_mib(total)} {times:6d}  {file}:{line} {function}", file=out)
    if not rows:
        print("   (no row with a positive dRSS)", file=out)


def _run(args):
    wrapper = Trace if args.trace else Profile
    script = os.path.abspath(args.script)
    if not os.path.isfile(script):
        print(f"pymemtrace: no such script: {args.script}", file=sys.stderr)
        return 2
    sys.argv = [script] + args.args
    sys.path.insert(0, os.path.dirname(script))
    status = 0
    try:
        tracer = wrapper(args.d_rss_trigger, args.message, args.output)
        with tracer:
            runpy.run_path(script, run_name="__main__")
    except SystemExit as exit_:
        status = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except OSError as error:
        print(f"pymemtrace: cannot write the log: {error}", file=sys.stderr)
        return 2
    sys.stdout.flush()  # the script's output first, then the summary
    print(f"pymemtrace: {tracer.events_seen} events, {tracer.events_written} written to "
          f"{tracer.log_path}", file=sys.stderr)
    if args.top:
        print_top(tracer.log_path, args.top, out=sys.stderr)
    return status


def _top(args):
    try:
        print_top(args.log, args.n)
    except OSError as error:
        print(f"pymemtrace: {error}", file=sys.stderr)
        return 2
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m pymemtrace",
                                     description="Find where a Python process grows in memory.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a script under Profile (or Trace)")
    run.add_argument("--trace", action="store_true", help="record lines instead of C calls")
    run.add_argument("-d", "--d-rss-trigger", type=int, default=-1,
                     help="-1: one page (default), 0: every event, N: |dRSS| >= N bytes")
    run.add_argument("-o", "--output", help="log path (default YYMMDD_HHMMSS_PID.log)")
    run.add_argument("-m", "--message", help="first line of the log")
    run.add_argument("--top", type=int, default=10, metavar="N",
                     help="print the N places where RSS grew most (0: none)")
    run.add_argument("script")
    run.add_argument("args", nargs=argparse.REMAINDER)
    run.set_defaults(handler=_run)
    top = commands.add_parser("top", help="the places where RSS grew most in a text log")
    top.add_argument("log")
    top.add_argument("-n", type=int, default=10, help="how many places (default 10)")
    top.set_defaults(handler=_top)
    args = parser.parse_args(argv)
    if getattr(args, "d_rss_trigger", -1) < -1:
        parser.error("--d-rss-trigger must be -1, 0 or a number of bytes")
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
