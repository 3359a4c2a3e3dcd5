"""python -m pymemtrace: trace a script, or read a log (binary or text).

    python -m pymemtrace run [--trace] [--binary [--compression NAME]] [-d BYTES] [-o LOG]
                             [--follow-children] script.py [args...]
    python -m pymemtrace top LOG [-n N]      where RSS grew most
    python -m pymemtrace dump LOG [-o OUT]   the text log of a binary log
    python -m pymemtrace csv LOG [-o OUT]    one CSV row per event
    python -m pymemtrace json LOG [-o OUT]   one JSON object per line per event
    python -m pymemtrace stats LOG [-n N]    counts, peak RSS, duration, top functions
    python -m pymemtrace info LOG            header, summary and whether the log is complete

Exit status: 0 success; 1 the log is truncated or damaged (what was readable is printed, and a
warning on stderr says where it stops); 2 usage errors, files that cannot be read or are not
pymemtrace logs, output that cannot be written; 141 the output was closed early (as a tool killed
by SIGPIPE: `| head`).
"""
import argparse
import contextlib
import csv
import json
import os
import runpy
import shutil
import sys
from collections import Counter, defaultdict
from datetime import datetime, timezone

from . import Profile, Trace, _children, _pymemtrace
from .logs import open_log

COLUMNS = ("seq", "reason", "kind", "time_ns", "thread_id", "depth", "file", "line", "function",
           "rss", "d_rss", "message")
EXIT_BROKEN_PIPE = 128 + 13


class CliError(Exception):
    """A problem of the user's (a missing file, a file that is not a log): a message for stderr
    and exit status 2, never a traceback."""


def _open(path):
    try:
        return open_log(path)
    except OSError as error:
        raise CliError(f"cannot read {path}: {error.strerror or error}") from None
    except ValueError as error:  # not a log: the message names the file
        raise CliError(str(error)) from None


@contextlib.contextmanager
def _output(args, mode="w"):
    """stdout, or the file -o names (created or replaced; never the log being read)."""
    path = args.output
    if path is None:
        yield sys.stdout
        return
    if os.path.exists(path) and os.path.samefile(path, args.log):
        raise CliError(f"{path} is the log itself: choose another output")
    try:
        file = open(path, mode, **({} if "b" in mode else {"encoding": "utf-8", "newline": ""}))
    except OSError as error:
        raise CliError(f"cannot write {path}: {error}") from None
    with file:
        yield file


def _finish(log, status=None):
    """0 if the log was read to its end; else a warning on stderr and 1."""
    state, offset, reason = status or log.status()
    if state == "complete":
        return 0
    sys.stdout.flush()  # what was readable first, then the warning
    print(f"pymemtrace: warning: {log.path} is {state}: reading stopped at byte {offset} "
          f"({reason}); the events before it were used", file=sys.stderr)
    return 1


def _mib(n):
    return f"{n / (1 << 20):10.2f}"


def _place(event):
    return f"{event.file}:{event.function}"


# --- top -------------------------------------------------------------------------------------

def _growth_by_place(log):
    """Total positive dRSS and number of triggering rows per (file, line, function)."""
    grown = defaultdict(lambda: [0, 0])
    peak = 0
    for event in log:
        if event.kind == "MARK":  # a message: no RSS in a text log, no place of its own
            continue
        peak = max(peak, event.rss)
        if event.reason == "NEXT" and event.d_rss > 0:
            place = grown[(event.file, event.line, event.function)]
            place[0] += event.d_rss
            place[1] += 1
    return grown, peak


def print_top(log, count, out=None):
    out = out or sys.stdout
    grown, peak = _growth_by_place(log)
    rows = sorted(grown.items(), key=lambda kv: kv[1][0], reverse=True)[:count]
    print(f"Where RSS grew ({log.path}; peak RSS {_mib(peak).strip()} MiB):", file=out)
    print(f"{'MiB':>10} {'rows':>6}  place", file=out)
    for (file, line, function), (total, times) in rows:
        print(f"{_mib(total)} {times:6d}  {file}:{line} {function}", file=out)
    if not rows:
        print("   (no row with a positive dRSS)", file=out)


def _top(args):
    with _open(args.log) as log:
        print_top(log, args.n)
        return _finish(log)


# --- run -------------------------------------------------------------------------------------

def _run(args):
    wrapper = Trace if args.trace else Profile
    script = os.path.abspath(args.script)
    if not os.path.isfile(script):
        raise CliError(f"no such script: {args.script}")
    log_format = "binary" if args.binary else "text"
    try:
        tracer = wrapper(args.d_rss_trigger, args.message, args.output, log_format=log_format,
                         compression=args.compression,
                         on_fork="follow" if args.follow_children else None)
    except ValueError as error:  # a codec this build lacks
        raise CliError(str(error)) from None
    sys.argv = [script] + args.args
    sys.path.insert(0, os.path.dirname(script))
    status = 0
    try:
        with tracer:
            if args.follow_children:
                _follow_children(args, log_format, tracer.log_path)
            runpy.run_path(script, run_name="__main__")
    except SystemExit as exit_:
        status = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except OSError as error:
        if tracer.log_path is None:  # entering failed: the log could not be created
            raise CliError(f"cannot write the log: {error}") from None
        raise
    sys.stdout.flush()  # the script's output first, then the summary
    print(f"pymemtrace: {tracer.events_seen} events, {tracer.events_written} written to "
          f"{tracer.log_path}", file=sys.stderr)
    if args.follow_children:
        children = _children.child_log_path(tracer.log_path, "<PID>")
        print(f"pymemtrace: child processes write {children}", file=sys.stderr)
    if args.top:
        with open_log(tracer.log_path) as log:
            print_top(log, args.top, out=sys.stderr)
    return status


def _follow_children(args, log_format, log_path):
    """Forked children follow (on_fork="follow"); the environment makes every Python process
    started from here on trace itself from interpreter start with these settings, into a log named
    after this one with its pid."""
    settings = {"kind": "trace" if args.trace else "profile", "d_rss_trigger": args.d_rss_trigger,
                "message": args.message, "filepath": os.path.abspath(log_path),
                "log_format": log_format, "compression": args.compression}
    os.environ.update(_children.environment(settings))


# --- dump, csv, json -------------------------------------------------------------------------

def _dump(args):
    with _open(args.log) as log, _output(args, "wb") as out:
        if log.format == "text":  # already in the text format: copied as it is
            out.flush()
            with open(log.path, "rb") as source:
                shutil.copyfileobj(source, getattr(out, "buffer", out))
            for _ in log:  # only for the status: was the text log complete?
                pass
            return _finish(log)
        out.flush()  # Python's buffered output first: the C sink writes to the descriptor
        _, status = _pymemtrace.dump_text(log.path, out.fileno())
        return _finish(log, status)


def _csv(args):
    with _open(args.log) as log, _output(args) as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for event in log:
            writer.writerow([getattr(event, column) for column in COLUMNS])
        return _finish(log)


def _json(args):
    with _open(args.log) as log, _output(args) as out:
        for event in log:
            out.write(json.dumps({column: getattr(event, column) for column in COLUMNS}) + "\n")
        return _finish(log)


# --- stats, info -----------------------------------------------------------------------------

def _stats(args):
    with _open(args.log) as log:
        kinds = Counter()
        growth = Counter()  # place -> total positive dRSS
        triggers = Counter()  # place -> NEXT events
        count, peak, first_time, last_time, last_seq = 0, 0, None, None, -1
        for event in log:
            count += 1
            kinds[event.kind] += 1
            first_time = event.time_ns if first_time is None else first_time
            last_time, last_seq = event.time_ns, event.seq
            if event.kind == "MARK":
                continue
            peak = max(peak, event.rss)
            # The first event's dRSS is the whole RSS at start, not growth.
            if event.reason != "FRST" and event.d_rss > 0:
                growth[_place(event)] += event.d_rss
            if event.reason == "NEXT":
                triggers[_place(event)] += 1
        header = log.header
        if "events_seen" in header:
            seen, written, source = header["events_seen"], header["events_written"], "summary"
        else:  # no summary (a text log, or a killed writer): numbers count every event seen
            seen, written, source = last_seq + 1, count, "counted"
        print(f"log        {log.path} ({log.format})")
        print(f"events     {written} written of {seen} seen ({source})")
        for kind, n in kinds.most_common():
            print(f"  {kind:<10} {n}")
        print(f"peak RSS   {_mib(peak).strip()} MiB ({peak} bytes)")
        duration = (last_time - first_time) / 1e9 if count else 0.0
        print(f"duration   {duration:.6f} s")
        print(f"top {args.n} functions by growth (sum of positive dRSS):")
        print(f"{'MiB':>10}  function")
        for place, total in growth.most_common(args.n):
            print(f"{_mib(total)}  {place}")
        print(f"top {args.n} functions by triggering (NEXT) events:")
        print(f"{'events':>10}  function")
        for place, n in triggers.most_common(args.n):
            print(f"{n:10d}  {place}")
        return _finish(log)


def _info(args):
    with _open(args.log) as log:
        print(f"path: {log.path}")
        print(f"format: {log.format}")
        for key, value in log.header.items():
            print(f"{key}: {value}")
        started = log.header.get("start_realtime_ns")
        if started:
            when = datetime.fromtimestamp(started / 1e9, timezone.utc)
            print(f"started: {when.isoformat(timespec='microseconds')}")
        count = sum(1 for _ in log)  # to the end: only then does the reader know its status
        state, offset, reason = log.status()
        print(f"events read: {count}")
        print(f"status: {state} (byte {offset}: {reason})")
        return _finish(log)


# --- the parser --------------------------------------------------------------------------------

def _count(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, not {value}")
    return value


def _parser():
    parser = argparse.ArgumentParser(prog="python -m pymemtrace",
                                     description="Find where a Python process grows in memory.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run a script under Profile (or Trace)")
    run.add_argument("--trace", action="store_true", help="record lines instead of C calls")
    run.add_argument("-d", "--d-rss-trigger", type=int, default=-1,
                     help="-1: one page (default), 0: every event, N: |dRSS| >= N bytes")
    run.add_argument("-o", "--output",
                     help="log path (default YYMMDD_HHMMSS_PID.log, or .pmt with --binary)")
    run.add_argument("-m", "--message", help="first line of the log")
    run.add_argument("--binary", action="store_true", help="write the compact binary log")
    run.add_argument("--compression", choices=("zstd", "lz4"),
                     help="compress the binary log's chunks")
    run.add_argument("--follow-children", action="store_true",
                     help="child processes write logs of their own, named after this one with "
                          ".pid<PID>: forked ones follow, and Python processes started from here "
                          "(multiprocessing's spawn and forkserver too) trace themselves")
    run.add_argument("--top", type=_count, default=10, metavar="N",
                     help="print the N places where RSS grew most (0: none)")
    run.add_argument("script")
    run.add_argument("args", nargs=argparse.REMAINDER)
    run.set_defaults(handler=_run)

    def log_command(name, handler, summary, output=False, count=False):
        command = commands.add_parser(name, help=summary, description=summary)
        command.add_argument("log", help="a binary or text log")
        if output:
            command.add_argument("-o", "--output", metavar="OUT", help="write here, not stdout")
        if count:
            command.add_argument("-n", type=_count, default=10, metavar="N",
                                 help="how many places (default 10)")
        command.set_defaults(handler=handler)

    log_command("top", _top, "the places where RSS grew most", count=True)
    log_command("dump", _dump, "a binary log in the text format, byte for byte what the text "
                "log of the same run holds", output=True)
    log_command("csv", _csv, "one CSV row per event, after a header row", output=True)
    log_command("json", _json, "one JSON object per event and line", output=True)
    log_command("stats", _stats, "events by kind, peak RSS, duration and the functions where "
                "RSS grew most", count=True)
    log_command("info", _info, "the log's header and summary, and whether it is complete")
    return parser


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    if getattr(args, "d_rss_trigger", -1) < -1:
        parser.error("--d-rss-trigger must be -1, 0 or a number of bytes")
    if getattr(args, "compression", None) and not args.binary:
        parser.error("--compression needs --binary")
    try:
        status = args.handler(args)
        sys.stdout.flush()  # here, where a closed pipe can still be handled
        return status
    except CliError as error:
        print(f"pymemtrace: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (`| head -1`)
        _drop_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as error:
        if args.handler is _run:  # the traced script's own error: its traceback, as python's
            raise
        _drop_stdout()  # e.g. a full disk
        print(f"pymemtrace: {args.command}: {error}", file=sys.stderr)
        return 2


def _drop_stdout():
    """Point stdout at /dev/null: the interpreter's final flush of what could not be written
    would fail again and print an error of its own."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


if __name__ == "__main__":
    sys.exit(main())
