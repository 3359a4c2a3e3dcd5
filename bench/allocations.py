"""Allocation tracing's cost (issue 12): per CPython, on workload.py (allocation-heavy pure
Python), side by side in one process (ABBA pairs, medians):

  ratio        traced / untraced wall time of one iteration: median [q1, q3]
  ns/event     (traced - untraced) / allocation events recorded (ALLOC, REALLOC, FREE)
  events/s     allocation events recorded per second of traced run time
  B/event      bytes of binary log per allocation event (the whole file / events written)
  instr/event  (callgrind) (Ir traced - Ir untraced) / allocation events: the stable figure

Modes: every allocation of CPython's three domains written to a binary log (uncompressed, zstd,
lz4), with attribution (Python file, line, function, user site); byte sampling at 512 KiB; and
tracemalloc.start(1) in the same process for comparison.

    bench/allocations.py [--python PY ...] [--pairs N] [--scale S] [--no-callgrind]
                         [--markdown FILE]

PYTHONPATH must hold the built package and _pmt_floor (build/python).
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

MODES = [
    ("allocations bin", {"log_format": "binary"}),
    ("allocations bin zstd", {"log_format": "binary", "compression": "zstd"}),
    ("allocations bin lz4", {"log_format": "binary", "compression": "lz4"}),
    ("allocations sampled 512 KiB", {"log_format": "binary", "alloc_sample": 512 << 10}),
    ("tracemalloc.start(1)", None),
    # Not the library: the floor of any allocation tracer here (bench/floor/floor.c): CPython's
    # allocator hooks reaching a C function that counts, and that also appends 8 bytes.
    ("floor: counting hooks", "floor"),
    ("floor: hooks + 8-byte record", "floor+record"),
]


def load_workload():
    sys.path.insert(0, HERE)
    import workload
    return workload


class Probe:
    def __init__(self, name, directory):
        self.options = dict(MODES)[name]
        self.directory = directory
        self.wrapper = None
        self.path = None

    def start(self):
        import pymemtrace
        if isinstance(self.options, str):
            import _pmt_floor
            _pmt_floor.reset()
            _pmt_floor.alloc_hooks(True, self.options == "floor+record")
            return
        if self.options is None:
            import tracemalloc
            tracemalloc.start(1)
            return
        self.path = os.path.join(self.directory, f"a{time.monotonic_ns()}.pmt")
        self.wrapper = pymemtrace.Allocations(filepath=self.path, **self.options)
        self.wrapper.__enter__()

    def stop(self):
        if isinstance(self.options, str):
            import _pmt_floor
            _pmt_floor.alloc_hooks(False, False)
            return {"written": _pmt_floor.events(), "bytes": 8 * _pmt_floor.events(),
                    "live_blocks": 0, "seen": _pmt_floor.events()}
        if self.options is None:
            import tracemalloc
            tracemalloc.stop()
            return {}
        self.wrapper.__exit__(None, None, None)
        stats = self.wrapper.allocation_stats
        size = os.path.getsize(self.path)
        os.unlink(self.path)
        return {"written": self.wrapper.events_written, "bytes": size,
                "live_blocks": stats["live_blocks"], "seen": stats["seen"]}


def child_ratios(names, scale, pairs):
    work = load_workload()
    work.run(scale)
    results = {}
    with tempfile.TemporaryDirectory() as directory:
        for name in names:
            ratios, extra, deltas, traced_times = [], [], [], []
            for i in range(pairs):
                def untraced():
                    start = time.perf_counter()
                    work.run(scale)
                    return time.perf_counter() - start

                def traced():
                    probe = Probe(name, directory)
                    start = time.perf_counter()
                    probe.start()
                    work.run(scale)
                    info = probe.stop()
                    elapsed = time.perf_counter() - start
                    extra.append(info)
                    return elapsed

                if i % 2 == 0:
                    a, b = untraced(), traced()
                else:
                    b, a = traced(), untraced()
                ratios.append(b / a)
                deltas.append(b - a)
                traced_times.append(b)
            q = statistics.quantiles(ratios, n=4)
            row = {"median": statistics.median(ratios), "q1": q[0], "q3": q[2]}
            if extra and extra[0]:
                written = statistics.median(e["written"] for e in extra)
                row["events"] = written
                row["ns_per_event"] = statistics.median(deltas) / written * 1e9
                row["events_per_s"] = written / statistics.median(traced_times)
                row["bytes_per_event"] = statistics.median(e["bytes"] / e["written"]
                                                           for e in extra)
                row["live_blocks"] = extra[0]["live_blocks"]
            results[name] = row
    print(json.dumps(results))


def child_callgrind(name, scale):
    import _pmt_floor
    work = load_workload()
    work.run(scale)
    with tempfile.TemporaryDirectory() as directory:
        probe = Probe(name, directory) if name != "untraced" else None
        if probe:
            probe.start()
        _pmt_floor.run(lambda: work.run(scale))
        info = probe.stop() if probe else {}
    print(json.dumps(info))


def run_child(python, args, env, valgrind=None):
    command = [python, os.path.abspath(__file__), "--child"] + args
    if valgrind:
        command = valgrind + command
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def callgrind(python, name, scale, env):
    with tempfile.TemporaryDirectory() as directory:
        out = os.path.join(directory, "callgrind.out")
        valgrind = ["valgrind", "--tool=callgrind", "--collect-atstart=no",
                    "--toggle-collect=pmt_floor_run", f"--callgrind-out-file={out}"]
        info = run_child(python, ["callgrind", name, str(scale)], env, valgrind)
        m = re.search(r"^(?:summary|totals): (\d+)", open(out).read(), re.M)
        info["ir"] = int(m.group(1)) if m else 0
    return info


def measure(python, args, env):
    names = [m[0] for m in MODES]
    rows = run_child(python, ["ratios", str(args.scale), str(args.pairs)] + names, env)
    if not args.no_callgrind:
        base = callgrind(python, "untraced", args.callgrind_scale, env)["ir"]
        for name in ("allocations bin", "floor: counting hooks", "floor: hooks + 8-byte record"):
            info = callgrind(python, name, args.callgrind_scale, env)
            rows[name]["instr"] = (info["ir"] - base) / info["written"]
    return rows


def table(version, rows):
    lines = [f"### CPython {version}, workload.py", "",
             "| mode | ratio [q1, q3] | ns/event | events/s | B/event | instr/event |",
             "|---|---|---|---|---|---|"]
    for name, r in rows.items():
        ns = f"{r['ns_per_event']:.0f}" if "ns_per_event" in r else "-"
        rate = f"{r['events_per_s'] / 1e6:.1f} M" if "events_per_s" in r else "-"
        size = f"{r['bytes_per_event']:.2f}" if "bytes_per_event" in r else "-"
        instr = f"{r['instr']:.0f}" if "instr" in r else "-"
        lines.append(f"| {name} | x{r['median']:.2f} [{r['q1']:.2f}, {r['q3']:.2f}] | {ns} | "
                     f"{rate} | {size} | {instr} |")
    events = rows["allocations bin"].get("events")
    blocks = rows["allocations bin"].get("live_blocks")
    lines.append("")
    lines.append(f"{events:.0f} allocation events per iteration; {blocks} blocks recorded and "
                 "live at stop (the block table: 16 bytes per slot, at most half full).")
    return "\n".join(lines) + "\n"


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    parser.add_argument("--python", action="append", help="an interpreter (default: this one)")
    parser.add_argument("--pairs", type=int, default=9)
    parser.add_argument("--scale", type=float, default=4.0)
    parser.add_argument("--callgrind-scale", type=float, default=0.5)
    parser.add_argument("--no-callgrind", action="store_true")
    parser.add_argument("--markdown")
    args = parser.parse_args(argv)
    if args.child:
        kind, rest = args.child[0], args.child[1:]
        if kind == "callgrind":
            child_callgrind(rest[0], float(rest[1]))
        else:
            child_ratios(rest[2:], float(rest[0]), int(rest[1]))
        return 0
    env = dict(os.environ, PYTHONHASHSEED="0")
    out = []
    for python in args.python or [sys.executable]:
        version = subprocess.run([python, "-c", "import platform; print(platform.python_version())"],
                                 capture_output=True, text=True, check=True).stdout.strip()
        text = table(version, measure(python, args, env))
        print(text, flush=True)
        out.append(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
