"""A log that cannot be written is never silent: the program runs on, the library says so once on
stderr (path, error, what the log holds), and the counts say exactly what reached the file (a
reader finds that many events there). A file size limit (RLIMIT_FSIZE: EFBIG, any user) and a
full filesystem (a small tmpfs: ENOSPC, needs root to mount) do it for real."""
import errno
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import unittest

import pymemtrace
from logparse import TempDirTestCase, child_env

LIMIT = 200_000  # bytes a log may reach: a few thousand events of the program below

PROGRAM = """\
import json, sys
import pymemtrace

def grow(i):
    return bytearray(4096 * (i % 7))

kept = []
options = json.loads(sys.argv[1])
try:
    with pymemtrace.Profile(0, **options) as p:
        for i in range(30000):
            kept.append(grow(i))
except OSError as error:
    print(json.dumps({"raised": [error.errno, error.filename]}))
    sys.exit(0)
print(json.dumps({"goes_on": True, "written": p.events_written, "lost": p.events_lost,
                  "counts": p.sink_counts}))
"""


def limited(size):
    """preexec_fn: files of this process may not grow past size bytes; a write past it fails
    with EFBIG instead of killing the process with SIGXFSZ."""
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    return apply


def events_in(path):
    with pymemtrace.open_log(path) as log:
        return sum(1 for _ in log)


class FileSizeLimitTest(TempDirTestCase):
    def run_program(self, **options):
        script = self.path("program.py")
        with open(script, "w") as f:
            f.write(PROGRAM)
        done = subprocess.run([sys.executable, script, json.dumps(options)], env=child_env(),
                              capture_output=True, text=True, timeout=120,
                              preexec_fn=limited(LIMIT))
        self.assertEqual(done.returncode, 0, done.stderr)
        return json.loads(done.stdout.splitlines()[-1]), done.stderr

    def check_counts(self, log_format):
        path = self.path(f"run.{log_format}")
        result, stderr = self.run_program(filepath=path, log_format=log_format)
        self.assertTrue(result["goes_on"])
        [counts] = result["counts"]
        self.assertEqual(counts["path"], path)
        self.assertEqual((counts["errno"], counts["strerror"]), (errno.EFBIG, os.strerror(27)))
        self.assertEqual(counts["given"], result["written"])  # every written event was given
        self.assertEqual(counts["stored"], events_in(path))  # exactly what a reader finds
        self.assertEqual(counts["lost"], counts["given"] - counts["stored"])
        self.assertEqual(result["lost"], counts["lost"])
        self.assertGreater(counts["lost"], 1000)
        reports = [line for line in stderr.splitlines() if line.startswith("pymemtrace: ")]
        self.assertEqual(len(reports), 1, stderr)  # once, not per event
        self.assertIn(path, reports[0])
        self.assertIn("File too large", reports[0])
        self.assertLessEqual(os.path.getsize(path), LIMIT)

    def test_binary_log_counts_what_reached_the_file(self):
        self.check_counts("binary")

    def test_text_log_counts_what_reached_the_file(self):
        self.check_counts("text")

    def test_raise_gives_the_error_at_exit(self):
        path = self.path("run.pmt")
        result, _ = self.run_program(filepath=path, log_format="binary", on_sink_error="raise")
        self.assertEqual(result["raised"], [errno.EFBIG, path])

    def test_run_exits_non_zero_with_the_honest_counts(self):
        script = self.path("program.py")
        with open(script, "w") as f:
            f.write("def grow(i):\n    return bytearray(4096 * (i % 7))\n\n"
                    "kept = [grow(i) for i in range(30000)]\nprint('done')\n")
        log = self.path("run.log")
        done = subprocess.run([sys.executable, "-m", "pymemtrace", "run", "-d", "0", "-o", log,
                               script], env=child_env(), capture_output=True, text=True,
                              timeout=120, preexec_fn=limited(LIMIT))
        self.assertEqual(done.stdout, "done\n")  # the program ran to its end
        self.assertEqual(done.returncode, 1, done.stderr)
        summary = [line for line in done.stderr.splitlines() if " are lost: " in line]
        self.assertEqual(len(summary), 1, done.stderr)
        self.assertIn(f"it holds {events_in(log)},", summary[0])
        self.assertTrue(summary[0].endswith("File too large"), summary[0])

    def test_bad_value_is_refused(self):
        with self.assertRaises(ValueError):
            pymemtrace.Profile(on_sink_error="ignore")


class CallableSinkTest(unittest.TestCase):
    def test_a_raising_callable_is_counted_not_silent(self):
        calls = []

        def sink(event):
            calls.append(event)
            if len(calls) == 3:
                raise RuntimeError("the sink's own bug")

        def work():
            return [str(i) for i in range(10)]

        hook = sys.unraisablehook
        sys.unraisablehook = lambda unraisable: None  # reported there: not this test's output
        try:
            with pymemtrace.Profile(0, sink=sink, log_format="binary",
                                    filepath=os.path.join(tempfile.gettempdir(),
                                                          f"pmt_cb_{os.getpid()}.pmt")) as p:
                for _ in range(20):
                    work()
        finally:
            sys.unraisablehook = hook
            if p.log_path:
                os.unlink(p.log_path)
        log, callback = p.sink_counts
        self.assertEqual((log["error"], log["lost"]), (0, 0))
        self.assertEqual(log["stored"], p.events_written)
        self.assertEqual(callback["sink"], "callable")
        self.assertNotEqual(callback["error"], 0)
        self.assertEqual(callback["stored"], 2)
        self.assertEqual(callback["lost"], p.events_written - 2)
        self.assertEqual(p.events_lost, callback["lost"])


class FullDiskTest(TempDirTestCase):
    """A tmpfs of 256 KiB: ENOSPC. Mounting needs root (CI runs as root)."""

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.skipTest("mounting a small tmpfs needs root")
        self.mount = self.path("small")
        os.mkdir(self.mount)
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", self.mount],
                              capture_output=True, text=True)
        if done.returncode != 0:
            self.skipTest(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        self.addCleanup(subprocess.run, ["umount", self.mount], check=False)

    def test_a_full_disk_is_reported_and_counted(self):
        script = self.path("program.py")
        with open(script, "w") as f:
            f.write(PROGRAM)
        for log_format in ("binary", "text"):
            path = os.path.join(self.mount, f"run.{log_format}")
            done = subprocess.run([sys.executable, script,
                                   json.dumps({"filepath": path, "log_format": log_format})],
                                  env=child_env(), capture_output=True, text=True, timeout=120)
            self.assertEqual(done.returncode, 0, done.stderr)
            result = json.loads(done.stdout.splitlines()[-1])
            [counts] = result["counts"]
            self.assertEqual(counts["errno"], errno.ENOSPC, counts)
            self.assertEqual(counts["stored"], events_in(path))
            self.assertEqual(counts["lost"], counts["given"] - counts["stored"])
            self.assertIn("No space left on device", done.stderr)
            os.unlink(path)


if __name__ == "__main__":
    unittest.main()
