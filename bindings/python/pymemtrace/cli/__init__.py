"""python -m pymemtrace: trace a script, or read a log (binary or text).

    python -m pymemtrace run [--trace] [--binary [--compression NAME]] [-d BYTES] [-o LOG]
                             [--follow-children] [--allocations | --native]
                             [--alloc-min-size BYTES] [--alloc-sample BYTES] [--gc]
                             [--objects [--all-types]] [--object-events] [--probes-only]
                             [--message TEXT] (script.py | -m module | -c code) [args...]
    python -m pymemtrace top LOG [-n N]      where RSS grew most (the user's functions)
    python -m pymemtrace tree LOG [--collapsed]  the call tree of the user's code
    python -m pymemtrace dump LOG [-o OUT]   the text log of a binary log
    python -m pymemtrace csv LOG [-o OUT]    one CSV row per event
    python -m pymemtrace json LOG [-o OUT]   one JSON object per line per event
    python -m pymemtrace report LOG -o HTML  one self-contained HTML report with the RSS timeline
    python -m pymemtrace plot LOG -o SVG [--gnuplot DIR]  the RSS timeline as SVG or for gnuplot
    python -m pymemtrace chrome LOG [-o OUT] Chrome trace event JSON (chrome://tracing, Perfetto)
    python -m pymemtrace speedscope LOG [-o OUT]  the call tree weighted by growth (speedscope)
    python -m pymemtrace sqlite LOG... -o DB  runs and events tables (SQL over many logs)
    python -m pymemtrace stats LOG [-n N]    counts, peak RSS, duration, top functions
    python -m pymemtrace info LOG            header, summary and whether the log is complete
    python -m pymemtrace flow LOG [--call-stack] [--full-path] [--json]
                                             each allocation and free with its Python code
    python -m pymemtrace hist LOG [--by function|file|line|allocator] [--json]
                                             allocation size histograms (DTrace's quantize)
    python -m pymemtrace leaks LOG [-n N] [--json]  blocks never freed, by site
    python -m pymemtrace objects LOG [--since MARK] [--until MARK]  objects per type (3.13+)

Each command is a module of this package with a register(commands) function; COMMANDS is their
order in --help.

Exit status: 0 success; 1 the log is truncated or damaged (what was readable is printed, and a
warning on stderr says where it stops); 2 usage errors, files that cannot be read or are not
pymemtrace logs, output that cannot be written; 141 the output was closed early (as a tool killed
by SIGPIPE: `| head`).
"""
import argparse
import os
import sys

from . import (export, flow, hist, info, leaks, objects, report, run, sqlite, stats, top,
               trace_formats, tree)
from .common import EXIT_BROKEN_PIPE, CliError

COMMANDS = (run, top, tree, report, flow, hist, leaks, objects, export, trace_formats, sqlite,
            stats, info)


def parser():
    result = argparse.ArgumentParser(prog="python -m pymemtrace",
                                     description="Find where a Python process grows in memory.")
    commands = result.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.register(commands)
    return result


def main(argv=None):
    command_line = parser()
    tokens = sys.argv[1:] if argv is None else list(argv)
    program_args = None
    if tokens[:1] == ["run"]:  # the program's arguments are its own, whatever they look like
        tokens, program_args = run.split_target(tokens)
        # A bare --monitor takes the default interval: never the script's name as its value.
        tokens = [run.MONITOR_DEFAULT if t == "--monitor" else t for t in tokens]
    args = command_line.parse_args(tokens)
    if program_args is not None:
        args.args = program_args
    if getattr(args, "compression", None) and not args.binary:
        command_line.error("--compression needs --binary")
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
        if args.handler is run.run:  # the traced script's own error: its traceback, as python's
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
