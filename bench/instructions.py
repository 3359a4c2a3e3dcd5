"""The hot path's cost per event, against the floor of CPython's own hooks (issue 15).

For every mode (a way of tracing that users run) and every CPython given, on two workloads
(dense: workload.py, ~6 M Python events/s untraced; sparse: sparse.py, ~3.5 M/s, a realistic
program), it prints:

  ratio      traced / untraced wall time of one iteration, ABBA pairs in one process: median
             [quartiles]. Moves +-20% run to run on a shared 2-vCPU VM.
  instr/ev   instructions per hook event from callgrind, collected inside one iteration only
             (bench/floor/floor.c's run() is the toggle): (Ir traced - Ir untraced) / hook events.
             Repeatable to a few instructions: the stable figure.
  floor      the same for a floor probe: a C function that only counts, reached through the hook
             the library uses for the mode's events: a sys.monitoring callback on 3.12+; on
             3.10/3.11 a C profile/trace function (PyEval_SetProfile/SetTrace, as the library's
             run-time resolved hooks), or a C builtin given to sys.setprofile/sys.settrace when
             PYMEMTRACE_LEGACY_HOOKS=sys makes the library use those.
  gap        instr/ev - floor: what the library adds above CPython's own dispatch.
  events     hook events per iteration (the floor's count of the same subscription).

    bench/instructions.py [--python PY ...] [--workload dense|sparse ...] [--pairs N]
                          [--scale S] [--callgrind-scale S] [--modes NAME,...] [--no-callgrind]
                          [--markdown FILE]

The parent runs each measurement in a child of the Python measured (PYTHONPATH must hold the
built pymemtrace package and _pmt_floor, e.g. build/python). Needs valgrind for instr/ev.
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
NEVER = 1 << 62  # a dRSS trigger no event reaches: nothing but START/STOP is written

# name, floor subscription, events ("py", "py+c" or "trace" as masks), trigger, options
MODES = [
    ("hook only", "py", "py", NEVER, {"log_format": "none", "rss_mode": "none"}),
    ("Profile(-1) text", "py", "py", -1, {"log_format": "text"}),
    ("Profile(-1) bin", "py", "py", -1, {"log_format": "binary"}),
    ("Profile(0) bin", "py", "py", 0, {"log_format": "binary"}),
    ("Profile(0) text", "py", "py", 0, {"log_format": "text"}),
    ("Trace(0) bin", "trace", "trace", 0, {"log_format": "binary"}),
    ("hook + C calls", "py+c", "py+c", NEVER, {"log_format": "none", "rss_mode": "none"}),
    # The call aggregation and user sites (calls=1, on in every mode above) against calls=0:
    # their cost per event; and call paths on every written event (calls=2).
    ("hook only calls=0", "py", "py", NEVER,
     {"log_format": "none", "rss_mode": "none", "calls": 0}),
    ("Profile(-1) bin calls=0", "py", "py", -1, {"log_format": "binary", "calls": 0}),
    ("Profile(0) bin calls=0", "py", "py", 0, {"log_format": "binary", "calls": 0}),
    ("Profile(0) bin calls=2", "py", "py", 0, {"log_format": "binary", "calls": 2}),
    # An RSS monitor attached to the tracer (doc/monitor.md): with an hour's interval no sample
    # comes while measuring (the hot path's check alone); at 10 ms the samples are written too
    # (and the monitor thread's own work is in the instructions: callgrind counts every thread).
    ("Profile(-1) bin +monitor idle", "py", "py", -1,
     {"log_format": "binary", "monitor_ns": 3600 * 10**9}),
    ("Profile(-1) bin +monitor 10ms", "py", "py", -1,
     {"log_format": "binary", "monitor_ns": 10**7}),
    # Not the library: the least a call aggregation does (bench/floor/floor.c agg_enter/leave),
    # on the same hook; its gap over the counting floor is the floor of calls=1 over calls=0.
    ("floor: aggregation", "py", "py", NEVER, {"probe": "py-agg"}),
]
MONITORING_SETS = {
    "py": ("PY_START", "PY_RESUME", "PY_THROW", "PY_RETURN", "PY_YIELD", "PY_UNWIND"),
    "py+c": ("PY_START", "PY_RESUME", "PY_THROW", "PY_RETURN", "PY_YIELD", "PY_UNWIND", "CALL",
             "C_RETURN", "C_RAISE"),
    "trace": ("PY_START", "PY_RESUME", "PY_THROW", "PY_RETURN", "PY_YIELD", "PY_UNWIND", "LINE",
              "RAISE"),
}
FLOOR_TOOL_ID = 5


# --- the child: one process of the measured Python ---------------------------------------------

def load_workload(name):
    sys.path.insert(0, HERE)
    return __import__({"dense": "workload", "sparse": "sparse"}[name])


class Floor:
    """The floor probe for a subscription, installed and removed."""

    def __init__(self, subscription):
        import _pmt_floor
        self.floor, self.subscription = _pmt_floor, subscription

    def start(self):
        aggregate = self.subscription == "py-agg"
        if not hasattr(sys, "monitoring") and os.environ.get("PYMEMTRACE_LEGACY_HOOKS") != "sys":
            self.floor.c_hooks(self.subscription != "trace", self.subscription == "trace",
                               aggregate)
        elif hasattr(sys, "monitoring"):
            mon = sys.monitoring
            mon.use_tool_id(FLOOR_TOOL_ID, "pmt-floor")
            bits = 0
            for name in MONITORING_SETS["py" if aggregate else self.subscription]:
                bit = getattr(mon.events, name)
                callback = self.floor.count
                if aggregate:
                    entering = name in ("PY_START", "PY_RESUME", "PY_THROW")
                    callback = self.floor.agg_enter if entering else self.floor.agg_leave
                mon.register_callback(FLOOR_TOOL_ID, bit, callback)
                bits |= bit
            mon.set_events(FLOOR_TOOL_ID, bits)
        elif self.subscription == "trace":
            sys.settrace(self.floor.trace)
        else:
            sys.setprofile(self.floor.count)

    def stop(self):
        if hasattr(sys, "monitoring"):
            sys.monitoring.set_events(FLOOR_TOOL_ID, 0)
            sys.monitoring.free_tool_id(FLOOR_TOOL_ID)
        else:
            sys.settrace(None)  # removes a C-level hook too
            sys.setprofile(None)

    provider = "-"


class Traced:
    """One of MODES through the library."""

    def __init__(self, mode, directory):
        from pymemtrace import _pymemtrace as ev
        _, _, events, trigger, options = mode
        masks = {"py": ev.MASK_CALLS, "py+c": ev.MASK_PROFILE, "trace": ev.MASK_TRACE}
        options = dict(options)
        self.monitor_ns = options.pop("monitor_ns", None)
        self.monitor = None
        if "rss_mode" in options:
            options["rss_mode"] = {"none": ev.RSS_NONE}[options["rss_mode"]]
        self.args = (masks[events], trigger, os.path.join(directory, "trace.log"), None, None)
        self.options, self.ev, self.tracer = options, ev, None

    def start(self):
        self.tracer = self.ev.Tracer(*self.args, **self.options)
        self.tracer.start()
        if self.monitor_ns:
            self.monitor = self.ev.Monitor(self.monitor_ns, None, self.tracer)
            self.monitor.start()

    def stop(self):
        if self.monitor is not None:
            self.monitor.stop()
            self.monitor = None
        self.tracer.stop()

    @property
    def provider(self):
        return self.tracer.rss_provider if self.tracer else "-"


def make(what, directory):
    if what == "untraced":
        return None
    if what.startswith("floor:") and what not in (m[0] for m in MODES):
        return Floor(what[len("floor:"):])
    mode = next(m for m in MODES if m[0] == what)
    if "probe" in mode[4]:
        return Floor(mode[4]["probe"])
    return Traced(mode, directory)


def child_callgrind(what, workload_name, scale):
    """One iteration inside _pmt_floor.run(): callgrind collects there only."""
    import _pmt_floor
    work = load_workload(workload_name)
    work.run(scale)  # warm: imports, caches, specialization
    with tempfile.TemporaryDirectory() as directory:
        probe = make(what, directory)
        if probe:
            probe.start()
        _pmt_floor.reset()
        _pmt_floor.run(lambda: work.run(scale))
        events = _pmt_floor.events()
        if probe:
            probe.stop()
        seen = probe.tracer.events_seen if isinstance(probe, Traced) else None
        print(json.dumps({"floor_events": events, "events_seen": seen,
                          "provider": probe.provider if probe else "-"}))


def child_ratios(names, workload_name, scale, pairs):
    """ABBA pairs of untraced and traced iterations per mode, in this one process."""
    work = load_workload(workload_name)
    work.run(scale)
    results = {}
    with tempfile.TemporaryDirectory() as directory:
        for what in names:
            ratios = []
            provider = "-"

            def traced():
                nonlocal provider
                probe = make(what, directory)
                start = time.perf_counter()
                probe.start()
                work.run(scale)
                probe.stop()
                elapsed = time.perf_counter() - start
                provider = probe.provider
                return elapsed

            def untraced():
                start = time.perf_counter()
                work.run(scale)
                return time.perf_counter() - start

            for i in range(pairs):
                if i % 2 == 0:
                    a, b = untraced(), traced()
                else:
                    b, a = traced(), untraced()
                ratios.append(b / a)
            q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
            results[what] = {"median": statistics.median(ratios), "q1": q[0], "q3": q[2],
                             "provider": provider}
    print(json.dumps(results))


# --- the parent --------------------------------------------------------------------------------

def run_child(python, args, env, valgrind=None):
    command = [python, os.path.abspath(__file__), "--child"] + args
    if valgrind:
        command = valgrind + command
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def callgrind(python, what, workload_name, scale, env):
    with tempfile.TemporaryDirectory() as directory:
        out = os.path.join(directory, "callgrind.out")
        valgrind = ["valgrind", "--tool=callgrind", "--collect-atstart=no",
                    "--toggle-collect=pmt_floor_run", f"--callgrind-out-file={out}"]
        info = run_child(python, ["callgrind", what, workload_name, str(scale)], env, valgrind)
        text = open(out).read()
        m = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
        info["ir"] = int(m.group(1)) if m else 0
    return info


def version_of(python):
    return subprocess.run([python, "-c", "import platform; print(platform.python_version())"],
                          capture_output=True, text=True, check=True).stdout.strip()


def measure(python, workload_name, args, env):
    names = [m[0] for m in MODES if not args.modes or m[0] in args.modes]
    rows = []
    ratios = run_child(python, ["ratios", workload_name, str(args.scale), str(args.pairs)]
                       + names, env)
    cg = {}
    if not args.no_callgrind:
        subscriptions = sorted({m[1] for m in MODES if m[0] in names})
        for what in ["untraced"] + [f"floor:{s}" for s in subscriptions] + names:
            cg[what] = callgrind(python, what, workload_name, args.callgrind_scale, env)
    for name in names:
        mode = next(m for m in MODES if m[0] == name)
        row = {"mode": name, **ratios[name]}
        if cg:
            floor = cg[f"floor:{mode[1]}"]
            events = floor["floor_events"]
            base = cg["untraced"]["ir"]
            row["events"] = events
            row["instr"] = (cg[name]["ir"] - base) / events if events else float("nan")
            row["floor"] = (floor["ir"] - base) / events if events else float("nan")
            row["gap"] = row["instr"] - row["floor"]
            row["cg_provider"] = cg[name]["provider"]
        rows.append(row)
    return rows


def table(version, workload_name, rows):
    lines = [f"### CPython {version}, {workload_name} workload", "",
             "| mode | ratio [q1, q3] | instr/event | floor | gap | hook events | RSS provider |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        instr = (f"{r['instr']:.0f} | {r['floor']:.0f} | {r['gap']:+.0f} | {r['events']}"
                 if "instr" in r else "- | - | - | -")
        lines.append(f"| {r['mode']} | x{r['median']:.2f} [{r['q1']:.2f}, {r['q3']:.2f}] | "
                     f"{instr} | {r['provider']} |")
    return "\n".join(lines) + "\n"


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    parser.add_argument("--python", action="append", help="an interpreter (default: this one)")
    parser.add_argument("--workload", action="append", choices=("dense", "sparse"))
    parser.add_argument("--pairs", type=int, default=9, help="ABBA pairs per mode (default 9)")
    parser.add_argument("--scale", type=float, default=8.0,
                        help="workload size of a timed iteration (default 8: ~0.2 s)")
    parser.add_argument("--callgrind-scale", type=float, default=1.0,
                        help="workload size of the callgrind iteration (default 1)")
    parser.add_argument("--modes", type=lambda s: s.split(","), help="only these modes")
    parser.add_argument("--no-callgrind", action="store_true", help="ratios only")
    parser.add_argument("--markdown", help="also write the tables to this file")
    args = parser.parse_args(argv)
    if args.child:
        kind, rest = args.child[0], args.child[1:]
        if kind == "callgrind":
            child_callgrind(rest[0], rest[1], float(rest[2]))
        else:
            child_ratios(rest[3:], rest[0], float(rest[1]), int(rest[2]))
        return 0
    env = dict(os.environ, PYTHONHASHSEED="0")
    out = []
    for python in args.python or [sys.executable]:
        version = version_of(python)
        for workload_name in args.workload or ["dense", "sparse"]:
            text = table(version, workload_name, measure(python, workload_name, args, env))
            print(text, flush=True)
            out.append(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
