"""Overhead of tracing against an untraced run, measured side by side in one process.

For each mode, untraced (A) and traced (B) iterations of bench/workload.py alternate in ABBA
order; the ratio is the median over pairs of t_B / t_A, and ns/event the median of
(t_B - t_A) / events. Printed per mode: ratio and its quartiles, ns per event, events seen per
iteration, events written, log bytes per written event, and the RSS provider that ran.

Modes (the rows of issue 5's targets):
  hook only        Python calls/returns reach the hook; RSS not read, nothing written
  RSS, no write    ... and RSS read at every event by the chosen provider; nothing written
  Profile(-1) ...  the default one-page trigger, text and binary logs
  Profile(0) ...   every event written: binary (Python events; with C calls), text; Trace(0)
Then "RSS every event" once per provider mode (auto, fault-gate, interval, exact, kernel-ring
when this process may use it), and with --check the number of written events whose RSS differs
from a statm read made as the event is delivered (by a sink), over the workload and then
workload.churn(), which maps, writes and unmaps memory so that RSS goes up and down. The sink's
own allocations can move statm by a page now and then, so a few differences are expected even
for exact modes; a mode that lags shows many.

    PYTHONPATH=build/python python3 bench/bench.py [--pairs N] [--scale S] [--check]
                                                   [--keep-logs DIR]

--keep-logs DIR keeps one binary log of Profile(0) for each compression (profile0-none.pmt, ...)
in DIR, for bench/sink_cost.c to replay a real event stream.
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

import pymemtrace
from pymemtrace import _pymemtrace
import workload

EV = _pymemtrace
PYTHON_EVENTS = (1 << EV.EV_CALL) | (1 << EV.EV_RETURN)
C_EVENTS = (1 << EV.EV_C_CALL) | (1 << EV.EV_C_RETURN) | (1 << EV.EV_C_EXCEPTION)
NEVER = 1 << 62  # a dRSS trigger no event reaches: nothing but START/STOP is written

# name, events, trigger, Tracer keyword arguments
MODES = [
    ("hook only", PYTHON_EVENTS, NEVER, {"log_format": "none", "rss_mode": EV.RSS_NONE}),
    ("RSS, no write", PYTHON_EVENTS, NEVER, {"log_format": "none"}),
    ("Profile(-1) text", PYTHON_EVENTS, -1, {"log_format": "text"}),
    ("Profile(-1) bin", PYTHON_EVENTS, -1, {"log_format": "binary"}),
    ("Profile(0) bin", PYTHON_EVENTS, 0, {"log_format": "binary"}),
    ("Profile(0) bin+C", PYTHON_EVENTS | C_EVENTS, 0, {"log_format": "binary"}),
    ("Profile(0) text", PYTHON_EVENTS, 0, {"log_format": "text"}),
    ("Trace(0) text", EV.MASK_TRACE, 0, {"log_format": "text"}),
]

RSS_MODES = [("auto", EV.RSS_AUTO), ("fault-gate", EV.RSS_FAULT_GATE),
             ("interval", EV.RSS_INTERVAL), ("exact", EV.RSS_EXACT),
             ("kernel-ring", EV.RSS_KERNEL_RING)]

CODECS = [("none", EV.COMPRESS_NONE), ("zstd", EV.COMPRESS_ZSTD), ("lz4", EV.COMPRESS_LZ4)]


def timed_untraced(scale):
    start = time.perf_counter()
    workload.run(scale)
    return time.perf_counter() - start


class Traced:
    """One traced iteration of a mode; remembers what each run saw."""

    def __init__(self, events, trigger, options, logdir):
        self.events, self.trigger, self.options = events, trigger, options
        self.path = os.path.join(logdir, "bench.pmt" if options.get("log_format") == "binary"
                                 else "bench.log")
        self.runs = []  # (events seen, events written, log bytes, provider)
        self.last_log = None

    def __call__(self, scale):
        tracer = _pymemtrace.Tracer(self.events, self.trigger, self.path, None, None,
                                    **self.options)
        start = time.perf_counter()
        tracer.start()
        workload.run(scale)
        tracer.stop()
        elapsed = time.perf_counter() - start
        seen, written, provider = tracer.events_seen, tracer.events_written, tracer.rss_provider
        log = tracer.log_path
        del tracer  # closes the log: its last chunk, index or EOF row
        size = os.path.getsize(log) if log else 0
        self.runs.append((seen, written, size, provider))
        if self.last_log and os.path.exists(self.last_log):
            os.unlink(self.last_log)
        self.last_log = log
        return elapsed


def measure(traced, pairs, scale):
    ratios, extra = [], []
    for i in range(pairs):
        if i % 2 == 0:
            a = timed_untraced(scale)
            b = traced(scale)
        else:
            b = traced(scale)
            a = timed_untraced(scale)
        ratios.append(b / a)
        extra.append((b - a) / max(traced.runs[-1][0], 1))
    seen, written, size = (statistics.median(r[k] for r in traced.runs) for k in range(3))
    q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
    return {"ratio": statistics.median(ratios), "q1": q[0], "q3": q[2],
            "ns": statistics.median(extra) * 1e9, "events": int(seen), "written": int(written),
            "bytes": size / written if written else 0.0, "provider": traced.runs[-1][3]}


def row(name, r):
    print(f"{name:<17} x{r['ratio']:5.2f} [{r['q1']:5.2f}-{r['q3']:5.2f}] {r['ns']:7.0f} "
          f"{r['events']:9d} {r['written']:9d} {r['bytes']:8.2f}  {r['provider']}")
    sys.stdout.flush()


def header(first):
    print(f"{first:<17} {'ratio':>6} {'IQR':>13} {'ns/ev':>7} {'events':>9} {'written':>9} "
          f"{'B/writ':>8}  provider")


def check_mode(name, mode, scale):
    """Written events (Profile(0)) whose RSS differs from statm read as the sink receives them."""
    seen = [0, 0]

    def sink(event):
        seen[0] += 1
        if event.kind in ("CALL", "RETURN") and event.rss != pymemtrace.rss():
            seen[1] += 1

    try:
        tracer = _pymemtrace.Tracer(PYTHON_EVENTS, 0, None, None, None, log_format="none",
                                    sink=sink, rss_mode=mode)
        tracer.start()
    except (OSError, RuntimeError, ValueError) as e:
        print(f"{name:<17} not available here: {e}")
        return
    workload.run(scale)
    workload.churn()
    tracer.stop()
    print(f"{name:<17} {seen[1]:9d} of {seen[0]:9d} events differ from statm "
          f"({100.0 * seen[1] / max(seen[0], 1):.3f}%)  {tracer.rss_provider}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=7)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--check", action="store_true",
                        help="count events whose RSS differs from statm, per RSS mode")
    parser.add_argument("--keep-logs", metavar="DIR",
                        help="keep one binary log of each compression in DIR")
    args = parser.parse_args()
    if args.keep_logs:
        os.makedirs(args.keep_logs, exist_ok=True)
    workload.run(args.scale)  # warm up imports and caches
    base = tempfile.gettempdir() if not os.path.isdir("/dev/shm") else "/dev/shm"
    version = ".".join(map(str, sys.version_info[:3]))
    print(f"Python {version}, uid {os.getuid()}, {args.pairs} ABBA pairs, scale {args.scale}, "
          f"untraced iteration {timed_untraced(args.scale) * 1e3:.0f} ms")
    with tempfile.TemporaryDirectory(dir=base) as logdir:
        header("mode")
        for name, events, trigger, options in MODES:
            row(name, measure(Traced(events, trigger, options, logdir), args.pairs, args.scale))

        print()
        print("RSS read at every event (Python events, nothing written), per provider mode")
        header("rss_mode")
        for name, mode in RSS_MODES:
            traced = Traced(PYTHON_EVENTS, NEVER, {"log_format": "none", "rss_mode": mode},
                            logdir)
            try:
                r = measure(traced, args.pairs, args.scale)
            except (OSError, RuntimeError) as e:
                print(f"{name:<17} not available here: {e}")
                continue
            row(name, r)

        print()
        print("Binary log, Profile(0) with C calls: every event written, per compression")
        header("compression")
        for name, codec in CODECS:
            if not _pymemtrace.compression_supported(codec):
                print(f"{name:<17} not built in")
                continue
            traced = Traced(PYTHON_EVENTS | C_EVENTS, 0,
                            {"log_format": "binary", "compression": codec}, logdir)
            row(name, measure(traced, args.pairs, args.scale))
            if args.keep_logs and traced.last_log:
                shutil.copyfile(traced.last_log,
                                os.path.join(args.keep_logs, f"profile0-{name}.pmt"))

        if args.check:
            print()
            print("--check: written events whose RSS differs from a statm read at delivery")
            for name, mode in RSS_MODES:
                check_mode(name, mode, args.scale)


if __name__ == "__main__":
    main()
