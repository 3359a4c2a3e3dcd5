"""Overhead of Profile/Trace against an untraced run, measured side by side in one process.

For each mode, untraced (A) and traced (B) iterations alternate in ABBA order; the ratio is the
median over pairs of t_B / t_A. Also printed: events seen per iteration, events written, and log
bytes per written event. Then the binary log of Profile(0) (every event written) for each
compression, through _pymemtrace.Tracer directly: ratio, and binary bytes per event. Logs go to a
temporary directory (tmpfs when /dev/shm exists).

    PYTHONPATH=build/python python3 bench/bench.py [--pairs N] [--scale S] [--keep-logs DIR]

--keep-logs DIR keeps one binary log of each compression (profile0-none.pmt, ...) in DIR, e.g.
for bench/sink_cost.c to replay a real event stream.
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

MODES = [("Profile(-1)", pymemtrace.Profile, -1),
         ("Profile(0)", pymemtrace.Profile, 0),
         ("Trace(0)", pymemtrace.Trace, 0)]


def timed_untraced(scale):
    start = time.perf_counter()
    workload.run(scale)
    return time.perf_counter() - start


def timed_traced(wrapper, trigger, scale, logdir, stats):
    path = os.path.join(logdir, "bench.log")
    tracer = wrapper(trigger, None, path)
    start = time.perf_counter()
    with tracer:
        workload.run(scale)
    elapsed = time.perf_counter() - start
    stats.append((tracer.events_seen, tracer.events_written, os.path.getsize(tracer.log_path)))
    os.unlink(tracer.log_path)
    return elapsed


def measure(name, wrapper, trigger, pairs, scale, logdir):
    ratios, stats = [], []
    for i in range(pairs):
        if i % 2 == 0:
            a = timed_untraced(scale)
            b = timed_traced(wrapper, trigger, scale, logdir, stats)
        else:
            b = timed_traced(wrapper, trigger, scale, logdir, stats)
            a = timed_untraced(scale)
        ratios.append(b / a)
    seen, written, size = (statistics.median(s[k] for s in stats) for k in range(3))
    q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
    return {"mode": name, "ratio": statistics.median(ratios), "q1": q[0], "q3": q[2],
            "events": int(seen), "written": int(written),
            "bytes_per_written": size / written if written else 0.0,
            "bytes_per_event": size / seen if seen else 0.0}


BINARY_CODECS = [("none", _pymemtrace.COMPRESS_NONE), ("zstd", _pymemtrace.COMPRESS_ZSTD),
                 ("lz4", _pymemtrace.COMPRESS_LZ4)]


def timed_binary(compression, scale, logdir, stats):
    """Profile(0) writing only a binary log, with the tracer of the extension module itself."""
    path = os.path.join(logdir, "bench.pmt")
    tracer = _pymemtrace.Tracer(_pymemtrace.MASK_PROFILE, 0, path, None, None,
                                log_format="binary", compression=compression)
    start = time.perf_counter()
    tracer.start()
    workload.run(scale)
    tracer.stop()
    elapsed = time.perf_counter() - start
    log_path = tracer.log_path
    stats.append((tracer.events_seen, tracer.events_written, log_path))
    del tracer  # closes the log: its last chunk and the index
    return elapsed


def measure_binary(name, compression, pairs, scale, logdir, keep):
    ratios, stats = [], []
    for i in range(pairs):
        if i % 2 == 0:
            a = timed_untraced(scale)
            b = timed_binary(compression, scale, logdir, stats)
        else:
            b = timed_binary(compression, scale, logdir, stats)
            a = timed_untraced(scale)
        ratios.append(b / a)
        sizes = os.path.getsize(stats[-1][2])
        if keep and i == pairs - 1:
            shutil.copyfile(stats[-1][2], os.path.join(keep, f"profile0-{name}.pmt"))
        os.unlink(stats[-1][2])
        stats[-1] = stats[-1][:2] + (sizes,)
    seen, written, size = (statistics.median(s[k] for s in stats) for k in range(3))
    q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
    return {"codec": name, "ratio": statistics.median(ratios), "q1": q[0], "q3": q[2],
            "events": int(seen), "written": int(written), "bytes": int(size),
            "bytes_per_event": size / written if written else 0.0}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=7)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--keep-logs", metavar="DIR",
                        help="keep one binary log of each compression in DIR")
    args = parser.parse_args()
    if args.keep_logs:
        os.makedirs(args.keep_logs, exist_ok=True)
    workload.run(args.scale)  # warm up imports and caches
    base = tempfile.gettempdir() if not os.path.isdir("/dev/shm") else "/dev/shm"
    version = ".".join(map(str, sys.version_info[:3]))
    print(f"Python {version}, RSS provider {pymemtrace.rss_provider}, {args.pairs} ABBA pairs, "
          f"scale {args.scale}, untraced iteration {timed_untraced(args.scale) * 1e3:.0f} ms")
    print(f"{'mode':<12} {'ratio':>7} {'IQR':>13} {'events/iter':>12} {'written':>9} "
          f"{'B/written':>9} {'B/event':>8}")
    with tempfile.TemporaryDirectory(dir=base) as logdir:
        for name, wrapper, trigger in MODES:
            r = measure(name, wrapper, trigger, args.pairs, args.scale, logdir)
            print(f"{r['mode']:<12} x{r['ratio']:6.2f} [{r['q1']:5.2f}-{r['q3']:5.2f}] "
                  f"{r['events']:12d} {r['written']:9d} {r['bytes_per_written']:9.1f} "
                  f"{r['bytes_per_event']:8.1f}")
            sys.stdout.flush()
        print()
        print("Binary log, Profile(0): every event written")
        print(f"{'compression':<12} {'ratio':>7} {'IQR':>13} {'events/iter':>12} {'written':>9} "
              f"{'bytes':>10} {'B/event':>8}")
        for name, codec in BINARY_CODECS:
            if not _pymemtrace.compression_supported(codec):
                print(f"{name:<12} not built in")
                continue
            r = measure_binary(name, codec, args.pairs, args.scale, logdir, args.keep_logs)
            print(f"{r['codec']:<12} x{r['ratio']:6.2f} [{r['q1']:5.2f}-{r['q3']:5.2f}] "
                  f"{r['events']:12d} {r['written']:9d} {r['bytes']:10d} "
                  f"{r['bytes_per_event']:8.2f}")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
