"""Bad arguments, unwritable paths, wrong life-cycle calls, existing files and file modes."""
import errno
import os
import pathlib
import stat
import sys
import unittest

import pymemtrace
from pymemtrace import _pymemtrace
from logparse import TempDirTestCase, parse_log


def traced_function():
    return 1


def nothing_is_tracing():
    """True when no pymemtrace hook is installed in this thread."""
    if sys.version_info >= (3, 12):
        return all(sys.monitoring.get_tool(i) != "pymemtrace" for i in range(6))
    return sys.getprofile() is None and sys.gettrace() is None


class WrongArgumentsTest(TempDirTestCase):

    def test_wrong_types_raise_type_error(self):
        for wrapper in (pymemtrace.Profile, pymemtrace.Trace):
            for kwargs in ({"d_rss_trigger": "x"}, {"d_rss_trigger": 1.5},
                           {"d_rss_trigger": None}, {"d_rss_trigger": True},
                           {"message": 3}, {"message": b"bytes"}, {"filepath": 3},
                           {"filepath": 1.5}):
                with self.subTest(wrapper=wrapper.__name__, **kwargs):
                    with self.assertRaises(TypeError):
                        wrapper(**kwargs)

    def test_bad_values_raise_value_error(self):
        for wrapper in (pymemtrace.Profile, pymemtrace.Trace):
            for trigger in (-2, -1000, -(1 << 70)):
                with self.subTest(wrapper=wrapper.__name__, d_rss_trigger=trigger):
                    with self.assertRaises(ValueError):
                        wrapper(d_rss_trigger=trigger)

    def test_trigger_beyond_64_bits_raises_value_error_at_the_latest_when_entered(self):
        with self.assertRaises(ValueError):
            with pymemtrace.Profile(d_rss_trigger=1 << 64, filepath=self.path("p.log")):
                pass

    def test_write_message_of_wrong_type_raises_type_error(self):
        with self.assertRaises(TypeError):
            pymemtrace.Profile().write_message_to_log(3)

    def test_low_level_tracer_rejects_bad_arguments(self):
        with self.assertRaises(TypeError):
            _pymemtrace.Tracer("events")
        with self.assertRaises(TypeError):
            _pymemtrace.Tracer(_pymemtrace.MASK_PROFILE, 1.5)
        with self.assertRaises(ValueError):
            _pymemtrace.Tracer(_pymemtrace.MASK_PROFILE, -2)
        with self.assertRaises(ValueError):
            _pymemtrace.Tracer(0)  # selects no event


class UnwritablePathTest(TempDirTestCase):

    def check_enter_fails(self, path, expected_errno):
        for wrapper in (pymemtrace.Profile, pymemtrace.Trace):
            with self.subTest(wrapper=wrapper.__name__):
                instance = wrapper(filepath=path)
                steps, error = [], None
                try:
                    with instance:
                        steps.append("body")
                        traced_function()
                except OSError as e:
                    steps.append("OSError")
                    error = e
                steps.append("after")
                self.assertEqual(steps, ["OSError", "after"])
                self.assertEqual(error.errno, expected_errno)
                self.assertEqual(error.filename, path)
                self.assertFalse(instance.active)
                self.assertTrue(nothing_is_tracing())
                self.assertFalse(os.path.exists(path))

    def test_directory_that_does_not_exist(self):
        self.check_enter_fails(self.path("missing", "trace.log"), errno.ENOENT)

    def test_path_below_a_regular_file(self):
        with open(self.path("file"), "w"):
            pass
        self.check_enter_fails(self.path("file", "trace.log"), errno.ENOTDIR)

    @unittest.skipIf(hasattr(os, "geteuid") and os.geteuid() == 0, "root can write anywhere")
    def test_read_only_directory(self):
        os.mkdir(self.path("read_only"), 0o500)
        self.addCleanup(os.chmod, self.path("read_only"), 0o700)
        self.check_enter_fails(self.path("read_only", "trace.log"), errno.EACCES)

    def test_failed_inner_wrapper_leaves_the_outer_one_tracing(self):
        with pymemtrace.Profile(0, filepath=self.path("outer.log")) as outer:
            with self.assertRaises(OSError):
                with pymemtrace.Profile(0, filepath=self.path("missing", "inner.log")):
                    pass
            traced_function()
        log = parse_log(outer.log_path)
        self.assertEqual(log.messages, [])
        self.assertTrue(log.find(what="CALL", function="traced_function"))

    def test_a_working_path_works_after_a_failure(self):
        with self.assertRaises(OSError):
            with pymemtrace.Trace(filepath=self.path("missing", "trace.log")):
                pass
        with pymemtrace.Trace(0, filepath=self.path("trace.log")) as trace:
            traced_function()
        self.assertTrue(parse_log(trace.log_path).find(function="traced_function"))


class LifeCycleTest(TempDirTestCase):

    def new_tracer(self):
        return _pymemtrace.Tracer(_pymemtrace.MASK_PROFILE, 0, self.path("tracer.log"))

    def test_starting_a_running_tracer_raises_runtime_error(self):
        tracer = self.new_tracer()
        tracer.start()
        try:
            with self.assertRaises(RuntimeError):
                tracer.start()
            self.assertEqual(tracer.state, "running")
        finally:
            tracer.stop()

    def test_stopping_a_stopped_tracer_raises_runtime_error(self):
        tracer = self.new_tracer()
        tracer.start()
        tracer.stop()
        self.assertEqual(tracer.state, "stopped")
        with self.assertRaises(RuntimeError):
            tracer.stop()

    def test_stopping_a_tracer_never_started_raises_runtime_error(self):
        with self.assertRaises(RuntimeError):
            self.new_tracer().stop()

    def test_a_stopped_tracer_cannot_start_again(self):
        tracer = self.new_tracer()
        tracer.start()
        tracer.stop()
        with self.assertRaises(RuntimeError):
            tracer.start()
        self.assertTrue(nothing_is_tracing())

    def test_mark_pause_and_resume_in_the_wrong_state_raise_runtime_error(self):
        tracer = self.new_tracer()
        with self.assertRaises(RuntimeError):
            tracer.mark("not started")
        with self.assertRaises(RuntimeError):
            tracer.pause()
        tracer.start()
        try:
            with self.assertRaises(RuntimeError):
                tracer.resume()
        finally:
            tracer.stop()
        with self.assertRaises(RuntimeError):
            tracer.mark("stopped")

    def test_write_message_to_log_on_an_inactive_object_raises_runtime_error(self):
        for wrapper in (pymemtrace.Profile, pymemtrace.Trace):
            with self.subTest(wrapper=wrapper.__name__):
                instance = wrapper(filepath=self.path(f"{wrapper.__name__}.log"))
                with self.assertRaises(RuntimeError):
                    instance.write_message_to_log("before")
                with instance:
                    instance.write_message_to_log("inside")
                with self.assertRaises(RuntimeError):
                    instance.write_message_to_log("after")
                self.assertEqual(parse_log(instance.log_path).messages, ["inside"])

    def test_entering_an_active_object_again_raises_runtime_error(self):
        profile = pymemtrace.Profile(filepath=self.path("profile.log"))
        with profile:
            with self.assertRaises(RuntimeError):
                profile.__enter__()
        self.assertEqual(os.listdir(self.tmp), ["profile.log"])

    def test_exiting_an_inactive_object_raises_runtime_error(self):
        with self.assertRaises(RuntimeError):
            pymemtrace.Profile().__exit__(None, None, None)


class LogFileCreationTest(TempDirTestCase):

    def test_an_existing_file_is_never_overwritten(self):
        path = self.path("existing.log")
        with open(path, "w") as f:
            f.write("precious\n")
        with pymemtrace.Profile(filepath=path) as first:
            traced_function()
        with pymemtrace.Profile(filepath=path) as second:
            traced_function()
        self.assertEqual(first.log_path, self.path("existing_1.log"))
        self.assertEqual(second.log_path, self.path("existing_2.log"))
        with open(path) as f:
            self.assertEqual(f.read(), "precious\n")
        parse_log(first.log_path)
        parse_log(second.log_path)

    def test_ordinal_goes_at_the_end_of_a_name_without_extension(self):
        path = self.path("no_extension")
        open(path, "w").close()
        with pymemtrace.Trace(filepath=path) as trace:
            pass
        self.assertEqual(trace.log_path, self.path("no_extension_1"))

    def test_a_symbolic_link_is_not_followed(self):
        target = self.path("target.txt")
        with open(target, "w") as f:
            f.write("target\n")
        os.symlink(target, self.path("link.log"))
        with pymemtrace.Profile(filepath=self.path("link.log")) as profile:
            pass
        self.assertNotEqual(profile.log_path, self.path("link.log"))
        with open(target) as f:
            self.assertEqual(f.read(), "target\n")

    def test_files_are_created_with_mode_0600(self):
        for wrapper in (pymemtrace.Profile, pymemtrace.Trace):
            with self.subTest(wrapper=wrapper.__name__):
                with wrapper(filepath=self.path(f"{wrapper.__name__}.log")) as instance:
                    pass
                self.assertEqual(stat.S_IMODE(os.stat(instance.log_path).st_mode), 0o600)

    def test_path_like_and_bytes_paths_are_accepted(self):
        with pymemtrace.Profile(filepath=pathlib.Path(self.path("pathlib.log"))) as p1:
            pass
        with pymemtrace.Profile(filepath=os.fsencode(self.path("bytes.log"))) as p2:
            pass
        self.assertEqual(p1.log_path, self.path("pathlib.log"))
        self.assertEqual(p2.log_path, self.path("bytes.log"))


if __name__ == "__main__":
    unittest.main()
