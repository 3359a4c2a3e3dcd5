"""The cost of an attached probe consumer: bench/workload.py (dense: ~6 M Python events/s
untraced) under Profile(-1, log_format="none") - a tracer whose events go to the probes only -
with nobody listening and with bpftrace running toolkit/pymemtrace_events.bt (it counts every
event by kind and by function), alternated ABBA; medians of the traced iteration's wall time.

    bench/probes_attached.py [--python PY] [--pairs N] [--scale S]

Needs root and bpftrace. PYTHONPATH must hold the built pymemtrace package (build/python).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "toolkit", "pymemtrace_events.bt")

CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import pymemtrace, workload
wait, scale = sys.argv[2] == "1", float(sys.argv[3])
print("ready", flush=True)
deadline = time.monotonic() + 60
while wait and not all(pymemtrace.probe_listeners(n) for n in ("event", "tracer_stop")):
    if time.monotonic() > deadline:
        sys.exit("no consumer")
    time.sleep(0.01)
workload.run(0.2)  # warm up
start = time.perf_counter()
with pymemtrace.Profile(-1, log_format="none") as p:
    workload.run(scale)
elapsed = time.perf_counter() - start
print(json.dumps({"seconds": elapsed, "events": p.events_seen}), flush=True)
"""


def one(python, attached, scale):
    child = subprocess.Popen([python, "-c", CHILD, HERE, "1" if attached else "0", str(scale)],
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline() == "ready\n"
    tracer = None
    if attached:
        tracer = subprocess.Popen(["bpftrace", "-p", str(child.pid), SCRIPT],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    result = json.loads(child.stdout.readline())
    child.wait()
    if tracer:
        counted = tracer.communicate(timeout=120)[0]
        line = [l for l in counted.splitlines() if l.startswith("@events[all]")]
        result["counted"] = int(line[0].split()[-1]) if line else 0
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    quiet, heard, counted, events = [], [], [], 0
    for i in range(args.pairs):
        order = (False, True) if i % 2 == 0 else (True, False)
        for attached in order + order[::-1]:
            r = one(args.python, attached, args.scale)
            (heard if attached else quiet).append(r["seconds"])
            events = r["events"]
            if attached:
                counted.append(r["counted"])
    q, h = statistics.median(quiet), statistics.median(heard)
    version = subprocess.run(
        [args.python, "-c", "import platform; print(platform.python_version())"],
        capture_output=True, text=True).stdout.strip()
    print(f"CPython {version}: {events} events per run; nobody listening {q:.3f} s, bpftrace "
          f"counting every event {h:.3f} s: x{h / q:.2f}, +{(h - q) / events * 1e9:.0f} ns per "
          f"event; bpftrace counted {min(counted)}-{max(counted)} events")


if __name__ == "__main__":
    main()
