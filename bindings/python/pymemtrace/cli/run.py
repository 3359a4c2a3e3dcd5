"""run: a script (or -m module, -c code, as python takes them) under Profile (or Trace), then
where RSS grew."""
import argparse
import contextlib
import os
import runpy
import shutil
import sys
import threading
import time

from .. import (Monitor, Profile, Trace, _children, callstats, probe_listeners, probes_available,
               rss)
from .._tracing import TRIGGER_DEFAULT, TRIGGER_MAX, TRIGGER_MIN
from .common import CliError, count, private_file
from .top import print_user_table
from .tree import print_tree


def trigger(text):
    """An argparse type: a d_rss_trigger within the library's bounds."""
    value = int(text)
    if not TRIGGER_MIN <= value <= TRIGGER_MAX:
        raise argparse.ArgumentTypeError("must be -1 (one page), 0 (every event) or a number of "
                                         f"bytes, not {value}")
    return value


# Set in the environment of a process `run --native` started with the interposer preloaded, so
# that it does not start itself again.
NATIVE_ENV = "PYMEMTRACE_NATIVE_PRELOADED"


def interposer_path():
    """libpymemtrace_native.so, installed beside the extension module."""
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "libpymemtrace_native.so")


def preload_native():
    """Starts this very command line again with the interposer preloaded (LD_PRELOAD must be
    set before a process starts: the program's and its children's allocations are then all
    seen). Returns only when that cannot be done: the tracer then rewrites the loaded
    objects' imports instead (doc/allocations.md)."""
    if os.environ.get(NATIVE_ENV) or "run" not in getattr(sys, "orig_argv", ()):
        return
    library = interposer_path()
    if not os.path.isfile(library):
        raise CliError(f"--native: the interposer {library} is missing from this installation")
    env = dict(os.environ)
    env["LD_PRELOAD"] = library + (":" + env["LD_PRELOAD"] if env.get("LD_PRELOAD") else "")
    env[NATIVE_ENV] = "1"
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable] + sys.orig_argv[1:], env)


# run's options that take a value: what split_target() steps over to find the program.
VALUE_OPTIONS = ("-d", "--d-rss-trigger", "-o", "--output", "--message", "--compression",
                 "--top", "--user-files", "--not-user-files", "--collapsed",
                 "--alloc-min-size", "--alloc-sample", "--probe-wait", "--include-types",
                 "--exclude-types")

# `run --monitor` alone: samples every 0.1 s (as process.py's default tick).
MONITOR_DEFAULT = "--monitor=0.1"

PROBES = ("event", "rss_change", "alloc", "free", "realloc", "gc_start", "gc_done", "mark",
          "tracer_start", "tracer_stop", "object_new", "object_free")


def wait_for_probes(seconds):
    """Waits until a consumer (bpftrace, SystemTap) attached to one of the probes, at most
    seconds; says on stderr where to attach. Returns whether one did."""
    print(f"pymemtrace: probes only, no log; attach to process {os.getpid()}, e.g. "
          f"bpftrace -p {os.getpid()} toolkit/pymemtrace_flow.bt", file=sys.stderr)
    sys.stderr.flush()
    deadline = time.monotonic() + seconds
    attached, steady_since = (), None
    while True:
        # A tool attaches its probes one by one: wait until the set stops changing.
        now_attached = tuple(name for name in PROBES if probe_listeners(name))
        now = time.monotonic()
        if now_attached != attached:
            attached, steady_since = now_attached, now
        elif attached and now - steady_since >= 0.3:
            return True
        if now >= deadline:
            return bool(attached)
        time.sleep(0.02)


def split_target(tokens):
    """`run [OPTIONS] (script | -m module | -c code) [ARGS...]` as python takes it: the program's
    own arguments start right after the script, module or code, whatever they look like.
    Returns (run's part, the program's arguments)."""
    i = 1
    while i < len(tokens):
        token = tokens[i]
        if token in ("-m", "-c"):
            return tokens[:i + 2], tokens[i + 2:]
        if token == "--" or not token.startswith("-") or token == "-":
            end = i + 1 if token != "--" else i + 2
            return tokens[:end], tokens[end:]
        if token in VALUE_OPTIONS:
            i += 2
            continue
        i += 1
    return tokens, []


class StatusLine:
    """A one-line status on stderr while the program runs (events seen and written, RSS),
    redrawn every half second, when stderr is a terminal; cleared at the end. Its thread's code
    is the tracer's own (this package), so the log never shows it; it calls only C functions."""

    def __init__(self, wrapper):
        self.wrapper = wrapper
        self.done = False
        self.shown = False
        self.thread = threading.Thread(target=self._loop, name="pymemtrace-status", daemon=True)

    def _loop(self):
        width = max(shutil.get_terminal_size((80, 24)).columns - 1, 20)
        while not self.done:
            time.sleep(0.5)
            tracer = self.wrapper._tracer
            if tracer is None or self.done:
                continue
            line = (f"pymemtrace: {tracer.events_seen:,} events seen, "
                    f"{tracer.events_written:,} written, RSS {rss() / (1 << 20):,.1f} MiB")
            sys.stderr.write("\r" + line[:width] + "\x1b[K")
            sys.stderr.flush()
            self.shown = True

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done = True
        self.thread.join()
        if self.shown:
            sys.stderr.write("\r\x1b[K")  # the line goes: the program's last output stays
            sys.stderr.flush()
        return False


def _monitor(args):
    """--monitor-jsonl: the RSS monitor also writes LOG.monitor.jsonl next to the log (or a name
    of its own); with --probes-only there is no log, and that file is where samples go."""
    if args.monitor is None or not (args.monitor_jsonl or args.probes_only):
        return contextlib.nullcontext()
    path = None
    if args.output:
        path = os.path.splitext(args.output)[0] + ".monitor.jsonl"
    try:
        monitor = Monitor(interval=args.monitor, filepath=path)
    except (TypeError, ValueError) as error:
        raise CliError(f"--monitor: {error}") from None
    return _ReportedMonitor(monitor, args.quiet)


class _ReportedMonitor:
    """Enters the monitor and says where its samples went."""

    def __init__(self, monitor, quiet):
        self.monitor, self.quiet = monitor, quiet

    def __enter__(self):
        try:
            self.monitor.__enter__()
        except OSError as error:
            raise CliError(f"--monitor: cannot write {error.filename or ''}: "
                           f"{error.strerror or error}") from None
        return self.monitor

    def __exit__(self, *exc):
        self.monitor.__exit__(*exc)
        if not self.quiet:
            print(f"pymemtrace: {self.monitor.samples} RSS samples written to "
                  f"{self.monitor.log_path}", file=sys.stderr)
        return False


def _status(args, wrapper):
    """The live status line when it is wanted, else a context that does nothing."""
    if args.quiet or not sys.stderr.isatty():
        return contextlib.nullcontext()
    return StatusLine(wrapper)


def _target(args):
    """(what runs, argv[0], the directory put first on sys.path) of a script, -m or -c."""
    if args.module:
        return ("module", args.module), args.module, os.getcwd()
    if args.code is not None:
        return ("code", args.code), "-c", os.getcwd()
    if not args.script:
        raise CliError("run: a script, -m module or -c code is needed")
    script = os.path.abspath(args.script)
    if not os.path.isfile(script):
        raise CliError(f"no such script: {args.script}")
    return ("script", script), script, os.path.dirname(script)


def _exit_status(exit_):
    """The status a SystemExit gives the process, as python's own exit does."""
    return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)


def _run_target(target):
    kind, what = target
    if kind == "module":
        return runpy.run_module(what, run_name="__main__", alter_sys=True)
    if kind == "code":
        namespace = {"__name__": "__main__", "__builtins__": __builtins__}
        exec(compile(what, "<string>", "exec"), namespace)  # noqa: S102 (python -c)
        return namespace
    return runpy.run_path(what, run_name="__main__")


def run(args):
    wrapper = Trace if args.trace else Profile
    if args.script and (args.module or args.code is not None):
        args.args = [args.script] + args.args  # `-m mod ARGS`: the first argument is the module's
        args.script = None
    target, argv0, path0 = _target(args)
    if args.no_trace:
        return _run_monitored_only(args, target, argv0, path0)
    if args.native:
        preload_native()
    log_format = "binary" if args.binary else "text"
    if args.probes_only:
        if not probes_available():
            raise CliError("--probes-only: this build of pymemtrace has no USDT probes "
                           "(built without sys/sdt.h)")
        if args.output or args.binary or args.compression or args.follow_children:
            raise CliError("--probes-only writes no log: drop -o, --binary, --compression and "
                           "--follow-children")
        log_format = "none"
        if args.probe_wait and not wait_for_probes(args.probe_wait):
            print(f"pymemtrace: no probe consumer attached within {args.probe_wait} s; running "
                  f"anyway", file=sys.stderr)
    allocations = "native" if args.native else bool(args.allocations)
    objects = ("all" if args.all_types else True) if args.objects else False
    if not objects and (args.object_events or args.include_types or args.exclude_types
                        or args.all_types):
        raise CliError("--object-events, --all-types, --include-types and --exclude-types need "
                       "--objects")
    try:
        tracer = wrapper(args.d_rss_trigger, args.message, args.output, log_format=log_format,
                         gc=args.gc, objects=objects, object_events=args.object_events,
                         include_types=args.include_types, exclude_types=args.exclude_types,
                         objects_gc_collect=2 if objects else None,
                         compression=args.compression,
                         on_fork="follow" if args.follow_children else None,
                         user_files=args.user_files, not_user_files=args.not_user_files,
                         allocations=allocations, alloc_min_size=args.alloc_min_size,
                         alloc_sample=args.alloc_sample,
                         c_calls=True if allocations else None,
                         calls="paths" if args.call_paths else True,
                         monitor=None if args.probes_only else args.monitor)
    except (TypeError, ValueError, NotImplementedError) as error:  # a codec this build lacks, objects < 3.13
        raise CliError(str(error)) from None
    sys.argv = [argv0] + args.args
    sys.path.insert(0, path0)
    status = 0
    namespace = None  # the script's globals live on until the tracer stopped: leaks sees them
    try:
        with _monitor(args), _status(args, tracer), tracer:
            if args.follow_children:
                follow_children(args, log_format, tracer.log_path)
            namespace = _run_target(target)
    except SystemExit as exit_:
        status = _exit_status(exit_)
    except OSError as error:
        if tracer.log_path is None:  # entering failed: the log could not be created
            raise CliError(f"cannot write the log: {error}") from None
        raise
    except RuntimeError as error:
        if tracer.log_path is None:  # entering failed: e.g. no allocator hooks here
            raise CliError(str(error)) from None
        raise
    del namespace
    sys.stdout.flush()  # the script's output first, then the summary
    failed = [c for c in tracer.sink_counts if c["error"]]
    if args.quiet and not failed:
        return status
    if args.probes_only:
        print(f"pymemtrace: {tracer.events_seen} events, given to the probes only",
              file=sys.stderr)
    elif not failed:
        samples = (f" (with {tracer.samples_written} RSS samples"
                   + (f"; {tracer.samples_lost} lost: no event for too long" if
                      tracer.samples_lost else "") + ")"
                   if args.monitor is not None else "")
        print(f"pymemtrace: {tracer.events_seen} events, {tracer.events_written} written to "
              f"{tracer.log_path}{samples}", file=sys.stderr)
    for c in failed:  # the honest counts: what reached the file, what did not
        print(f"pymemtrace: {tracer.events_seen} events, {c['given']} given to {c['path']}; it "
              f"holds {c['stored']}, {c['lost']} are lost: {c['strerror']}", file=sys.stderr)
        status = status or 1
    if args.follow_children:
        children = _children.child_log_path(tracer.log_path, "<PID>")
        print(f"pymemtrace: child processes write {children}", file=sys.stderr)
    rows = tracer.call_stats()
    if args.top:
        print_user_table(callstats.table(rows, user=True)[:args.top], out=sys.stderr)
    if args.tree:
        print_tree(callstats.tree(rows), out=sys.stderr, limit=200)
    if args.collapsed:
        try:
            with private_file(args.collapsed) as out:
                out.writelines(line + "\n" for line in callstats.collapsed(rows))
        except OSError as error:
            raise CliError(f"cannot write {args.collapsed}: {error}") from None
    return status


# What --no-trace cannot go with: they are the tracer's.
_TRACER_OPTIONS = ("binary", "compression", "follow_children", "probes_only", "allocations",
                   "native", "objects", "gc", "trace", "call_paths", "tree", "collapsed")


def _run_monitored_only(args, target, argv0, path0):
    """run --monitor --no-trace: the program under the RSS monitor alone (no tracer, no hook),
    its samples in JSON lines (-o FILE, or YYMMDD_HHMMSS_PID.monitor.jsonl)."""
    if args.monitor is None:
        raise CliError("--no-trace runs the monitor alone: give --monitor[=SECONDS]")
    given = [f"--{name.replace('_', '-')}" for name in _TRACER_OPTIONS if getattr(args, name)]
    if given:
        raise CliError(f"--no-trace runs no tracer: drop {', '.join(given)}")
    try:
        monitor = Monitor(interval=args.monitor, filepath=args.output)
    except (TypeError, ValueError) as error:
        raise CliError(f"--monitor: {error}") from None
    sys.argv = [argv0] + args.args
    sys.path.insert(0, path0)
    status = 0
    try:
        with _ReportedMonitor(monitor, args.quiet):
            _run_target(target)
    except SystemExit as exit_:
        status = _exit_status(exit_)
    sys.stdout.flush()
    return status


def follow_children(args, log_format, log_path):
    """Forked children follow (on_fork="follow"); the environment makes every Python process
    started from here on trace itself from interpreter start with these settings, into a log named
    after this one with its pid."""
    settings = {"kind": "trace" if args.trace else "profile", "d_rss_trigger": args.d_rss_trigger,
                "message": args.message, "filepath": os.path.abspath(log_path),
                "log_format": log_format, "compression": args.compression}
    if args.monitor is not None:  # every process of the tree samples itself into its own log
        settings["monitor"] = args.monitor
    os.environ.update(_children.environment(settings))


def register(commands):
    command = commands.add_parser(
        "run", help="run a script (or -m module, -c code) under Profile (or Trace)",
        description="Run a Python program under Profile (or Trace), as python runs it: "
        "run [OPTIONS] script.py [ARGS], run [OPTIONS] -m module [ARGS], run [OPTIONS] -c code "
        "[ARGS]; then print where RSS grew.",
        epilog="example: python -m pymemtrace run --binary -o run.pmt -m json.tool data.json")
    command.add_argument("--trace", action="store_true", help="record lines instead of C calls")
    command.add_argument("-d", "--d-rss-trigger", type=trigger, default=TRIGGER_DEFAULT,
                         help=f"-1: one page, 0: every event, N: |dRSS| >= N bytes "
                              f"(default {TRIGGER_DEFAULT})")
    command.add_argument("-o", "--output",
                         help="log path (default YYMMDD_HHMMSS_PID.log, or .pmt with --binary)")
    command.add_argument("--message", help="first line of the log")
    command.add_argument("-m", dest="module", metavar="MODULE",
                         help="run a module as `python -m MODULE` does (the rest: its arguments)")
    command.add_argument("-c", dest="code", metavar="CODE",
                         help="run code as `python -c CODE` does (the rest: its arguments)")
    command.add_argument("--binary", action="store_true", help="write the compact binary log")
    command.add_argument("--compression", choices=("zstd", "lz4"),
                         help="compress the binary log's chunks")
    command.add_argument("--follow-children", action="store_true",
                         help="child processes write logs of their own, named after this one "
                              "with .pid<PID>: forked ones follow, and Python processes started "
                              "from here (multiprocessing's spawn and forkserver too) trace "
                              "themselves")
    command.add_argument("--top", type=count, default=10, metavar="N",
                         help="at exit, print the N user functions whose calls grew RSS most, "
                              "with total, own and calls (0: none)")
    command.add_argument("--user-files", action="append", metavar="GLOB",
                         help="files matching GLOB are the user's code (repeatable; default: "
                              "all but the standard library, site-/dist-packages, generated)")
    command.add_argument("--not-user-files", action="append", metavar="GLOB",
                         help="files matching GLOB are not the user's code (repeatable)")
    command.add_argument("--tree", action="store_true",
                         help="at exit, print the call tree of the user's code with total and "
                              "own growth")
    command.add_argument("--collapsed", metavar="FILE",
                         help="at exit, write collapsed stacks of the user's code weighted by "
                              "own growth in bytes (flamegraph.pl's input)")
    command.add_argument("--allocations", action="store_true",
                         help="also record CPython's allocations (RAW, MEM, OBJ domains), each "
                              "with the Python code that made it: read them with flow, hist and "
                              "leaks (use --binary: a text row per allocation is slow)")
    command.add_argument("--native", action="store_true",
                         help="--allocations plus libc's malloc family and anonymous mmap from "
                              "C code (extension modules): the script runs with the interposer "
                              "preloaded, and so do its children")
    command.add_argument("--call-paths", action="store_true",
                         help="give every written event its call path (binary logs keep it): "
                              "tree --collapsed --weight allocated then charges allocations to "
                              "whole stacks")
    command.add_argument("--alloc-min-size", type=count, default=0, metavar="BYTES",
                         help="record only allocations of at least BYTES")
    command.add_argument("--alloc-sample", type=count, default=0, metavar="BYTES",
                         help="record an allocation of S bytes with probability ~S/BYTES "
                              "(byte sampling; 0: all)")
    command.add_argument("--monitor", type=float, metavar="SECONDS",
                         help="also sample RSS, faults and CPU from a thread of its own every "
                              "SECONDS (0.1 when given alone: --monitor, or --monitor=0.02) into "
                              "the log as SAMPLE events, in every process with "
                              "--follow-children (doc/monitor.md)")
    command.add_argument("--no-trace", action="store_true",
                         help="with --monitor: the monitor alone, no tracer (no hook, no event "
                              "cost): its samples in JSON lines, -o FILE or "
                              "YYMMDD_HHMMSS_PID.monitor.jsonl")
    command.add_argument("--monitor-jsonl", action="store_true",
                         help="with --monitor: also write this process's samples to "
                              "LOG.monitor.jsonl (pymemtrace's process.py fields)")
    command.add_argument("-q", "--quiet", action="store_true",
                         help="no live status line and no summary at the end (a log that "
                              "could not be written is still reported)")
    command.add_argument("--gc", action="store_true",
                         help="also record every garbage collection (GC_START, GC_DONE)")
    command.add_argument("--objects", action="store_true",
                         help="count objects per type (CPython 3.13+), of classes (heap types); "
                              "the counts go into the log at every mark and at the end: read "
                              "them with `objects LOG`")
    command.add_argument("--all-types", action="store_true",
                         help="with --objects: objects of every type, the builtins too")
    command.add_argument("--object-events", action="store_true",
                         help="with --objects: also a row per object made and destroyed, with "
                              "the code that did it (big logs: use --binary)")
    command.add_argument("--include-types", action="append", metavar="GLOB",
                         help="with --objects: count only types whose name matches (repeatable)")
    command.add_argument("--exclude-types", action="append", metavar="GLOB",
                         help="with --objects: do not count types whose name matches")
    command.add_argument("--probes-only", action="store_true",
                         help="write no log: the events go to the library's USDT probes only, "
                              "for bpftrace, SystemTap or DTrace (toolkit/, doc/probes.md)")
    command.add_argument("--probe-wait", type=float, default=0, metavar="SECONDS",
                         help="with --probes-only: wait up to SECONDS for a consumer to attach "
                              "before the program starts")
    command.add_argument("script", nargs="?")
    command.add_argument("args", nargs=argparse.REMAINDER)
    command.set_defaults(handler=run)
