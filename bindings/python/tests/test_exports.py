"""Exports to the tools people already use, each read back with that format's own parser where
Debian has one: Chrome trace event JSON (json: balanced slices, the RSS counter, marks),
speedscope (its file format, weights that sum to the own growth), SQLite (stdlib sqlite3 and the
sqlite3 command: runs and events of several logs, the same sums as the events)."""
import json
import mmap
import os
import shutil
import sqlite3
import subprocess
import unittest
from collections import defaultdict

import pymemtrace
from logparse import TempDirTestCase, run_cli


def grow(n):
    """n pages RSS surely grows by, whatever earlier tests freed: a fresh anonymous mapping,
    each page written."""
    pages = mmap.mmap(-1, n * mmap.PAGESIZE)
    for offset in range(0, n * mmap.PAGESIZE, mmap.PAGESIZE):
        pages[offset] = 1
    return pages


def work():
    keep = [grow(300) for _ in range(4)]
    pymemtrace.mark("grown")
    return keep


class ExportsTest(TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.log = self.path("run.pmt")
        with pymemtrace.Profile(0, filepath=self.log, log_format="binary", gc=True,
                                monitor=0.002):
            kept = work()
        self.assertTrue(kept)
        with pymemtrace.open_log(self.log) as log:
            self.events = list(log)
            self.rows = log.call_stats()

    def cli(self, *args):
        done = run_cli(*args, cwd=self.tmp)
        self.assertEqual(done.returncode, 0, done.stderr)
        return done.stdout.decode()

    def test_chrome_trace(self):
        self.cli("chrome", self.log, "-o", self.path("trace.json"))
        with open(self.path("trace.json")) as f:
            trace = json.load(f)
        events = trace["traceEvents"]
        depth = defaultdict(int)
        for e in events:
            if e["ph"] == "B":
                depth[e["tid"]] += 1
            elif e["ph"] == "E":
                depth[e["tid"]] -= 1
                self.assertGreaterEqual(depth[e["tid"]], 0)
        self.assertEqual(set(depth.values()), {0})  # every slice ends
        counters = [e["args"]["bytes"] for e in events if e["ph"] == "C" and e["name"] == "RSS"]
        self.assertEqual(sorted(counters), sorted(e.rss for e in self.events))
        split = [e["args"] for e in events if e["ph"] == "C" and e["name"] == "RSS (monitor)"]
        samples = [e for e in self.events if e.kind == "SAMPLE"]
        self.assertEqual(len(split), len(samples))
        self.assertTrue(all(set(a) == {"anon", "file", "shmem"} for a in split))
        self.assertIn("grown", [e["name"] for e in events if e["ph"] == "i"])
        names = {e["name"] for e in events if e["ph"] == "B"}
        self.assertIn("work", names)
        times = [e["ts"] for e in events if "ts" in e]
        self.assertEqual(times, sorted(times))

    def test_speedscope(self):
        self.cli("speedscope", self.log, "-o", self.path("growth.json"))
        with open(self.path("growth.json")) as f:
            doc = json.load(f)
        self.assertEqual(doc["$schema"], "https://www.speedscope.app/file-format-schema.json")
        profile = doc["profiles"][0]
        self.assertEqual((profile["type"], profile["unit"]), ("sampled", "bytes"))
        frames = doc["shared"]["frames"]
        self.assertTrue(all(0 <= i < len(frames) for s in profile["samples"] for i in s))
        own = sum(row[8] for row in self.rows if row[8] > 0)
        self.assertEqual(sum(profile["weights"]), own)
        self.assertEqual(profile["endValue"], own)
        heaviest = profile["samples"][profile["weights"].index(max(profile["weights"]))]
        # (3.10 names a comprehension "<listcomp>": grow is on the path, maybe not last)
        self.assertIn("grow", [frames[i]["name"] for i in heaviest[-2:]])
        text_log = self.path("run.log")
        with pymemtrace.Profile(filepath=text_log):
            pass
        done = run_cli("speedscope", text_log, cwd=self.tmp)
        self.assertEqual(done.returncode, 2)
        self.assertIn("no call aggregation", done.stderr)

    def test_sqlite(self):
        second = self.path("second.log")
        with pymemtrace.Profile(0, filepath=second):
            grow(10)
        database = self.path("runs.db")
        out = self.cli("sqlite", self.log, second, "-o", database)
        self.assertIn("run 1:", out)
        self.assertIn("run 2:", out)
        with pymemtrace.open_log(second) as log:
            second_events = list(log)
        connection = sqlite3.connect(database)
        try:
            runs = connection.execute(
                "SELECT run_id, format, status, events_written FROM runs ORDER BY run_id").fetchall()
            self.assertEqual(runs, [(1, "binary", "complete", len(self.events)),
                                    (2, "text", "complete", len(second_events))])
            growth = dict(connection.execute(
                "SELECT function, SUM(d_rss) FROM events WHERE run_id = 1 AND seq > 0 "
                "GROUP BY function"))
            expected = defaultdict(int)
            for e in self.events[1:]:
                expected[e.function] += e.d_rss
            self.assertEqual(growth, dict(expected))
            gc_rows = connection.execute(
                "SELECT COUNT(*) FROM events WHERE run_id = 1 AND kind = 'GC_DONE'").fetchone()[0]
            self.assertEqual(gc_rows, sum(e.kind == "GC_DONE" for e in self.events))
            header = json.loads(connection.execute(
                "SELECT header FROM runs WHERE run_id = 1").fetchone()[0])
            self.assertEqual(header["events_written"], len(self.events))
            samples = connection.execute(
                "SELECT sample_seq, peak_rss, minor_faults FROM events WHERE run_id = 1 AND "
                "kind = 'SAMPLE' ORDER BY seq").fetchall()
            logged = [e for e in self.events if e.kind == "SAMPLE"]
            self.assertGreaterEqual(len(logged), 1)
            self.assertEqual(samples, [(e.sample.seq, e.sample.peak_rss, e.sample.minor_faults)
                                       for e in logged])
        finally:
            connection.close()
        self.cli("sqlite", second, "-o", database)  # appends
        if shutil.which("sqlite3"):  # Debian's sqlite3 reads it too
            done = subprocess.run(["sqlite3", database, "SELECT COUNT(*) FROM runs"],
                                  capture_output=True, text=True)
            self.assertEqual(done.stdout.strip(), "3")

    def test_sqlite_refuses_another_schema(self):
        database = self.path("other.db")
        connection = sqlite3.connect(database)
        connection.executescript("CREATE TABLE schema (version INTEGER); "
                                 "INSERT INTO schema VALUES (99);")
        connection.commit()
        connection.close()
        done = run_cli("sqlite", self.log, "-o", database, cwd=self.tmp)
        self.assertEqual(done.returncode, 2)
        self.assertIn("schema version 99", done.stderr)

    def test_sqlite_brings_a_version_1_database_up(self):
        database = self.path("v1.db")
        connection = sqlite3.connect(database)
        connection.executescript(
            "CREATE TABLE schema (version INTEGER NOT NULL); INSERT INTO schema VALUES (1);"
            "CREATE TABLE runs (run_id INTEGER PRIMARY KEY, path TEXT NOT NULL, format TEXT NOT "
            "NULL, process_id INTEGER, runtime TEXT, rss_provider TEXT, start_realtime_ns "
            "INTEGER, events_seen INTEGER, events_written INTEGER, peak_rss INTEGER, status "
            "TEXT NOT NULL, header TEXT NOT NULL);"
            "CREATE TABLE events (run_id INTEGER NOT NULL REFERENCES runs(run_id), seq INTEGER, "
            "reason TEXT, kind TEXT, time_ns INTEGER, thread_id INTEGER, depth INTEGER, file "
            "TEXT, line INTEGER, function TEXT, rss INTEGER, d_rss INTEGER, message TEXT, "
            "user_file TEXT, user_line INTEGER, user_function TEXT, call_node INTEGER, allocator "
            "TEXT, address INTEGER, size INTEGER, old_address INTEGER, old_size INTEGER, "
            "gc_generation INTEGER, gc_collected INTEGER, gc_uncollectable INTEGER, "
            "gc_duration_ns INTEGER, type_name TEXT, type_live INTEGER, type_created INTEGER, "
            "type_destroyed INTEGER, PRIMARY KEY (run_id, seq));"
            "INSERT INTO runs (path, format, status, header) VALUES ('old', 'text', "
            "'complete', '{}');"
            "INSERT INTO events (run_id, seq, kind) VALUES (1, 0, 'START');")
        connection.commit()
        connection.close()
        self.cli("sqlite", self.log, "-o", database)
        connection = sqlite3.connect(database)
        try:
            self.assertEqual(connection.execute("SELECT version FROM schema").fetchall(), [(2,)])
            self.assertEqual(connection.execute(
                "SELECT peak_rss FROM events WHERE run_id = 1").fetchall(), [(None,)])
            peaks = connection.execute(
                "SELECT COUNT(*) FROM events WHERE run_id = 2 AND peak_rss > 0").fetchone()[0]
            self.assertEqual(peaks, sum(e.kind == "SAMPLE" for e in self.events))
        finally:
            connection.close()

    def test_sqlite_marks_a_cut_log(self):
        cut = self.path("cut.pmt")
        with open(self.log, "rb") as f:
            data = f.read()
        with open(cut, "wb") as f:
            f.write(data[:len(data) * 2 // 3])
        database = self.path("cut.db")
        done = run_cli("sqlite", cut, "-o", database, cwd=self.tmp)
        self.assertEqual(done.returncode, 1, done.stderr)
        connection = sqlite3.connect(database)
        status = connection.execute("SELECT status FROM runs").fetchone()[0]
        connection.close()
        self.assertNotEqual(status, "complete")


if __name__ == "__main__":
    unittest.main()
