"""open_log() and `python -m pymemtrace dump` against the text log of the same run, for every
compression; seeking; cut, damaged and foreign files; text logs read as events."""
import csv
import io
import mmap
import os
import tempfile
import unittest

import pymemtrace
from pymemtrace import _pymemtrace, _tracing
from logparse import event_fields, log_fields, parse_log, run_cli

CODECS = {"none": _pymemtrace.COMPRESS_NONE, "zstd": _pymemtrace.COMPRESS_ZSTD,
          "lz4": _pymemtrace.COMPRESS_LZ4}


def grow(pages, kept):
    block = mmap.mmap(-1, pages * mmap.PAGESIZE)
    for offset in range(0, len(block), mmap.PAGESIZE):
        block[offset] = 1
    kept.append(block)


def small_work():
    return sum(len(str(i)) for i in range(3))


def traced_run(directory, codec):
    """One run written twice: a text log and an extra binary log (binary_path=). A message at
    every step also ends a chunk, so the binary log has many."""
    text, binary = os.path.join(directory, f"{codec}.log"), os.path.join(directory, f"{codec}.pmt")
    tracer = _pymemtrace.Tracer(_pymemtrace.MASK_PROFILE, -1, text, "round trip",
                                _tracing._OWN_CODE_PREFIX, binary_path=binary,
                                compression=CODECS[codec])
    kept = []
    tracer.start()
    for step in range(12):
        grow(step % 3 + 1, kept)
        small_work()
        tracer.mark(f"step {step}\nsecond line")
    tracer.stop()
    del tracer  # closes both logs: the binary one gets its index and summary
    return text, binary


def read_all(path):
    with pymemtrace.open_log(path) as log:
        return list(log), log.status()


class LogTestCase(unittest.TestCase):
    """The logs of one traced run per codec this build has, written once for the class."""

    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory(prefix="pmt_test_")
        cls.tmp = cls._tmp.name
        cls.logs = {codec: traced_run(cls.tmp, codec) for codec, value in CODECS.items()
                    if _pymemtrace.compression_supported(value)}

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    def copy_cut(self, path, size):
        cut = os.path.join(self.tmp, f"cut_{size}_" + os.path.basename(path))
        with open(path, "rb") as source, open(cut, "wb") as target:
            target.write(source.read(size))
        self.addCleanup(os.remove, cut)
        return cut


class RoundTripTest(LogTestCase):

    def test_every_codec_this_build_has_was_written(self):
        for codec, value in CODECS.items():
            self.assertEqual(codec in self.logs, _pymemtrace.compression_supported(value))

    def test_open_log_gives_the_rows_of_the_text_log(self):
        for codec, (text, binary) in self.logs.items():
            with self.subTest(codec=codec):
                events, status = read_all(binary)
                self.assertEqual(status[0], "complete")
                self.assertEqual(event_fields(events), log_fields(parse_log(text)))
                self.assertEqual({"NEXT", "PREV", "MSG"} - {e.reason for e in events}, set())

    def test_the_header_and_its_summary(self):
        for codec, (_, binary) in self.logs.items():
            with self.subTest(codec=codec):
                with pymemtrace.open_log(binary) as log:
                    header = log.header
                    events = list(log)
                self.assertEqual(header["compression"], codec)
                self.assertEqual(header["message"], "round trip")
                self.assertEqual(header["process_id"], os.getpid())
                self.assertEqual(header["events_written"], len(events))
                self.assertEqual(header["events_seen"], events[-1].seq + 1)
                self.assertEqual(header["peak_rss"], max(e.rss for e in events))

    def test_cli_dump_is_the_text_log_byte_for_byte(self):
        for codec, (text, binary) in self.logs.items():
            with self.subTest(codec=codec):
                with open(text, "rb") as f:
                    expected = f.read()
                done = run_cli("dump", binary)
                self.assertEqual((done.returncode, done.stderr), (0, ""))
                self.assertEqual(done.stdout, expected)
                out = os.path.join(self.tmp, f"dump_{codec}.log")
                done = run_cli("dump", binary, "-o", out)
                self.assertEqual((done.returncode, done.stdout), (0, b""))
                with open(out, "rb") as f:
                    self.assertEqual(f.read(), expected)

    def test_a_text_log_reads_as_the_same_events(self):
        text, binary = self.logs["none"]
        text_events, status = read_all(text)
        binary_events, _ = read_all(binary)
        self.assertEqual(status[0], "complete")
        self.assertEqual(event_fields(text_events), event_fields(binary_events))
        start = binary_events[0].time_ns
        for t, b in zip(text_events, binary_events):  # the Clock column: microseconds
            self.assertLessEqual(abs(t.time_ns - (b.time_ns - start)), 1000)
        with pymemtrace.open_log(text) as log:
            self.assertEqual((log.format, log.header["message"]), ("text", "round trip"))


class SeekTest(LogTestCase):

    def check_seeks(self, path, events, field, targets):
        with pymemtrace.open_log(path) as log:
            for target in targets:
                log.seek_seq(target) if field == "seq" else log.seek_time(target)
                rest = [e for e in events if getattr(e, field) >= target]
                self.assertEqual(event_fields([next(log, None)] if rest else list(log)),
                                 event_fields(rest[:1]), f"{field} {target}")
            log.seek_seq(0)  # back to the start after the end
            self.assertEqual(event_fields(log), event_fields(events))

    def test_binary_log_has_many_chunks(self):
        with open(self.logs["none"][1], "rb") as f:
            self.assertGreater(f.read().count(b"PMTC"), 12)

    def test_seek_seq_lands_on_the_first_event_at_or_after(self):
        for codec, (text, binary) in list(self.logs.items()) + [("text", self.logs["none"])]:
            path = text if codec == "text" else binary
            with self.subTest(codec=codec):
                events, _ = read_all(path)
                targets = list(range(events[-1].seq + 3)) + [0, 1 << 63]
                self.check_seeks(path, events, "seq", targets)

    def test_seek_time_lands_on_the_first_event_at_or_after(self):
        for codec, (text, binary) in list(self.logs.items()) + [("text", self.logs["none"])]:
            path = text if codec == "text" else binary
            with self.subTest(codec=codec):
                events, _ = read_all(path)
                targets = [t + d for t in (e.time_ns for e in events) for d in (-1, 0, 1)]
                self.check_seeks(path, events, "time_ns", targets + [0, 1 << 63])

    def test_seek_then_iterate_the_rest(self):
        _, binary = self.logs["none"]
        events, _ = read_all(binary)
        middle = events[len(events) // 2]
        with pymemtrace.open_log(binary) as log:
            log.seek_seq(middle.seq)
            self.assertEqual(event_fields(log), event_fields(events[len(events) // 2:]))


class DamageTest(LogTestCase):

    def test_a_cut_binary_log_gives_a_prefix_and_says_truncated(self):
        for codec, (text, binary) in self.logs.items():
            full, _ = read_all(binary)
            size = os.path.getsize(binary)
            for cut_at in (size // 3, size // 2, size - 1):
                with self.subTest(codec=codec, cut_at=cut_at):
                    cut = self.copy_cut(binary, cut_at)
                    events, (state, offset, reason) = read_all(cut)
                    self.assertEqual(state, "truncated")
                    self.assertLessEqual(offset, cut_at)
                    if cut_at < size - 24:  # else only the trailer (the index's place) is cut
                        self.assertLess(len(events), len(full))
                    self.assertEqual(event_fields(events), event_fields(full[:len(events)]))

    def test_the_cli_prints_what_is_readable_warns_and_exits_1(self):
        text, binary = self.logs["none"]
        cut = self.copy_cut(binary, os.path.getsize(binary) // 2)
        events, (_, offset, _) = read_all(cut)
        out = {}
        for command in ("dump", "csv", "json", "stats", "info", "top"):
            with self.subTest(command=command):
                done = run_cli(command, cut)
                self.assertEqual(done.returncode, 1, done.stderr)
                self.assertIn("truncated", done.stderr)
                self.assertIn(f"byte {offset}", done.stderr)
                self.assertNotIn("Traceback", done.stderr)
                out[command] = done.stdout
        rows = list(csv.reader(io.StringIO(out["csv"].decode())))
        self.assertEqual(len(rows), 1 + len(events))
        self.assertEqual(len(out["json"].splitlines()), len(events))
        # The dump of what is readable is the start of the text log, then its EOF line.
        dumped = out["dump"]
        with open(text, "rb") as f:
            self.assertTrue(f.read().startswith(dumped[:-len(b"EOF\n")]))
        self.assertTrue(dumped.endswith(b"\nEOF\n"))

    def test_a_damaged_chunk_stops_reading_there(self):
        _, binary = self.logs["none"]
        full, _ = read_all(binary)
        damaged = self.copy_cut(binary, os.path.getsize(binary))
        with open(damaged, "r+b") as f:
            data = f.read()
            at = data.index(b"PMTC", len(data) // 2) + 60  # inside a chunk's payload
            f.seek(at)
            f.write(bytes([data[at] ^ 0xFF]))
        events, (state, offset, reason) = read_all(damaged)
        self.assertEqual(state, "damaged", reason)
        self.assertLess(len(events), len(full))
        self.assertEqual(event_fields(events), event_fields(full[:len(events)]))
        done = run_cli("csv", damaged)
        self.assertEqual(done.returncode, 1)
        self.assertIn("damaged", done.stderr)

    def test_a_cut_text_log_says_truncated(self):
        text, _ = self.logs["none"]
        full, _ = read_all(text)
        size = os.path.getsize(text)
        for cut_at, lost in ((size // 2, "some"), (size - len("EOF\n"), "none")):
            with self.subTest(cut_at=cut_at):
                events, (state, _, _) = read_all(self.copy_cut(text, cut_at))
                self.assertEqual(state, "truncated")
                self.assertEqual(event_fields(events), event_fields(full[:len(events)]))
                self.assertEqual(len(events) < len(full), lost == "some")


class NotALogTest(unittest.TestCase):

    def setUp(self):
        tmp = tempfile.TemporaryDirectory(prefix="pmt_test_")
        self.addCleanup(tmp.cleanup)
        self.tmp = tmp.name

    def write(self, name, data):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def test_files_that_are_not_logs_raise_value_error_and_the_cli_exits_2(self):
        files = {
            "random": os.urandom(4096),
            "empty": b"",
            "text": b"hello\nworld\n",
            "sof without a header": b"SOF\nEOF\n",
            "magic then garbage": b"\x89PMT\r\n\x1a\n" + os.urandom(200),
        }
        commands = ("info", "dump", "csv", "json", "stats")
        for (name, data), command in zip(files.items(), commands):
            with self.subTest(file=name, command=command):
                path = self.write(name.replace(" ", "_"), data)
                with self.assertRaises(ValueError):
                    pymemtrace.open_log(path)
                done = run_cli(command, path)
                self.assertEqual(done.returncode, 2)
                self.assertIn("pymemtrace:", done.stderr)
                self.assertNotIn("Traceback", done.stderr)

    def test_a_missing_file_raises_os_error_and_the_cli_exits_2(self):
        missing = os.path.join(self.tmp, "missing.pmt")
        with self.assertRaises(FileNotFoundError):
            pymemtrace.open_log(missing)
        for command in ("dump", "stats"):  # the C and the Python way of reading
            with self.subTest(command=command):
                done = run_cli(command, missing)
                self.assertEqual(done.returncode, 2)
                self.assertIn("No such file", done.stderr)
                self.assertNotIn("Traceback", done.stderr)


if __name__ == "__main__":
    unittest.main()
