"""chrome, speedscope: a log for the viewers people already have (doc/exports.md).

chrome: Chrome's trace event JSON, which chrome://tracing and Perfetto (ui.perfetto.dev) open:
RSS as a counter track, calls as slices per thread, marks as instant events, collections as
slices, allocations and objects as counters of their own. speedscope: the call aggregation of a
binary log as a speedscope profile whose weights are bytes of RSS growth charged to each call
path's own code (speedscope.app opens it)."""
import json
import os

from .. import callstats
from .common import CliError, finish, open_or_fail, output

_CALLS = ("CALL", "C_CALL")
_RETURNS = ("RETURN", "C_RETURN", "C_EXCEPT")


def chrome_events(log):
    """The trace events of a log, in order: a list of dicts (Chrome's trace event format)."""
    pid = log.header.get("process_id") or 1
    events = [{"ph": "M", "pid": pid, "name": "process_name",
               "args": {"name": f"pymemtrace {os.path.basename(log.path)}"}}]
    open_calls = {}  # thread -> names of the slices begun and not ended, innermost last
    live_bytes = 0
    origin = None
    for event in log:
        origin = event.time_ns if origin is None else origin
        ts = (event.time_ns - origin) / 1000.0  # microseconds
        tid = event.thread_id or 0
        kind = event.kind
        if kind == "SAMPLE":  # a monitor's: at the time it was taken, with its split
            sample = event.sample
            ts = (sample.time_ns - origin) / 1000.0
            events.append({"ph": "C", "pid": pid, "tid": 0, "ts": ts, "name": "RSS (monitor)",
                           "args": {"anon": sample.rss_anon, "file": sample.rss_file,
                                    "shmem": sample.rss_shmem}})
            events.append({"ph": "C", "pid": pid, "tid": 0, "ts": ts, "name": "page faults",
                           "args": {"minor": sample.minor_faults,
                                    "major": sample.major_faults}})
        if event.rss is not None:
            events.append({"ph": "C", "pid": pid, "tid": 0, "ts": ts, "name": "RSS",
                           "args": {"bytes": event.rss}})
        if kind in _CALLS:
            name = event.function or "?"
            open_calls.setdefault(tid, []).append(name)
            events.append({"ph": "B", "pid": pid, "tid": tid, "ts": ts, "name": name,
                           "cat": "python" if kind == "CALL" else "c",
                           "args": {"file": event.file, "line": event.line}})
        elif kind in _RETURNS:
            stack = open_calls.get(tid)
            if stack:  # a return whose call came before the log started has no slice
                events.append({"ph": "E", "pid": pid, "tid": tid, "ts": ts,
                               "name": stack.pop()})
        elif kind == "MARK" or (kind == "SAMPLE" and event.message):  # a label is a mark
            events.append({"ph": "i", "pid": pid, "tid": tid, "ts": ts, "s": "g",
                           "name": event.message or "mark"})
        elif kind == "GC_START":
            events.append({"ph": "B", "pid": pid, "tid": tid, "ts": ts, "cat": "gc",
                           "name": f"gc generation {event.gc_generation}"})
            open_calls.setdefault(tid, []).append(f"gc generation {event.gc_generation}")
        elif kind == "GC_DONE":
            stack = open_calls.get(tid)
            if stack and stack[-1].startswith("gc generation"):
                events.append({"ph": "E", "pid": pid, "tid": tid, "ts": ts, "name": stack.pop(),
                               "args": {"collected": event.gc_collected,
                                        "uncollectable": event.gc_uncollectable}})
        elif kind in ("ALLOC", "REALLOC", "FREE"):
            live_bytes += -event.size if kind == "FREE" else event.size - event.old_size
            events.append({"ph": "C", "pid": pid, "tid": 0, "ts": ts,
                           "name": "allocated bytes (traced)", "args": {"bytes": live_bytes}})
        elif kind == "OBJ_CNT":
            events.append({"ph": "C", "pid": pid, "tid": 0, "ts": ts,
                           "name": f"live {event.type_name}", "args": {"objects": event.type_live}})
    # A monitor's sample row comes after the event that wrote it, its time may be earlier: in
    # time order (stable: slices at one time keep their order).
    events[1:] = sorted(events[1:], key=lambda e: e["ts"])
    last = events[-1]["ts"] if len(events) > 1 else 0
    for tid, stack in open_calls.items():  # calls still running at the end: closed there
        while stack:
            events.append({"ph": "E", "pid": pid, "tid": tid, "ts": last, "name": stack.pop()})
    return events


def to_chrome(args):
    with open_or_fail(args.log) as log, output(args) as out:
        events = chrome_events(log)
        json.dump({"traceEvents": events, "displayTimeUnit": "ms",
                   "otherData": {"source": "pymemtrace", "log": os.fspath(args.log)}}, out)
        out.write("\n")
        return finish(log)


def speedscope_profile(rows, name):
    """A speedscope file (its JSON as a dict) from call aggregation rows: one sampled profile
    whose samples are the call paths and whose weights are their own RSS growth in bytes."""
    nodes = callstats.nodes_of(rows)
    frames, frame_index, samples, weights = [], {}, [], []
    for node in nodes.values():
        if node.own <= 0:
            continue
        path, n = [], node
        while n is not None:
            key = (n.function, n.file, n.line)
            if key not in frame_index:
                frame_index[key] = len(frames)
                frames.append({"name": n.function, "file": n.file, "line": n.line})
            path.append(frame_index[key])
            n = nodes.get(n.parent)
        samples.append(path[::-1])
        weights.append(node.own)
    total = sum(weights)
    return {"$schema": "https://www.speedscope.app/file-format-schema.json",
            "shared": {"frames": frames},
            "profiles": [{"type": "sampled", "name": name, "unit": "bytes", "startValue": 0,
                          "endValue": total, "samples": samples, "weights": weights}],
            "name": name, "activeProfileIndex": 0, "exporter": "pymemtrace"}


def to_speedscope(args):
    with open_or_fail(args.log) as log, output(args) as out:
        rows = log.call_stats()
        if not rows:
            raise CliError(f"{args.log} holds no call aggregation (a text log, or a writer "
                           "that did not stop): write a binary log (run --binary)")
        for _ in log:  # read to the end: the status
            pass
        json.dump(speedscope_profile(rows, f"RSS growth: {os.path.basename(args.log)}"), out)
        out.write("\n")
        return finish(log)


def register(commands):
    summary = "Chrome trace event JSON (chrome://tracing, Perfetto): RSS counter, call slices"
    command = commands.add_parser(
        "chrome", help=summary, description=summary + ", marks, collections, allocations.",
        epilog="example: python -m pymemtrace chrome run.pmt -o trace.json  # open in "
        "ui.perfetto.dev")
    command.add_argument("log", help="a binary or text log")
    command.add_argument("-o", "--output", metavar="OUT", help="write here, not stdout")
    command.set_defaults(handler=to_chrome)
    summary = "a speedscope profile of the call tree weighted by own RSS growth (binary logs)"
    command = commands.add_parser(
        "speedscope", help=summary, description=summary + ".",
        epilog="example: python -m pymemtrace speedscope run.pmt -o growth.speedscope.json")
    command.add_argument("log", help="a binary log (it keeps the call aggregation)")
    command.add_argument("-o", "--output", metavar="OUT", help="write here, not stdout")
    command.set_defaults(handler=to_speedscope)
