"""The cost of object lifetimes (CPython 3.13+, doc/objects.md) on bench/workload.py (dense:
calls, Node objects of a __slots__ class, records, lists): each mode against untraced, ABBA
pairs in one process, medians [quartiles] of the ratio; objects seen per run. The floor: a
reference tracer that only counts (bench/floor/floor.c's ref_tracer), on the same workload.

    bench/objects.py [--pairs N] [--scale S]

PYTHONPATH must hold the built pymemtrace package (build/python).
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _pmt_floor  # noqa: E402
import pymemtrace  # noqa: E402
import workload  # noqa: E402

MODES = [
    ("floor: a reference tracer that only counts", "floor"),
    ("counts, heap types (Objects())", {"log_format": "none"}),
    ("counts, every type (objects='all')", {"log_format": "none", "objects": "all"}),
    ("an event per object, heap types, binary", {"object_events": True}),
    ("an event per object, every type, binary", {"object_events": True, "objects": "all"}),
]


def timed(scale, options, directory):
    start = time.perf_counter()
    if options is None:
        workload.run(scale)
        return time.perf_counter() - start, 0
    if options == "floor":
        _pmt_floor.reset()
        _pmt_floor.ref_tracer(True)
        workload.run(scale)
        _pmt_floor.ref_tracer(False)
        return time.perf_counter() - start, _pmt_floor.events()
    path = os.path.join(directory, "o.pmt") if options.get("log_format") != "none" else None
    with pymemtrace.Objects(filepath=path, **options) as o:
        workload.run(scale)
    elapsed = time.perf_counter() - start
    if path:
        os.unlink(path)
    made = sum(created + destroyed for created, destroyed, _ in o.object_counts().values())
    return elapsed, made


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=7)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    workload.run(0.2)
    print(f"CPython {sys.version.split()[0]}, workload scale {args.scale}, {args.pairs} ABBA "
          f"pairs\n")
    print("| mode | ratio [q1, q3] | objects made + destroyed per run | ns per object |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as directory:
        for name, options in MODES:
            ratios, base, seen = [], [], 0
            for _ in range(args.pairs):
                a1, _ = timed(args.scale, None, directory)
                b1, seen = timed(args.scale, options, directory)
                b2, _ = timed(args.scale, options, directory)
                a2, _ = timed(args.scale, None, directory)
                ratios.append((b1 + b2) / (a1 + a2))
                base.append((a1 + a2) / 2)
            q = statistics.quantiles(ratios, n=4)
            ratio = statistics.median(ratios)
            per = (ratio - 1) * statistics.median(base) / seen * 1e9 if seen else 0
            print(f"| {name} | x{ratio:.2f} [{q[0]:.2f}, {q[2]:.2f}] | {seen} | {per:.0f} |")


if __name__ == "__main__":
    main()
