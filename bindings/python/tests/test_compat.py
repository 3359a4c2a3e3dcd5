"""pymemtrace.cPyMemTrace: the names, arguments and methods of pymemtrace's cPyMemTrace module."""
import unittest

import pymemtrace
from pymemtrace import cPyMemTrace
from logparse import TempDirTestCase, parse_log

COMPAT_NAMES = [
    "Profile", "Trace", "rss", "rss_peak",
    "profile_wrapper_depth", "profile_log_path", "profile_write_message_to_log",
    "trace_wrapper_depth", "trace_log_path", "trace_write_message_to_log",
    # pymemtrace's reference tracing (CPython 3.13+; NotImplementedError before: test_objects)
    "ReferenceTracing", "ReferenceTracingSimple", "reference_tracing_wrapper_depth",
    "reference_tracing_simple_wrapper_depth", "reference_tracing_log_path",
    "reference_tracing_write_message_to_log", "reference_tracing_live_object_counts",
]


def compat_function():
    return 5


class CompatNamesTest(unittest.TestCase):

    def test_every_name_is_exposed_and_callable(self):
        for name in COMPAT_NAMES:
            with self.subTest(name=name):
                self.assertTrue(callable(getattr(cPyMemTrace, name)))
        self.assertEqual(sorted(cPyMemTrace.__all__), sorted(COMPAT_NAMES))

    def test_classes_are_the_package_classes_with_pymemtrace_defaults(self):
        self.assertTrue(issubclass(cPyMemTrace.Profile, pymemtrace.Profile))
        self.assertTrue(issubclass(cPyMemTrace.Trace, pymemtrace.Trace))
        self.assertEqual(cPyMemTrace.Profile()._options["threads"], "calling")
        self.assertTrue(cPyMemTrace.Profile()._options["c_calls"])
        self.assertEqual(cPyMemTrace.Trace()._options["threads"], "calling")

    def test_nothing_active_outside_any_wrapper(self):
        self.assertEqual(cPyMemTrace.profile_wrapper_depth(), 0)
        self.assertEqual(cPyMemTrace.trace_wrapper_depth(), 0)
        self.assertIsNone(cPyMemTrace.profile_log_path())
        self.assertIsNone(cPyMemTrace.trace_log_path())

    def test_module_level_write_without_an_active_wrapper_raises_value_error(self):
        with self.assertRaises(ValueError):
            cPyMemTrace.profile_write_message_to_log("nobody listens")
        with self.assertRaises(ValueError):
            cPyMemTrace.trace_write_message_to_log("nobody listens")


class CompatUsageTest(TempDirTestCase):

    def test_positional_arguments(self):
        for wrapper in (cPyMemTrace.Profile, cPyMemTrace.Trace):
            with self.subTest(wrapper=wrapper.__name__):
                path = self.path(f"{wrapper.__name__}.log")
                with wrapper(0, "message", path) as instance:
                    compat_function()
                self.assertEqual(instance.d_rss_trigger, 0)
                log = parse_log(path)
                self.assertEqual(log.message, "message")
                self.assertTrue(log.find(what="CALL", function="compat_function"))

    def test_log_file_path_during_and_after(self):
        path = self.path("profile.log")
        profiler = cPyMemTrace.Profile(0, message="m", filepath=path)
        self.assertIsNone(profiler.log_file_path())
        with profiler:
            self.assertEqual(profiler.log_file_path(), path)
            self.assertEqual(cPyMemTrace.profile_log_path(), path)
        self.assertEqual(profiler.log_file_path(), path)
        self.assertIsNone(cPyMemTrace.profile_log_path())

    def test_module_level_writes_go_to_the_innermost_active_log(self):
        with cPyMemTrace.Profile(0, filepath=self.path("profile.log")) as profiler, \
                cPyMemTrace.Trace(0, filepath=self.path("trace.log")) as tracer:
            self.assertEqual(cPyMemTrace.trace_log_path(), self.path("trace.log"))
            cPyMemTrace.profile_write_message_to_log("to the profile")
            cPyMemTrace.trace_write_message_to_log("to the trace")
        self.assertEqual(parse_log(profiler.log_path).messages, ["to the profile"])
        self.assertEqual(parse_log(tracer.log_path).messages, ["to the trace"])

    def test_wrapper_depth_counts_nesting(self):
        depths = []
        with cPyMemTrace.Profile(filepath=self.path("p1.log")):
            depths.append(cPyMemTrace.profile_wrapper_depth())
            with cPyMemTrace.Profile(filepath=self.path("p2.log")):
                depths.append(cPyMemTrace.profile_wrapper_depth())
                with cPyMemTrace.Trace(filepath=self.path("t1.log")):
                    depths.append((cPyMemTrace.profile_wrapper_depth(),
                                   cPyMemTrace.trace_wrapper_depth()))
                depths.append(cPyMemTrace.trace_wrapper_depth())
            depths.append(cPyMemTrace.profile_wrapper_depth())
        depths.append(cPyMemTrace.profile_wrapper_depth())
        self.assertEqual(depths, [1, 2, (2, 1), 0, 1, 0])

    def test_inner_log_path_is_reported_while_nested(self):
        with cPyMemTrace.Profile(filepath=self.path("outer.log")):
            with cPyMemTrace.Profile(filepath=self.path("inner.log")):
                self.assertEqual(cPyMemTrace.profile_log_path(), self.path("inner.log"))
            self.assertEqual(cPyMemTrace.profile_log_path(), self.path("outer.log"))


if __name__ == "__main__":
    unittest.main()
