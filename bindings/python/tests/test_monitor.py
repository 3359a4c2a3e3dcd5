"""The RSS monitor from Python: samples at its interval from a C thread, RSS that follows an
allocation, marks as labels between samples, a stop that does not wait for the next tick, the
JSON lines read back, run --monitor beside a tracer, bad input."""
import json
import mmap
import os
import threading
import time

import pymemtrace
from pymemtrace import monitor
from logparse import TempDirTestCase, run_cli


class MonitorTest(TempDirTestCase):
    def test_samples_labels_and_growth(self):
        path = self.path("m.jsonl")
        with pymemtrace.Monitor(interval=0.01, filepath=path) as m:
            time.sleep(0.1)
            pages = mmap.mmap(-1, 64 << 20)
            for offset in range(0, 64 << 20, mmap.PAGESIZE):
                pages[offset] = 1  # 64 MiB resident
            self.assertGreaterEqual(pymemtrace.mark("grown"), 1)  # the monitor took it
            threading.Thread(target=m.label, args=("from a thread",)).start()
            time.sleep(0.1)
        samples = monitor.read(path)
        self.assertEqual(len(samples), m.samples)
        self.assertGreaterEqual(len(samples), 8)  # ~20 at 10 ms, however busy the machine
        self.assertEqual([s["seq"] for s in samples], list(range(len(samples))))
        times = [s["elapsed_time"] for s in samples]
        self.assertEqual(times, sorted(times))
        labels = [s["label"] for s in samples if s["label"]]
        self.assertEqual(sorted(labels), ["from a thread", "grown"])
        grown = next(s for s in samples if s["label"] == "grown")
        self.assertGreaterEqual(grown["memory_info"]["rss"] - samples[0]["memory_info"]["rss"],
                                48 << 20)
        first = samples[0]
        self.assertEqual(first["pid"], os.getpid())
        for key in ("rss", "peak_rss", "anon", "file", "shmem"):
            self.assertIn(key, first["memory_info"])
        self.assertGreaterEqual(first["memory_info"]["peak_rss"], first["memory_info"]["rss"])
        self.assertIn("minor", first["faults"])
        self.assertIn("user", first["cpu_times"])
        self.assertIn("max", first["cgroup"])
        del pages

    def test_stop_is_at_once(self):
        # With a minute's interval the thread sleeps until its next tick: exiting wakes it (this
        # test would take a minute otherwise).
        started = time.monotonic()
        with pymemtrace.Monitor(interval=60, filepath=self.path("slow.jsonl")) as m:
            time.sleep(0.05)
        self.assertLess(time.monotonic() - started, 30)
        self.assertEqual(m.samples, 2)  # the first, and the last at the stop

    def test_a_cut_last_line_is_left_out(self):
        path = self.path("cut.jsonl")
        with pymemtrace.Monitor(interval=0.01, filepath=path):
            time.sleep(0.05)
        with open(path, "a") as f:
            f.write('{"seq": 99, "cut')
        samples = monitor.read(path)
        self.assertNotIn(99, [s["seq"] for s in samples])

    def test_bad_input(self):
        with self.assertRaises(ValueError):
            pymemtrace.Monitor(interval=0.0001)
        with self.assertRaises(TypeError):
            pymemtrace.Monitor(interval="fast")
        path = self.path("exists.jsonl")
        open(path, "w").close()
        with self.assertRaises(OSError):
            with pymemtrace.Monitor(filepath=path):
                pass
        m = pymemtrace.Monitor(filepath=self.path("x.jsonl"))
        with self.assertRaises(RuntimeError):
            m.label("not entered")

    def test_run_monitor(self):
        log = self.path("run.log")
        done = run_cli("run", "--monitor=0.01", "--top", "0", "-o", log, "-c",
                       "import time, pymemtrace\ntime.sleep(0.05)\npymemtrace.mark('half')\n"
                       "time.sleep(0.05)", cwd=self.tmp)
        self.assertEqual(done.returncode, 0, done.stderr)
        samples = monitor.read(self.path("run.monitor.jsonl"))
        self.assertGreaterEqual(len(samples), 4)
        self.assertIn("half", [s["label"] for s in samples])
        self.assertIn("RSS samples written to", done.stderr)
        bare = run_cli("run", "--monitor", "--top", "0", "-o", self.path("bare.log"), "-c",
                       "pass", cwd=self.tmp)  # a bare --monitor takes 0.1 s, not the code
        self.assertEqual(bare.returncode, 0, bare.stderr)
        self.assertTrue(os.path.exists(self.path("bare.monitor.jsonl")))
        with open(self.path("bare.monitor.jsonl")) as f:
            self.assertTrue(all(json.loads(line) for line in f))
