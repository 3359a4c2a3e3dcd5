"""The filter stages from Python (keyword arguments of Profile, Trace and Tracer) on a real
CPython and real logs: what each stage leaves out, that event numbers still count every event,
the log headers, and bad input raising at construction."""
import importlib.util
import math
import os
import time
import sys
import unittest

import pymemtrace
from pymemtrace import _pymemtrace
from logparse import TempDirTestCase, parse_log, run_cli

WRAPPERS = (pymemtrace.Profile, pymemtrace.Trace)
THIS_FILE = os.path.abspath(__file__)

MODULE_SOURCE = '''\
def helper(n):
    return [n] * 3


def run(count):
    return [helper(i) for i in range(count)]
'''


def leaf(n):
    return n + 1


def middle(n):
    return leaf(n) + leaf(n + 1)


def outer(n):
    return middle(n) * 2


def work():
    total = 0
    for i in range(5):
        total += outer(i)
    return total


def called(rows, what="CALL"):
    """The functions of the rows of one kind, in order."""
    return [r.function for r in rows if r.what == what]


class CodeFilterTest(TempDirTestCase):

    def load_module(self):
        """A module in the test's directory, so that its file can be told from this one."""
        path = self.path("pmt_filter_module.py")
        with open(path, "w", encoding="utf-8") as f:
            f.write(MODULE_SOURCE)
        spec = importlib.util.spec_from_file_location("pmt_filter_module", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module, path

    def test_an_excluded_function_never_appears_while_its_callees_do(self):
        for wrapper in WRAPPERS:
            with self.subTest(wrapper=wrapper.__name__):
                with wrapper(0, filepath=self.path(f"all_{wrapper.__name__}.log")) as everything:
                    work()
                path = self.path(f"{wrapper.__name__}.log")
                with wrapper(0, filepath=path, exclude_functions=["middle"]) as instance:
                    work()
                log = parse_log(path)
                names = {r.function for r in log.event_rows}
                self.assertNotIn("middle", names)
                self.assertEqual(called(log.event_rows).count("leaf"), 10)
                self.assertEqual(called(log.event_rows).count("outer"), 5)
                self.assertEqual(log.filters, "exclude_function=middle")
                # The same events were seen and numbered; only fewer were written. Except, on
                # 3.12+, the lines of excluded code: sys.monitoring switches them off at the
                # source (DISABLE), so they are not seen at all.
                all_rows = parse_log(everything.log_path).event_rows
                unseen = 0
                if sys.version_info >= (3, 12):
                    unseen = sum(1 for r in all_rows if r.what == "LINE" and r.function == "middle")
                self.assertEqual(instance.events_seen, everything.events_seen - unseen)
                self.assertLess(instance.events_written, len(all_rows))
                self.assertEqual(log.event_rows[-1].event, instance.events_seen - 1)
                numbers = log.event_numbers()
                self.assertEqual(numbers, sorted(set(numbers)))

    def test_function_globs(self):
        path = self.path("globs.log")
        with pymemtrace.Profile(0, filepath=path, include_functions=["*e*"],
                                exclude_functions=["[lm]*"]):
            work()
        functions = set(called(parse_log(path).event_rows))
        self.assertEqual(functions, {"outer"})  # "leaf" and "middle" match the exclude

    def test_include_files(self):
        module, module_path = self.load_module()
        path = self.path("include.log")
        with pymemtrace.Profile(0, filepath=path, include_files=["*/pmt_filter_module.py"]):
            module.run(4)
            work()
        log = parse_log(path)
        rows = [r for r in log.event_rows if r.tag not in ("FRST", "LAST")]
        self.assertTrue(rows)
        self.assertEqual({r.file for r in rows}, {module_path})
        self.assertEqual(called(rows).count("helper"), 4)
        # Start and stop are written whatever their file.
        self.assertEqual([r.file for r in log.event_rows if r.tag in ("FRST", "LAST")],
                         [THIS_FILE, THIS_FILE])

    def test_exclude_files(self):
        module, module_path = self.load_module()
        path = self.path("exclude.log")
        with pymemtrace.Trace(0, filepath=path, exclude_files=[THIS_FILE]):
            module.run(2)
            work()
        log = parse_log(path)
        rows = [r for r in log.event_rows if r.tag not in ("FRST", "LAST")]
        self.assertEqual({r.file for r in rows}, {module_path})
        self.assertIn("LINE", {r.what for r in rows})

    def test_c_calls_carry_their_callers_file_and_their_own_name(self):
        path = self.path("c_calls.log")
        with pymemtrace.Profile(0, filepath=path, c_calls=True, include_functions=["len"],
                                include_files=[THIS_FILE]):
            for word in ("a", "bb", "ccc"):
                len(word)
        rows = [r for r in parse_log(path).event_rows if r.tag not in ("FRST", "LAST")]
        self.assertEqual([(r.what, r.function) for r in rows], [("C_CALL", "len"),
                                                               ("C_RETURN", "len")] * 3)
        self.assertEqual({r.file for r in rows}, {THIS_FILE})


class DepthSampleWindowRssTest(TempDirTestCase):

    def test_max_depth(self):
        events = []
        with pymemtrace.Profile(0, log_format="binary", filepath=self.path("all.pmt"),
                                sink=events.append):
            work()
        depth_of = {e.function: e.depth for e in events if e.kind == "CALL"}
        self.assertEqual(depth_of["middle"], depth_of["outer"] + 1)
        limit = depth_of["middle"]
        for wrapper in WRAPPERS:
            with self.subTest(wrapper=wrapper.__name__):
                kept = []
                binary = self.path(f"{wrapper.__name__}.pmt")
                with wrapper(0, log_format="binary", filepath=binary, sink=kept.append,
                             max_depth=limit):
                    work()
                calls = [e.function for e in kept if e.kind == "CALL"]
                self.assertEqual(calls.count("middle"), 5)
                self.assertNotIn("leaf", calls)
                self.assertLessEqual(max(e.depth for e in kept if e.kind not in
                                         ("START", "STOP")), limit)
                with pymemtrace.open_log(binary) as log:
                    self.assertEqual(log.header["filters"], f"max_depth={limit}")

    def test_sample_every_keeps_one_event_in_n(self):
        for n in (1, 2, 7):
            with self.subTest(sample_every=n):
                events = []
                with pymemtrace.Trace(0, log_format="binary",
                                      filepath=self.path(f"sample{n}.pmt"), sink=events.append,
                                      sample_every=n) as instance:
                    work()
                hook = [e for e in events if e.kind not in ("START", "STOP")]
                seen = instance.events_seen - 2  # start and stop are numbered too
                self.assertEqual(len(hook), -(-seen // n))
                self.assertEqual(hook[0].seq, 1)
                self.assertEqual({b.seq - a.seq for a, b in zip(hook, hook[1:])}, {n})
                self.assertEqual([e.kind for e in (events[0], events[-1])], ["START", "STOP"])

    def test_time_window(self):
        path = self.path("late.log")
        with pymemtrace.Profile(0, filepath=path, time_window=(3600, None)) as instance:
            work()
            instance.write_message_to_log("still written")
        log = parse_log(path)
        self.assertEqual([r.tag for r in log.rows], ["FRST", "MSG", "LAST"])
        self.assertGreater(instance.events_seen, 30)
        self.assertEqual(log.filters, "time_from_ns=3600000000000")

        path = self.path("window.log")
        with pymemtrace.Profile(0, filepath=path, time_window=(0.5, 60.0)):
            outer(1)
            time.sleep(1.0)
            leaf(2)
        log = parse_log(path)
        self.assertEqual(called(log.event_rows), ["leaf"])
        self.assertEqual(log.filters, "time_from_ns=500000000 time_until_ns=60000000000")

    def test_rss_above(self):
        path = self.path("high.log")
        with pymemtrace.Profile(0, filepath=path, rss_above=1 << 62) as instance:
            work()
        log = parse_log(path)
        self.assertEqual([r.tag for r in log.rows], ["FRST", "LAST"])
        self.assertGreater(instance.events_seen, 30)
        path = self.path("any.log")
        with pymemtrace.Profile(0, filepath=path, rss_above=1):
            work()
        self.assertEqual(called(parse_log(path).event_rows).count("leaf"), 10)

    def test_stages_combine_in_order(self):
        events = []
        with pymemtrace.Profile(0, log_format="binary", filepath=self.path("combined.pmt"),
                                sink=events.append, include_functions=["outer", "leaf"],
                                sample_every=2, rss_above=1) as instance:
            work()
        hook = [e for e in events if e.kind not in ("START", "STOP")]
        # Per outer(i): its call and return and two calls and returns of leaf pass the code
        # stage, 30 events in all, of which the sampler keeps every other one.
        self.assertEqual(len(hook), 15)
        self.assertEqual({e.function for e in hook}, {"outer", "leaf"})
        self.assertGreater(instance.events_seen, 40)
        with pymemtrace.open_log(self.path("combined.pmt")) as log:
            self.assertEqual(log.header["filters"], "include_function=outer "
                             "include_function=leaf sample_every=2 rss_above=1")


class HeaderTest(TempDirTestCase):

    def test_text_and_binary_headers(self):
        for log_format in ("text", "binary"):
            with self.subTest(log_format=log_format):
                path = self.path(f"filtered.{log_format}")
                with pymemtrace.Profile(0, filepath=path, log_format=log_format,
                                        exclude_files=["*/my lib/*"], max_depth=40):
                    work()
                want = 'exclude_file="*/my lib/*" max_depth=40'
                with pymemtrace.open_log(path) as log:
                    self.assertEqual(log.header["filters"], want)
                    self.assertIn("outer", {e.function for e in log})
                    self.assertEqual(log.status()[0], "complete")
                info = run_cli("info", path)
                self.assertEqual(info.returncode, 0, info.stderr)
                self.assertIn(f"filters: {want}", info.stdout.decode())
                if log_format == "text":
                    self.assertEqual(parse_log(path).filters, want)

                plain = self.path(f"plain.{log_format}")
                with pymemtrace.Profile(0, filepath=plain, log_format=log_format):
                    work()
                with pymemtrace.open_log(plain) as log:
                    self.assertEqual(log.header["filters"], "")
                if log_format == "text":
                    with open(plain, encoding="utf-8") as f:
                        self.assertNotIn("FLT:", f.read())

    def test_a_decorator_keeps_its_filters(self):
        path = self.path("decorated.log")

        @pymemtrace.Profile(0, filepath=path, exclude_functions=["leaf"])
        def traced():
            return work()

        traced()
        log = parse_log(path)
        self.assertNotIn("leaf", called(log.event_rows))
        self.assertIn("middle", called(log.event_rows))


class BadInputTest(TempDirTestCase):
    CASES = [
        (TypeError, {"include_files": "*.py"}),  # a str, not a sequence of them
        (TypeError, {"exclude_files": b"*.py"}),
        (TypeError, {"include_functions": 3}),
        (TypeError, {"exclude_functions": ["ok", 1]}),
        (ValueError, {"exclude_functions": ["a\0b"]}),
        (ValueError, {"include_files": ["\udc80"]}),
        (TypeError, {"max_depth": "3"}),
        (TypeError, {"max_depth": True}),
        (TypeError, {"max_depth": 2.0}),
        (ValueError, {"max_depth": -1}),
        (ValueError, {"max_depth": 1 << 40}),
        (TypeError, {"sample_every": 1.5}),
        (TypeError, {"sample_every": "2"}),
        (ValueError, {"sample_every": 0}),
        (ValueError, {"sample_every": 1 << 64}),
        (TypeError, {"time_window": 5}),
        (TypeError, {"time_window": (1,)}),
        (TypeError, {"time_window": "ab"}),
        (TypeError, {"time_window": ("1", None)}),
        (TypeError, {"time_window": (None, 1)}),
        (TypeError, {"time_window": (False, 1)}),
        (ValueError, {"time_window": (2, 1)}),
        (ValueError, {"time_window": (1, 1)}),
        (ValueError, {"time_window": (-1, None)}),
        (ValueError, {"time_window": (math.nan, None)}),
        (ValueError, {"time_window": (math.inf, None)}),
        (TypeError, {"rss_above": 1.0}),
        (ValueError, {"rss_above": -1}),
    ]

    def test_bad_filters_raise_at_construction(self):
        for error, kwargs in self.CASES:
            for wrapper in WRAPPERS:
                with self.subTest(wrapper=wrapper.__name__, **{"arg": repr(kwargs)}):
                    with self.assertRaises(error) as caught:
                        wrapper(0, filepath=self.path("never.log"), **kwargs)
                    self.assertIn(next(iter(kwargs)), str(caught.exception))
            with self.subTest(tracer=repr(kwargs)):
                with self.assertRaises(error):
                    _pymemtrace.Tracer(3, 0, self.path("never.log"), **kwargs)
        self.assertEqual(os.listdir(self.tmp), [])  # no log was created

    def test_good_values_are_accepted(self):
        for kwargs in ({"include_files": ()}, {"include_files": ["*"]},
                       {"exclude_functions": ("a", "b")}, {"max_depth": 0},
                       {"max_depth": None}, {"sample_every": 1}, {"sample_every": 1 << 62},
                       {"time_window": None}, {"time_window": [0, None]},
                       {"time_window": (0.25, 1)}, {"time_window": (0, math.inf)},
                       {"rss_above": 0}, {"rss_above": None}):
            with self.subTest(**{"arg": repr(kwargs)}):
                pymemtrace.Profile(**kwargs)
                _pymemtrace.Tracer(3, log_format="none", **kwargs)

    def test_globs_are_copied(self):
        globs = ["middle"]
        profile = pymemtrace.Profile(0, filepath=self.path("copied.log"),
                                     exclude_functions=globs)
        globs.append("leaf")
        with profile:
            work()
        self.assertIn("leaf", called(parse_log(self.path("copied.log")).event_rows))


if __name__ == "__main__":
    unittest.main()
