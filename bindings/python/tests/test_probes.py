"""The library's USDT probes: probes_available() tells the truth about the module's ELF notes,
probe_listeners() reads the semaphores, a tracer with log_format="none" feeds the probes only;
and the toolkit's bpftrace scripts, run for real against probe_workload.py, print the counts,
histograms and sums that workload makes (skipped, with bpftrace's own words, where bpftrace is
missing or the kernel or the user may not attach uprobes)."""
import json
import os
import re
import shutil
import subprocess
import sys
import unittest

import pymemtrace
from pymemtrace import _pymemtrace
from logparse import SANITIZED, TempDirTestCase, child_env

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLKIT = os.path.normpath(os.path.join(HERE, "..", "..", "..", "toolkit"))
WORKLOAD = os.path.join(HERE, "probe_workload.py")
MODULE = _pymemtrace.__file__


def module_has_probes():
    """Whether the module carries pymemtrace's stapsdt notes, read with readelf."""
    notes = subprocess.run(["readelf", "-n", MODULE], capture_output=True, text=True).stdout
    return "Provider: pymemtrace" in notes


class ProbeApiTest(TempDirTestCase):
    def test_available_matches_the_module(self):
        if shutil.which("readelf") is None:
            self.skipTest("readelf is not installed")
        self.assertEqual(pymemtrace.probes_available(), module_has_probes())

    def test_nobody_listens(self):
        if not pymemtrace.probes_available():
            with self.assertRaises(RuntimeError):
                pymemtrace.probe_listeners("event")
            return
        for name in ("event", "rss_change", "alloc", "free", "realloc", "gc_start", "gc_done",
                     "mark", "tracer_start", "tracer_stop", "object_new", "object_free"):
            self.assertEqual(pymemtrace.probe_listeners(name), 0, name)

    def test_bad_names(self):
        if not pymemtrace.probes_available():
            self.skipTest("this build has no probes")
        with self.assertRaises(ValueError):
            pymemtrace.probe_listeners("nope")
        with self.assertRaises(TypeError):
            pymemtrace.probe_listeners(3)

    def test_a_tracer_without_a_log(self):
        def f():
            return [0] * 10

        before = set(os.listdir(self.tmp))
        cwd = os.getcwd()
        os.chdir(self.tmp)
        try:
            with pymemtrace.Profile(0, log_format="none") as p:
                for _ in range(5):
                    f()
        finally:
            os.chdir(cwd)
        self.assertIsNone(p.log_path)
        self.assertGreaterEqual(p.events_seen, 10)
        self.assertEqual(set(os.listdir(self.tmp)), before)  # no file made
        with self.assertRaises(ValueError):
            pymemtrace.Profile(log_format="none", filepath=self.path("x.log"))

    def test_a_tracer_without_a_log_still_feeds_a_sink(self):
        events = []
        with pymemtrace.Profile(0, log_format="none", sink=events.append):
            len([1])
        self.assertEqual(events[0].kind, "START")
        self.assertEqual(events[-1].kind, "STOP")


def bpftrace_refusal():
    """None when bpftrace can run here, else why not (its own words)."""
    if SANITIZED:
        return "not under the sanitizers (the probes are the same code; bpftrace is slow there)"
    if shutil.which("bpftrace") is None:
        return "bpftrace is not installed (Debian: apt-get install bpftrace)"
    if os.geteuid() != 0:
        return "bpftrace needs root to load BPF programs and attach uprobes"
    if not pymemtrace.probes_available():
        return "this build of the library has no USDT probes (no sys/sdt.h at build time)"
    done = subprocess.run(["bpftrace", "-e", "BEGIN { exit(); }"], capture_output=True,
                          text=True, timeout=120)
    if done.returncode != 0:
        return f"the kernel refused bpftrace: {done.stderr.strip()[-300:]}"
    return None


REFUSAL = bpftrace_refusal()


def maps(text):
    """The `@name[keys]: value` lines bpftrace printed: {(name, keys): int}."""
    found = {}
    for name, keys, value in re.findall(r"^@(\w+)(?:\[(.*)\])?: (-?\d+)$", text, re.M):
        found[(name, keys)] = int(value)
    return found


def histograms(text):
    """The histograms bpftrace printed: {(name, keys): {bucket: count}}."""
    found, current = {}, None
    for line in text.splitlines():
        header = re.match(r"^@(\w+)(?:\[(.*)\])?: $", line)
        if header:
            current = found.setdefault((header.group(1), header.group(2)), {})
            continue
        bucket = re.match(r"^(\[[^)\]]*[)\]])\s+(\d+) \|", line)
        if bucket and current is not None:
            current[bucket.group(1)] = int(bucket.group(2))
        elif not line.strip():
            current = None
    return found


@unittest.skipIf(REFUSAL, REFUSAL or "")
class ToolkitTest(unittest.TestCase):
    maxDiff = None

    def run_script(self, script, probes, command=None):
        """Runs the workload (or command) and bpftrace with the toolkit's script attached to
        it: (bpftrace's stdout, the workload's JSON or stdout)."""
        command = command or [sys.executable, WORKLOAD, ",".join(probes)]
        program = subprocess.Popen(command, env=child_env(), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        try:
            # bpftrace finds usdt::pymemtrace probes only in libraries already loaded.
            if command[1] == WORKLOAD:
                self.assertEqual(program.stdout.readline(), "ready\n")
            else:
                self.assertIn("attach to process", program.stderr.readline())
            tracer = subprocess.run(["bpftrace", "-p", str(program.pid),
                                     os.path.join(TOOLKIT, script)],
                                    capture_output=True, text=True, timeout=180)
            if tracer.returncode != 0:
                program.kill()
            out, err = program.communicate(timeout=120)
        finally:
            if program.poll() is None:
                program.kill()
                program.wait()
        self.assertEqual(tracer.returncode, 0, f"bpftrace {script}:\n{tracer.stderr}")
        self.assertEqual(program.returncode, 0, err)
        return tracer.stdout, out

    def key_with(self, found, name, *parts):
        """The one entry of map name whose keys contain every part."""
        hits = [k for k in found if k[0] == name and all(p in (k[1] or "") for p in parts)]
        self.assertEqual(len(hits), 1, f"@{name} with {parts}: {sorted(found)}")
        return hits[0]

    def test_flow(self):
        text, _ = self.run_script("pymemtrace_flow.bt", ["alloc", "free", "tracer_stop"])
        # (a long path is cut at bpftrace's string length: the file is not matched)
        made = re.findall(r":(\d+) -> make_raw RAW malloc\(1000\) pntr 0x[0-9a-f]+$", text, re.M)
        self.assertEqual(len(made), 8, text)
        freed = re.findall(r":\d+ -> main RAW free\(0x[0-9a-f]+\)$", text, re.M)
        self.assertEqual(len(freed), 4, text)
        hist = histograms(text)
        self.assertEqual(hist[("by_allocator", "RAW")], {"[512, 1K)": 8})
        self.assertEqual(hist[self.key_with(hist, "by_function", "make_raw")], {"[512, 1K)": 8})
        found = maps(text)
        self.assertEqual(found[self.key_with(found, "bytes_by_function", "make_raw")], 8000)

    def test_quantize(self):
        text, _ = self.run_script("pymemtrace_quantize.bt", ["alloc", "tracer_stop"])
        found, hist = maps(text), histograms(text)
        self.assertEqual(found[self.key_with(found, "count_by_function", "make_raw")], 8)
        self.assertEqual(found[self.key_with(found, "bytes_by_function", "make_raw")], 8000)
        self.assertEqual(hist[self.key_with(hist, "size_by_function", "make_raw")],
                         {"[512, 1K)": 8})

    def test_gc(self):
        text, _ = self.run_script("pymemtrace_gc.bt", ["gc_start", "gc_done", "tracer_stop"])
        found, hist = maps(text), histograms(text)
        self.assertEqual(found[("collections", "2")], 3, text)  # gc.disable(): only ours
        self.assertGreaterEqual(found[("collected", "2")], 500)  # the cycles, in the first
        self.assertEqual(found[("uncollectable", "2")], 0)
        self.assertEqual(sum(hist[("duration_us", "2")].values()), 3)
        self.assertIn(("rss_returned", "2"), found)

    def test_rss_growth(self):
        text, _ = self.run_script("pymemtrace_rss_growth.bt", ["rss_change", "tracer_stop"])
        found = maps(text)
        grown = [v for (name, keys), v in found.items() if name == "grew" and ", grow" in keys]
        self.assertGreaterEqual(sum(grown), 6 << 20, text)  # 8 MiB written in grow()
        self.assertGreaterEqual(found[("total", "growth")], 6 << 20)

    @unittest.skipIf(sys.version_info < (3, 13), "objects are counted from CPython 3.13 on")
    def test_objects(self):
        text, _ = self.run_script("pymemtrace_objects.bt",
                                  ["object_new", "object_free", "tracer_stop"])
        found = maps(text)
        self.assertEqual(found[("made", "Cycle")], 500, text)
        self.assertEqual(found[("freed", "Cycle")], 500)  # by the collections
        self.assertEqual(found[("net", "Cycle")], 0)
        self.assertEqual(found[self.key_with(found, "made_at", "Cycle, ", "make_cycles")], 500)

    def test_leaks(self):
        text, _ = self.run_script("pymemtrace_leaks.bt", ["alloc", "free", "tracer_stop"])
        found = maps(text)
        self.assertEqual(found[self.key_with(found, "leak_bytes", "make_raw")], 4000, text)
        self.assertEqual(found[self.key_with(found, "leak_blocks", "make_raw")], 4)

    def test_events(self):
        text, out = self.run_script("pymemtrace_events.bt", ["event", "mark", "tracer_stop"])
        seen = json.loads(out)["events_seen"]
        self.assertIn(f"tracer stopped: {seen} events seen", text)
        self.assertIn("mark: workload done (RSS ", text)
        found = maps(text)
        self.assertEqual(found[("events_by_kind", "13")], 3)  # GC_START
        self.assertEqual(found[("events_by_kind", "14")], 3)  # GC_DONE
        self.assertEqual(found[("events_by_kind", "8")], 1)  # START
        self.assertGreaterEqual(found[("events_by_function", "make_raw")], 4)
        # Every event but the 12 allocations (their own probes): 8 of make_raw, 4 freed.
        self.assertEqual(found[("events", "all")], seen - 12)

    def test_run_probes_only(self):
        code = ("import pymemtrace\n"
                "def f():\n    return [0] * 100\n"
                "for _ in range(50):\n    f()\n"
                "pymemtrace.mark('from the command line')\n")
        command = [sys.executable, "-m", "pymemtrace", "run", "--probes-only", "--probe-wait",
                   "60", "--top", "0", "-c", code]
        text, _ = self.run_script("pymemtrace_events.bt", [], command=command)
        self.assertIn("mark: from the command line (RSS ", text)
        found = maps(text)
        self.assertEqual(found[("events_by_function", "f")], 100)  # 50 calls, 50 returns


if __name__ == "__main__":
    unittest.main()
