"""python -m pymemtrace: run --binary, and top, dump, csv, json, stats, info on real logs; help,
usage errors and a closed output pipe."""
import csv
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import unittest

import pymemtrace
from pymemtrace.cli import export
from pymemtrace import _pymemtrace
from logparse import child_env, run_cli

COLUMNS = ["seq", "reason", "kind", "time_ns", "thread_id", "depth", "file", "line", "function",
           "rss", "d_rss", "message", "user_file", "user_line", "user_function", "call_node"]
# CSV rows also carry the allocation, collection and object fields (0 or '' for other kinds).
CSV_COLUMNS = COLUMNS + ["allocator", "address", "size", "old_address", "old_size",
                         "gc_generation", "gc_collected", "gc_uncollectable", "gc_duration_ns",
                         "type_name", "type_live", "type_created", "type_destroyed",
                         "sample_seq", "sample_time_ns", "realtime_ns", "peak_rss",
                         "minor_faults", "major_faults", "user_cpu_ns", "system_cpu_ns",
                         "rss_anon", "rss_file", "rss_shmem", "cgroup_current", "cgroup_max"]
COMMANDS = ("run", "top", "dump", "csv", "json", "stats", "info")
# Most of the growth is in hog(), by an operator (no C call event), so its RETURN carries it.
HOG_SCRIPT = '''\
def hog():
    block = b"\\x01" * (24 << 20)
    return block


def small():
    return [b"\\x02" * 8192 for _ in range(3)]


kept = [small(), hog(), small()]
print("done", len(kept))
'''


def best_codec():
    for name, value in (("zstd", _pymemtrace.COMPRESS_ZSTD), ("lz4", _pymemtrace.COMPRESS_LZ4)):
        if _pymemtrace.compression_supported(value):
            return name
    return None


def events_of(path):
    with pymemtrace.open_log(path) as log:
        return list(log)


class CliTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory(prefix="pmt_test_")
        cls.tmp = cls._tmp.name
        cls.script = os.path.join(cls.tmp, "hog.py")
        with open(cls.script, "w", encoding="utf-8") as f:
            f.write(HOG_SCRIPT)
        cls.codec = best_codec()
        cls.binary = os.path.join(cls.tmp, "hog.pmt")
        cls.text = os.path.join(cls.tmp, "hog.log")
        codec_args = ["--compression", cls.codec] if cls.codec else []
        cls.runs = [run_cli("run", "--binary", *codec_args, "-o", cls.binary, cls.script),
                    run_cli("run", "-o", cls.text, cls.script)]

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    def cli_ok(self, *args):
        done = run_cli(*args)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertNotIn("warning", done.stderr)
        return done.stdout.decode("utf-8")

    def test_run_takes_a_module_or_code_as_python_does(self):
        """-m MODULE and -c CODE, with the program's own arguments after them, even when they
        look like run's options; --message for the log's first line."""
        module_dir = os.path.join(self.tmp, "mods")
        os.makedirs(module_dir, exist_ok=True)
        with open(os.path.join(module_dir, "hogmod.py"), "w", encoding="utf-8") as f:
            f.write("import sys\nprint('argv', sys.argv[1:])\n")
        log = os.path.join(self.tmp, "module.log")
        done = run_cli("run", "--message", "hello", "-o", log, "--top", "0", "-m", "hogmod",
                       "-o", "x", "-m", "y", cwd=module_dir)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout, b"argv ['-o', 'x', '-m', 'y']\n")
        with open(log, encoding="utf-8") as f:
            self.assertEqual(f.readline(), "hello\n")
        done = run_cli("run", "-o", os.path.join(self.tmp, "code.log"), "--top", "0", "-c",
                       "import sys; print(sys.argv)", "--trace")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout, b"['-c', '--trace']\n")
        done = run_cli("run", "--top", "0")
        self.assertEqual(done.returncode, 2)
        self.assertIn("a script, -m module or -c code is needed", done.stderr)

    def test_run_writes_binary_and_text_logs(self):
        for done, path in zip(self.runs, (self.binary, self.text)):
            with self.subTest(log=path):
                self.assertEqual(done.returncode, 0, done.stderr)
                self.assertEqual(done.stdout, b"done 3\n")
                self.assertIn(f"written to {path}", done.stderr)
                self.assertIn("hog", done.stderr)  # the summary of where RSS grew
        with pymemtrace.open_log(self.binary) as log:
            self.assertEqual(log.format, "binary")
            self.assertEqual(log.header["compression"], self.codec or "none")

    def test_info_shows_the_header_summary_and_status(self):
        out = self.cli_ok("info", self.binary)
        self.assertIn(f"runtime: CPython {platform.python_version()}\n", out)
        self.assertRegex(out, r"\nprocess_id: [1-9]\d*\n")
        self.assertIn(f"compression: {self.codec or 'none'}\n", out)
        self.assertRegex(out, r"\nevents_seen: \d+\n")
        self.assertIn(f"events read: {len(events_of(self.binary))}\n", out)
        self.assertIn("status: complete", out)
        out = self.cli_ok("info", self.text)
        self.assertIn("format: text\n", out)
        self.assertIn("status: complete", out)

    def test_csv_parses_back_to_the_events(self):
        for path in (self.binary, self.text):
            with self.subTest(log=path):
                rows = list(csv.reader(io.StringIO(self.cli_ok("csv", path))))
                self.assertEqual(rows[0], CSV_COLUMNS)
                expected = [["" if v is None else str(v)
                             for v in (export.value(e, c) for c in CSV_COLUMNS)]
                            for e in events_of(path)]
                self.assertEqual(rows[1:], expected)

    def test_csv_to_a_file(self):
        out = os.path.join(self.tmp, "events.csv")
        self.assertEqual(self.cli_ok("csv", self.binary, "-o", out), "")
        with open(out, newline="", encoding="utf-8") as f:
            self.assertEqual(len(list(csv.reader(f))), 1 + len(events_of(self.binary)))

    def test_json_lines_parse_back_to_the_events(self):
        for path in (self.binary, self.text):
            with self.subTest(log=path):
                objects = [json.loads(line) for line in self.cli_ok("json", path).splitlines()]
                expected = [{c: getattr(e, c) for c in COLUMNS} for e in events_of(path)]
                self.assertEqual(objects, expected)
                self.assertEqual(list(objects[0]), COLUMNS)

    def test_stats_names_the_allocating_function_first(self):
        for path in (self.binary, self.text):
            with self.subTest(log=path):
                lines = self.cli_ok("stats", path, "-n", "3").splitlines()
                ranking = lines.index("top 3 functions by growth (sum of positive dRSS):")
                self.assertTrue(lines[ranking + 2].endswith(f"{self.script}:hog"), lines)
                self.assertRegex(lines[1], r"^events +\d+ written of \d+ seen "
                                           r"\((summary|counted)\)$")
                self.assertIn("peak RSS", "\n".join(lines))
                self.assertIn("top 3 functions by triggering (NEXT) events:", lines)

    def test_top_reads_binary_and_text_logs(self):
        for path in (self.binary, self.text):
            with self.subTest(log=path):
                lines = self.cli_ok("top", path, "-n", "2").splitlines()
                self.assertIn("hog", lines[2])
                self.assertEqual(len(lines), 4)

    def test_help_for_every_command(self):
        for command in (None,) + COMMANDS:
            with self.subTest(command=command):
                self.assertIn("usage:", self.cli_ok(*filter(None, [command, "--help"])))
        # Every subcommand's help ends with an example of its use.
        from pymemtrace import cli
        subparsers = next(a for a in cli.parser()._actions if a.dest == "command")
        choices = list(subparsers.choices)
        self.assertGreaterEqual(len(choices), 17)
        for command in choices:
            with self.subTest(command=command):
                self.assertIn(f"example: python -m pymemtrace {command}",
                              self.cli_ok(command, "--help"))

    def test_usage_errors_exit_2(self):
        for args in ([], ["nonsense"], ["stats", self.binary, "-n", "-1"],
                     ["run", "--compression", "zstd", self.script],
                     ["run", "--binary", "--compression", "gzip", self.script],
                     ["run", os.path.join(self.tmp, "missing.py")], ["csv"],
                     ["dump", self.binary, "-o", self.binary]):
            with self.subTest(args=args):
                done = run_cli(*args)
                self.assertEqual(done.returncode, 2, done.stderr)
                self.assertNotIn("Traceback", done.stderr)
        with pymemtrace.open_log(self.binary) as log:  # not overwritten by its own dump
            self.assertEqual(len(list(log)), log.header["events_written"])

    def test_a_closed_output_pipe_ends_quietly(self):
        for command in ("dump", "csv", "json", "stats", "info", "top"):
            with self.subTest(command=command):
                read_end, write_end = os.pipe()
                os.close(read_end)  # the reader is gone before the first byte (`| head -0`)
                try:
                    done = run_cli(command, self.binary, stdout=write_end)
                finally:
                    os.close(write_end)
                self.assertEqual(done.returncode, 141, done.stderr)
                self.assertEqual(done.stderr, "")

    @unittest.skipUnless(os.path.exists("/dev/full"), "needs /dev/full")
    def test_output_that_cannot_be_written_exits_2(self):
        for command in ("dump", "csv", "stats"):
            with self.subTest(command=command), open("/dev/full", "wb") as full:
                done = run_cli(command, self.binary, stdout=full)
                self.assertEqual(done.returncode, 2, done.stderr)
                self.assertIn("No space left on device", done.stderr)
                self.assertEqual(len(done.stderr.splitlines()), 1, done.stderr)
        done = run_cli("json", self.binary, "-o", "/dev/full")
        self.assertEqual(done.returncode, 2, done.stderr)
        self.assertNotIn("Traceback", done.stderr)

    def test_output_after_some_lines_is_read_ends_quietly(self):
        # As `| head -1`: more output than a pipe holds, the reader stops after one line.
        script = os.path.join(self.tmp, "busy.py")
        with open(script, "w", encoding="utf-8") as f:
            # 6000 Python events: the text of each command is far more than a pipe holds (64
            # KiB), so the child is still writing when the reader goes away.
            f.write("def f(i):\n    return str(i)\n\n\nfor i in range(3000):\n    f(i)\n")
        busy = os.path.join(self.tmp, "busy.pmt")
        self.assertEqual(run_cli("run", "--binary", "-d", "0", "--top", "0", "-o", busy,
                                 script).returncode, 0)
        for command in ("csv", "json", "dump"):
            with self.subTest(command=command):
                child = subprocess.Popen(
                    [sys.executable, "-m", "pymemtrace", command, busy],
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env())
                child.stdout.readline()
                child.stdout.close()
                stderr = child.stderr.read().decode()
                child.stderr.close()
                self.assertEqual(child.wait(timeout=60), 141, stderr)
                self.assertEqual(stderr, "")


if __name__ == "__main__":
    unittest.main()


class StatusLineTest(unittest.TestCase):
    """run's live status line: on a terminal only, gone at the end, none with --quiet; the log
    has the same events with or without it."""

    def run_on_a_terminal(self, *options):
        import pty
        import select
        with tempfile.TemporaryDirectory() as tmp:
            log = os.path.join(tmp, "s.log")
            master, slave = pty.openpty()
            program = subprocess.Popen(
                [sys.executable, "-m", "pymemtrace", "run", "-d", "0", "-o", log, "--top", "0",
                 *options, "-c", "import time\nfor _ in range(5): time.sleep(0.3)"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave, cwd=tmp,
                env=child_env())
            os.close(slave)
            out = b""
            while True:
                ready, _, _ = select.select([master], [], [], 0.2)
                if ready:
                    try:
                        chunk = os.read(master, 4096)
                    except OSError:  # the other end closed
                        break
                    if not chunk:
                        break
                    out += chunk
                elif program.poll() is not None:
                    break
            os.close(master)
            self.assertEqual(program.wait(timeout=60), 0, out)
            with open(log) as f:
                rows = [line for line in f if line[:5] in ("FRST:", "NEXT:", "LAST:")]
            return out.decode(), rows

    def test_on_a_terminal(self):
        out, rows = self.run_on_a_terminal()
        self.assertRegex(out, r"\rpymemtrace: \d+ events seen, \d+ written, RSS [\d.,]+ MiB")
        self.assertIn("\r\x1b[K", out)  # cleared at the end
        self.assertIn("written to", out)  # then the summary
        self.assertEqual(len(rows), 4)  # START, the module's CALL and RETURN, STOP: nothing else

    def test_quiet(self):
        out, rows = self.run_on_a_terminal("--quiet")
        self.assertEqual(out, "")
        self.assertEqual(len(rows), 4)

    def test_not_on_a_pipe(self):
        done = run_cli("run", "--top", "0", "-o", os.path.join(tempfile.gettempdir(),
                                                                f"pmt-{os.getpid()}.log"),
                       "-c", "import time; time.sleep(0.7)")
        os.unlink(os.path.join(tempfile.gettempdir(), f"pmt-{os.getpid()}.log"))
        self.assertNotIn("events seen", done.stderr)
