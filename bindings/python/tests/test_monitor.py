"""The RSS monitor from Python: samples at its interval from a C thread, RSS that follows an
allocation, marks as labels between samples, a stop that does not wait for the next tick, the
JSON lines read back; samples as SAMPLE events in a tracer's binary and text logs
(Profile(monitor=...), Monitor(profile=...)), run --monitor, in every process of
run --follow-children --monitor (forked and started children); bad input."""
import json
import mmap
import os
import re
import sys
import threading
import time

import pymemtrace
from pymemtrace import monitor
from logparse import TempDirTestCase, run_cli


# Three processes: this one, a forked child and a started Python; each grows by 32 MiB and marks
# it, with its own monitor (run --follow-children --monitor) writing into its own log.
TREE_SCRIPT = """
import json, mmap, os, subprocess, sys, time
import pymemtrace

def grow(role):
    time.sleep(0.02)
    pages = mmap.mmap(-1, 32 << 20)
    for offset in range(0, 32 << 20, mmap.PAGESIZE):
        pages[offset] = 1
    pymemtrace.mark(role + " grew")
    time.sleep(0.03)
    return pages

if len(sys.argv) > 1:
    pages = grow("started")
    print(os.getpid())
    sys.exit(0)
child = os.fork()
if child == 0:
    pages = grow("forked")
    sys.exit(0)  # unwinds through run's Profile: the child's log is finished
started = subprocess.run([sys.executable, __file__, "child"], capture_output=True, text=True,
                         check=True)
os.waitpid(child, 0)
pages = grow("parent")
print(json.dumps({"parent": os.getpid(), "forked": child, "started": int(started.stdout)}))
"""


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
        with self.assertRaises(TypeError):
            pymemtrace.Profile(monitor="often")
        with self.assertRaises(ValueError):
            pymemtrace.Profile(monitor=0)
        with self.assertRaises(TypeError):
            pymemtrace.Monitor(profile=object())
        p = pymemtrace.Profile(filepath=self.path("never.log"))
        with self.assertRaises(RuntimeError):  # not entered
            with pymemtrace.Monitor(profile=p):
                pass
        with p:  # a tracer takes one monitor's samples
            with pymemtrace.Monitor(interval=0.01, profile=p):
                with self.assertRaises(RuntimeError):
                    with pymemtrace.Monitor(interval=0.01, profile=p):
                        pass

    def check_samples_in_log(self, path, wrapper, label="grown", grown=48 << 20):
        """The log's SAMPLE events: as many as the wrapper wrote, numbered 0.., in time order
        with the events, the label on one, growth seen, and the events' dRSS left alone."""
        with pymemtrace.open_log(path) as log:
            events = list(log)
        samples = [e for e in events if e.kind == "SAMPLE"]
        self.assertEqual(len(samples), wrapper.samples_written)
        self.assertEqual(wrapper.samples_lost, 0)
        self.assertGreaterEqual(len(samples), 5)
        self.assertTrue(all(e.reason == "SMPL" and e.function == "<monitor>" for e in samples))
        times = [e.time_ns for e in events]
        self.assertEqual(times, sorted(times))  # one stream
        self.assertIn(label, [e.message for e in samples])
        rss = [e.rss for e in samples]
        self.assertGreaterEqual(max(rss) - rss[0], grown)
        self.assertTrue(all(isinstance(e.sample, pymemtrace.Sample) for e in samples))
        self.assertTrue(all(e.sample.rss == e.rss and e.sample.label == e.message
                            for e in samples))
        self.assertTrue(all(e.sample.peak_rss >= e.rss and e.sample.minor_faults > 0
                            for e in samples))
        self.assertTrue(all(e.sample is None for e in events if e.kind != "SAMPLE"))
        last = 0
        for e in events:  # samples are beside the events: each event's dRSS skips them
            if e.kind == "SAMPLE":
                continue
            if last is not None and e.rss is not None:
                self.assertEqual(e.d_rss, e.rss - last, e)
            last = e.rss  # None after a text log's mark: it keeps no RSS
        return samples

    def grow(self, megabytes=64):
        pages = mmap.mmap(-1, megabytes << 20)
        for offset in range(0, megabytes << 20, mmap.PAGESIZE):
            pages[offset] = 1
        return pages

    def test_samples_in_a_binary_log(self):
        path = self.path("run.pmt")
        with pymemtrace.Profile(filepath=path, log_format="binary", monitor=0.005) as p:
            time.sleep(0.05)  # no event meanwhile: the samples wait for the next one
            pages = self.grow()
            pymemtrace.mark("grown")  # a MSG row, and a sample with the label
            time.sleep(0.05)
        samples = self.check_samples_in_log(path, p)
        self.assertEqual([e.sample.seq for e in samples], list(range(len(samples))))
        taken = [e.sample.time_ns for e in samples]
        self.assertEqual(taken, sorted(taken))
        # Taken while the program slept in C (no event): their own times, spread over the sleep.
        self.assertGreater(taken[5] - taken[0], 10_000_000)
        self.assertTrue(all(e.sample.realtime_ns > 1.7e18 for e in samples))
        self.assertTrue(all(e.thread_id != threading.get_native_id() for e in samples))
        del pages

    def test_samples_in_a_text_log(self):
        path = self.path("run.log")
        with pymemtrace.Profile(filepath=path, monitor=0.005) as p:
            time.sleep(0.03)
            pages = self.grow()
            pymemtrace.mark("grown")
            time.sleep(0.03)
        with open(path, encoding="utf-8") as f:
            rows = [line for line in f if line.startswith("SMPL: ")]
        self.assertEqual(len(rows), p.samples_written)
        self.assertRegex(rows[0], r" SAMPLE .* <monitor> +\d+ +-?\d+ @ taken \d+\.\d{6} "
                                  r"peak \d+ minflt \d+ "
                                  r"majflt \d+ user_ns \d+ system_ns \d+ anon \d+ file \d+ "
                                  r"shmem \d+ cgroup \d+ max (\d+|none)$")
        samples = self.check_samples_in_log(path, p)
        self.assertTrue(all(e.sample.peak_rss > 0 for e in samples))
        taken = [e.sample.time_ns for e in samples]  # the text keeps when each was taken
        self.assertEqual(taken, sorted(taken))
        self.assertGreater(taken[3] - taken[0], 5_000_000)  # spread over the sleep
        del pages

    def test_a_monitor_given_a_profile(self):
        path, jsonl = self.path("beside.pmt"), self.path("beside.jsonl")
        with pymemtrace.Profile(filepath=path, log_format="binary") as p:
            with pymemtrace.Monitor(interval=0.005, profile=p) as m:
                time.sleep(0.03)
                pages = self.grow()
                pymemtrace.mark("grown")
                time.sleep(0.03)
            self.assertIsNone(m.log_path)  # no file unless one is named
            with pymemtrace.Monitor(interval=0.005, profile=p, filepath=jsonl) as both:
                time.sleep(0.02)
        samples = self.check_samples_in_log(path, p)
        self.assertEqual(len(samples), m.samples + both.samples)
        self.assertEqual(len(monitor.read(jsonl)), both.samples)
        del pages

    def test_samples_reach_a_callable_sink(self):
        events = []
        with pymemtrace.Profile(log_format="none", sink=events.append, monitor=0.002) as p:
            time.sleep(0.02)
            pymemtrace.mark("now")
            time.sleep(0.01)
        samples = [e for e in events if e.kind == "SAMPLE"]
        self.assertEqual(len(samples), p.samples_written)
        self.assertGreaterEqual(len(samples), 3)
        self.assertEqual([e.sample.seq for e in samples], list(range(len(samples))))
        self.assertTrue(all(e.sample.rss == e.rss > 0 for e in samples))
        self.assertIn("now", [e.sample.label for e in samples])
        self.assertEqual(events[-1].kind, "STOP")

    def test_samples_beside_allocations(self):
        # An Allocations tracer follows calls without writing them: the samples still come at
        # its events, not only at its stop.
        path = self.path("alloc.pmt")
        with pymemtrace.Allocations(filepath=path, monitor=0.002) as a:
            for _ in range(40):
                time.sleep(0.002)
                len([bytearray(100) for _ in range(10)])
            stops_before = a._tracer.samples_written
        self.assertGreater(stops_before, 5)
        self.assertEqual(a.samples_lost, 0)
        with pymemtrace.open_log(path) as log:
            kinds = [e.kind for e in log]
        self.assertEqual(kinds.count("SAMPLE"), a.samples_written)
        self.assertIn("ALLOC", kinds)

    def test_run_monitor(self):
        log = self.path("run.log")
        done = run_cli("run", "--monitor=0.01", "--monitor-jsonl", "--top", "0", "-o", log, "-c",
                       "import time, pymemtrace\ntime.sleep(0.05)\npymemtrace.mark('half')\n"
                       "time.sleep(0.05)", cwd=self.tmp)
        self.assertEqual(done.returncode, 0, done.stderr)
        samples = monitor.read(self.path("run.monitor.jsonl"))
        self.assertGreaterEqual(len(samples), 4)
        self.assertIn("half", [s["label"] for s in samples])
        self.assertIn("RSS samples written to", done.stderr)
        in_log = re.search(r"written to \S+ \(with (\d+) RSS samples\)", done.stderr)
        self.assertIsNotNone(in_log, done.stderr)
        with pymemtrace.open_log(log) as events:
            logged = [e for e in events if e.kind == "SAMPLE"]
        self.assertEqual(len(logged), int(in_log.group(1)))
        self.assertGreaterEqual(len(logged), 4)
        self.assertIn("half", [e.message for e in logged])
        bare = run_cli("run", "--monitor", "--top", "0", "-o", self.path("bare.log"), "-c",
                       "pass", cwd=self.tmp)  # a bare --monitor takes 0.1 s, not the code
        self.assertEqual(bare.returncode, 0, bare.stderr)
        self.assertFalse(os.path.exists(self.path("bare.monitor.jsonl")))  # the log has them
        with pymemtrace.open_log(self.path("bare.log")) as events:
            self.assertGreaterEqual(len([e for e in events if e.kind == "SAMPLE"]), 1)

    def test_run_the_monitor_alone(self):
        out = self.path("alone.jsonl")
        done = run_cli("run", "--monitor=0.01", "--no-trace", "-o", out, "-c",
                       "import sys, time, pymemtrace\ntime.sleep(0.05)\n"
                       "pymemtrace.mark('half')\ntime.sleep(0.05)\nsys.exit(3)", cwd=self.tmp)
        self.assertEqual(done.returncode, 3, done.stderr)  # the program's own status
        samples = monitor.read(out)
        self.assertGreaterEqual(len(samples), 4)
        self.assertIn("half", [s["label"] for s in samples])
        self.assertIn(f"RSS samples written to {out}", done.stderr)
        self.assertEqual([n for n in os.listdir(self.tmp) if n != "alone.jsonl"], [])  # no log
        refused = run_cli("run", "--no-trace", "-c", "pass", cwd=self.tmp)
        self.assertEqual(refused.returncode, 2)
        self.assertIn("give --monitor", refused.stderr)
        refused = run_cli("run", "--monitor", "--no-trace", "--binary", "--gc", "-c", "pass",
                          cwd=self.tmp)
        self.assertEqual(refused.returncode, 2)
        self.assertIn("drop --binary, --gc", refused.stderr)

    def test_every_process_of_the_tree_samples_itself(self):
        script = self.path("tree.py")
        with open(script, "w", encoding="utf-8") as f:
            f.write(TREE_SCRIPT)
        log = self.path("tree.pmt")
        done = run_cli("run", "--binary", "--follow-children", "--monitor=0.005", "--top", "0",
                       "-o", log, script, cwd=self.tmp)
        self.assertEqual(done.returncode, 0, done.stderr)
        pids = json.loads(done.stdout.decode().strip().splitlines()[-1])
        names = sorted(n for n in os.listdir(self.tmp) if n.endswith(".pmt"))
        by_pid = {}
        for name in names:
            match = re.fullmatch(r"tree(?:\.pid(\d+))?\.pmt", name)
            self.assertIsNotNone(match, names)
            by_pid[int(match.group(1)) if match.group(1) else pids["parent"]] = name
        for role in ("parent", "forked", "started"):
            pid = pids[role]
            self.assertIn(pid, by_pid, (role, names))
            with pymemtrace.open_log(self.path(by_pid[pid])) as events:
                events = list(events)
            samples = [e for e in events if e.kind == "SAMPLE"]
            # Each process's own monitor: at least the first and the last sample, its own RSS.
            self.assertGreaterEqual(len(samples), 2, (role, names))
            self.assertEqual(samples[0].sample.seq, 0, role)
            self.assertIn(f"{role} grew", [e.message for e in samples], role)
            grown = [e for e in samples if e.message == f"{role} grew"][0]
            self.assertGreaterEqual(grown.rss - samples[0].rss, 24 << 20, role)
