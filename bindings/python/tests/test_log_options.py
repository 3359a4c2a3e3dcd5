"""Profile/Trace's keyword-only options: log_format, compression, sink; checked when created,
kept by the decorator, positional arguments unchanged."""
import os
import unittest
from unittest import mock

import pymemtrace
from pymemtrace import _pymemtrace, _tracing
from logparse import TempDirTestCase, event_fields, short_name

WRAPPERS = (pymemtrace.Profile, pymemtrace.Trace)
CODECS = {"zstd": _pymemtrace.COMPRESS_ZSTD, "lz4": _pymemtrace.COMPRESS_LZ4}


def small_work():
    return sum(len(str(i)) for i in range(3))


class BinaryLogTest(TempDirTestCase):

    def test_binary_log_with_each_compression(self):
        for wrapper in WRAPPERS:
            for compression in (None, "zstd", "lz4"):
                with self.subTest(wrapper=wrapper.__name__, compression=compression):
                    if compression and not _pymemtrace.compression_supported(CODECS[compression]):
                        self.skipTest(f"this build has no {compression}")
                    path = self.path(f"{wrapper.__name__}_{compression}.pmt")
                    received = []
                    with wrapper(0, "binary", path, log_format="binary", compression=compression,
                                 sink=received.append) as instance:
                        small_work()
                    with pymemtrace.open_log(path) as log:
                        self.assertEqual(log.format, "binary")
                        self.assertEqual(log.header["compression"], compression or "none")
                        self.assertEqual(log.header["message"], "binary")
                        self.assertEqual(log.header["events_seen"], instance.events_seen)
                        events = list(log)
                        self.assertEqual(log.status()[0], "complete")
                    self.assertEqual(event_fields(events), event_fields(received))
                    self.assertIn("small_work", {e.function for e in events})

    def test_default_binary_name_ends_in_pmt(self):
        cwd = os.getcwd()
        os.chdir(self.tmp)
        try:
            with pymemtrace.Profile(log_format="binary") as profile:
                small_work()
        finally:
            os.chdir(cwd)
        self.assertRegex(os.path.basename(profile.log_path),
                         rf"^\d{{6}}_\d{{6}}_{os.getpid()}(_\d+)?\.pmt$")

    def test_the_decorator_passes_the_options_on(self):
        received = []
        path = self.path("decorated.pmt")

        @pymemtrace.Trace(0, filepath=path, log_format="binary", sink=received.append)
        def decorated():
            return small_work()

        self.assertEqual(decorated(), 3)
        with pymemtrace.open_log(path) as log:
            self.assertEqual(event_fields(log), event_fields(received))
        self.assertIn("decorated", {short_name(e.function) for e in received})


class BadOptionsTest(unittest.TestCase):

    def test_unknown_names_raise_value_error(self):
        for wrapper in WRAPPERS:
            # ("none" is a format: no log, for a sink or the USDT probes; test_probes.py)
            for kwargs in ({"log_format": "xml"}, {"log_format": "NONE"}, {"log_format": None},
                           {"log_format": "binary", "compression": "gzip"},
                           {"log_format": "binary", "compression": "ZSTD"},
                           {"log_format": "binary", "compression": 1},
                           {"log_format": "binary", "compression": []},
                           {"compression": "zstd"}):  # compression is for binary logs
                with self.subTest(wrapper=wrapper.__name__, **kwargs):
                    with self.assertRaises(ValueError):
                        wrapper(**kwargs)

    def test_a_codec_this_build_lacks_raises_value_error(self):
        with mock.patch.object(_tracing._pymemtrace, "compression_supported",
                               return_value=False):
            with self.assertRaisesRegex(ValueError, "lz4"):
                pymemtrace.Profile(log_format="binary", compression="lz4")

    def test_a_sink_that_cannot_be_called_raises_type_error(self):
        for sink in (3, "print", [print]):
            with self.subTest(sink=sink):
                with self.assertRaises(TypeError):
                    pymemtrace.Trace(sink=sink)

    def test_options_are_keyword_only(self):
        with self.assertRaises(TypeError):
            pymemtrace.Profile(-1, None, None, "binary")


if __name__ == "__main__":
    unittest.main()
