"""Garbage collections as events (gc=True): GC_START and GC_DONE from gc.callbacks on every
CPython, in the binary log, the text log and a callable sink, with the generation, the objects
collected and the duration; stats sums them; the tracer's callback leaves gc.callbacks at exit."""
import gc
import json
import os
import subprocess
import sys
import unittest

import pymemtrace
from logparse import TempDirTestCase


class Cycle:
    def __init__(self):
        self.me = self


def make_cycles(n=2000):
    for _ in range(n):
        Cycle()


class GcEventsTest(TempDirTestCase):
    def trace(self, log_format, **options):
        events = []
        path = self.path("g.pmt" if log_format == "binary" else "g.log")
        before = list(gc.callbacks)
        with pymemtrace.Profile(log_format=log_format, filepath=path, sink=events.append,
                                gc=True, **options) as p:
            self.assertEqual(len(gc.callbacks), len(before) + 1)
            gc.disable()  # so that the collection below finds every cycle made
            try:
                make_cycles()
            finally:
                gc.enable()
            gc.collect()
        self.assertEqual(gc.callbacks, before)  # ours is gone, the others are left alone
        with pymemtrace.open_log(p.log_path) as log:
            logged = [e for e in log if e.kind in ("GC_START", "GC_DONE")]
        return events, logged, p.log_path

    def check(self, events):
        done = [e for e in events if e.kind == "GC_DONE" and e.gc_generation == 2]
        self.assertTrue(done, [e.kind for e in events])
        last = done[-1]
        self.assertGreaterEqual(last.gc_collected, 2000)  # the cycles made just before
        self.assertGreater(last.gc_duration_ns, 0)
        self.assertEqual(last.reason, "GC")
        starts = [e for e in events if e.kind == "GC_START"]
        self.assertEqual(len(starts), len([e for e in events if e.kind == "GC_DONE"]))
        self.assertEqual(starts[-1].gc_generation, 2)

    def test_binary_log_and_sink(self):
        events, logged, path = self.trace("binary")
        self.check([e for e in events if e.kind.startswith("GC")])
        self.check(logged)
        stats = subprocess.run([sys.executable, "-m", "pymemtrace", "stats", path],
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(stats.returncode, 0, stats.stderr)
        self.assertRegex(stats.stdout, r"collections \d+ \(.*generation 2: \d+.*\), [0-9.]+ ms")

    def test_text_log(self):
        _, logged, path = self.trace("text")
        self.check(logged)
        with open(path) as f:
            rows = [line for line in f if line.startswith("GC:")]
        self.assertTrue(any(" @ gen 2 collected " in row for row in rows), rows[-3:])

    def test_not_asked_not_written(self):
        events = []
        with pymemtrace.Profile(log_format="binary", filepath=self.path("n.pmt"),
                                sink=events.append):
            make_cycles(100)
            gc.collect()
        self.assertFalse([e for e in events if e.kind.startswith("GC")])

    def test_calls_traced_when_gc_was_never_imported(self):
        # Finding gc.callbacks imports gc when nothing did (`python -m pymemtrace run --gc`):
        # that import must not run under hooks that are not running yet, which lost every call.
        code = ("import sys\n"
                "assert 'gc' not in sys.modules, 'the test needs gc not imported'\n"
                "import pymemtrace\n"
                "def f(): return 1\n"
                "with pymemtrace.Profile(0, filepath=sys.argv[1], log_format='binary', gc=True) as p:\n"
                "    f(); f()\n"
                "with pymemtrace.open_log(p.log_path) as log:\n"
                "    print(sum(e.kind == 'CALL' and e.function == 'f' for e in log))\n")
        result = subprocess.run([sys.executable, "-c", code, self.path("i.pmt")],
                                capture_output=True, text=True, timeout=60)
        if "the test needs gc not imported" in result.stderr:
            self.skipTest("this interpreter imports gc at start-up")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.strip(), "2")

    def test_bad_argument(self):
        with self.assertRaises(TypeError):
            pymemtrace.Profile(gc="yes")


if __name__ == "__main__":
    unittest.main()
