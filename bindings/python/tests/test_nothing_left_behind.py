"""What fails changes nothing, and what repeats leaves nothing: a start refused for want of a
sys.monitoring tool id leaves no log file and names who holds the ids; a construction that fails
half way removes the log it made; 10,000 start/stop cycles keep RSS, allocated blocks and file
descriptors flat. And the smaller promises: a directory as filepath, a cut mark, the command
line's own output files, a log's control characters on a terminal."""
import gc
import os
import stat
import sys
import unittest
import warnings

import pymemtrace
from logparse import SANITIZED, TempDirTestCase, run_cli


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def open_fds():
    return len(os.listdir("/proc/self/fd"))


class FailedStartTest(TempDirTestCase):
    @unittest.skipUnless(hasattr(sys, "monitoring"), "tool ids are sys.monitoring's (3.12+)")
    def test_no_free_tool_id_leaves_no_file_and_says_who_holds_them(self):
        taken = []
        for tool_id, name in ((2, "a profiler"), (3, "a coverage tool"), (4, "a debugger")):
            if sys.monitoring.get_tool(tool_id) is None:
                sys.monitoring.use_tool_id(tool_id, name)
                taken.append(tool_id)
        self.addCleanup(lambda: [sys.monitoring.free_tool_id(i) for i in taken])
        messages = set()
        for i in range(1000):  # a storm: every start refused, none leaves a file
            with self.assertRaises(RuntimeError) as caught:
                with pymemtrace.Profile(filepath=self.path("storm.log"),
                                        log_format="binary" if i % 2 else "text"):
                    pass
            messages.add(str(caught.exception))
        self.assertEqual(os.listdir(self.tmp), [])
        [message] = messages
        self.assertIn("no sys.monitoring tool id is free", message)
        for tool_id in taken:
            self.assertIn(repr(sys.monitoring.get_tool(tool_id)), message)

    def test_a_construction_failing_half_way_removes_its_log(self):
        from pymemtrace import _pymemtrace
        with self.assertRaises(OSError):
            _pymemtrace.Tracer(_pymemtrace.MASK_CALLS, -1, self.path("run.log"),
                               binary_path=self.path("missing", "run.pmt"))
        self.assertEqual(os.listdir(self.tmp), [])

    def test_a_directory_is_not_a_log_name(self):
        os.mkdir(self.path("logs"))
        with self.assertRaises(IsADirectoryError):
            with pymemtrace.Profile(filepath=self.path("logs")):
                pass
        self.assertEqual(os.listdir(self.tmp), ["logs"])


class CyclesTest(TempDirTestCase):
    def test_ten_thousand_start_stop_cycles_keep_memory_and_descriptors_flat(self):
        def cycles(n):
            for _ in range(n):
                with pymemtrace.Profile(filepath=self.path("c.log")) as p:
                    pass
                os.unlink(p.log_path)

        cycles(1000)  # caches, arenas and interned names settle first
        gc.collect()
        blocks, memory, fds = sys.getallocatedblocks(), rss(), open_fds()
        cycles(10000)
        gc.collect()
        self.assertLess(sys.getallocatedblocks() - blocks, 1000)  # < 0.1 block per cycle
        if not SANITIZED:  # a sanitizer's quarantine keeps freed memory resident
            self.assertLess(rss() - memory, 1 << 20)
        self.assertEqual(open_fds(), fds)


class SmallPromisesTest(TempDirTestCase):
    def test_a_mark_cut_in_a_binary_log_warns(self):
        with pymemtrace.Profile(filepath=self.path("run.pmt"), log_format="binary") as p:
            with warnings.catch_warnings(record=True) as seen:
                warnings.simplefilter("always")
                p.write_message_to_log("x" * (2 << 20))
                p.write_message_to_log("short")
        self.assertEqual(len(seen), 1)
        self.assertIn("cut to its first 1 MiB", str(seen[0].message))
        with pymemtrace.Profile(filepath=self.path("run.log")) as p:  # text keeps it whole
            with warnings.catch_warnings(record=True) as seen:
                warnings.simplefilter("always")
                p.write_message_to_log("x" * (2 << 20))
        self.assertEqual(seen, [])

    def make_log(self):
        log = self.path("run.pmt")
        with pymemtrace.Profile(0, filepath=log, log_format="binary"):
            namespace = {}
            exec(compile("def f():\n    return [0] * 100000\n", "evil\x1b]0;owned\x07.py",
                         "exec"), namespace)
            namespace["f"]()
        return log

    def test_cli_outputs_are_private_and_never_follow_a_symlink(self):
        log = self.make_log()
        old = os.umask(0)
        try:
            out = self.path("events.csv")
            done = run_cli("csv", log, "-o", out)
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o600)
            target = self.path("target")
            os.symlink(target, self.path("planted.csv"))
            done = run_cli("csv", log, "-o", self.path("planted.csv"))
            self.assertEqual(done.returncode, 2)
            self.assertIn("symbolic link", done.stderr)
            self.assertFalse(os.path.exists(target))
        finally:
            os.umask(old)

    def test_control_characters_of_a_log_are_escaped_in_tables(self):
        log = self.make_log()
        for command in (["top", "--all", "-n", "50", log], ["stats", log], ["tree", "--all", log]):
            done = run_cli(*command)
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertNotIn(b"\x1b", done.stdout, command)
            self.assertNotIn(b"\x07", done.stdout, command)
        self.assertIn(b"evil\\x1b]0;owned\\x07.py", run_cli("top", "--all", "-n", "50",
                                                          log).stdout)


if __name__ == "__main__":
    unittest.main()
