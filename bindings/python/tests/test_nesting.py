"""Nesting: an inner Profile (Trace) pauses the outer one; Profile and Trace are independent."""
import threading
import unittest

import pymemtrace
from logparse import TempDirTestCase, parse_log


def before_inner():
    return 1


def inside_inner():
    return 2


def after_inner():
    return 3


def while_both():
    return 4


class NestingSameKindTest(TempDirTestCase):

    def run_nested(self, wrapper, kind):
        with wrapper(0, filepath=self.path("outer.log")) as outer:
            before_inner()
            with wrapper(0, filepath=self.path("inner.log")) as inner:
                inside_inner()
            after_inner()
        return parse_log(outer.log_path), parse_log(inner.log_path), kind

    def check_nested(self, outer, inner, kind):
        self.assertEqual(inner.path, self.path("inner.log"))
        self.assertEqual(outer.messages, [
            f"Detaching this {kind} file wrapper. New file:",
            self.path("inner.log"),
            f"Re-attaching this {kind} file wrapper.",
        ])
        # Each function is in exactly one log.
        self.assertTrue(outer.find(what="CALL", function="before_inner"))
        self.assertTrue(outer.find(what="CALL", function="after_inner"))
        self.assertFalse(outer.find(function="inside_inner"))
        self.assertTrue(inner.find(what="CALL", function="inside_inner"))
        self.assertFalse(inner.find(function="before_inner"))
        self.assertFalse(inner.find(function="after_inner"))
        # Outer events resume after the re-attach message, still numbered one by one.
        reattach, = outer.find(tag="MSG", text=f"Re-attaching this {kind} file wrapper.")
        after = outer.find(what="CALL", function="after_inner")[0]
        self.assertGreater(outer.rows.index(after), outer.rows.index(reattach))
        self.assertEqual(outer.event_numbers(), list(range(len(outer.event_numbers()))))

    def test_inner_profile_writes_its_own_log(self):
        self.check_nested(*self.run_nested(pymemtrace.Profile, "profile"))

    def test_inner_trace_writes_its_own_log(self):
        self.check_nested(*self.run_nested(pymemtrace.Trace, "trace"))

    def test_outer_is_active_again_after_inner_exits(self):
        with pymemtrace.Profile(0, filepath=self.path("outer.log")) as outer:
            with pymemtrace.Profile(0, filepath=self.path("inner.log")):
                pass
            self.assertTrue(outer.active)
            outer.write_message_to_log("still here")
            after_inner()
        log = parse_log(outer.log_path)
        self.assertEqual(log.messages[-1], "still here")
        self.assertTrue(log.find(what="CALL", function="after_inner"))

    def test_three_levels(self):
        paths = [self.path(f"level{i}.log") for i in range(3)]
        with pymemtrace.Profile(0, filepath=paths[0]):
            with pymemtrace.Profile(0, filepath=paths[1]):
                with pymemtrace.Profile(0, filepath=paths[2]):
                    inside_inner()
                after_inner()
            before_inner()
        logs = [parse_log(p) for p in paths]
        self.assertTrue(logs[2].find(what="CALL", function="inside_inner"))
        self.assertTrue(logs[1].find(what="CALL", function="after_inner"))
        self.assertTrue(logs[0].find(what="CALL", function="before_inner"))
        self.assertIn(paths[2], logs[1].messages)
        self.assertNotIn(paths[2], logs[0].messages)


class ProfileAndTraceTogetherTest(TempDirTestCase):
    """A Profile and a Trace active at once each write their own log: no detaching."""

    def run_both(self, outer_wrapper, inner_wrapper):
        outer_path, inner_path = self.path("outer.log"), self.path("inner.log")
        with outer_wrapper(0, filepath=outer_path):
            before_inner()
            with inner_wrapper(0, filepath=inner_path):
                while_both()
            after_inner()
        return parse_log(outer_path), parse_log(inner_path)

    def check_both(self, outer, inner):
        self.assertEqual(outer.messages, [])
        self.assertEqual(inner.messages, [])
        for function in ("before_inner", "while_both", "after_inner"):
            for what in ("CALL", "RETURN"):
                self.assertEqual(len(outer.find(what=what, function=function)), 1,
                                 f"outer log: {what} {function}")
        for what in ("CALL", "RETURN"):
            self.assertEqual(len(inner.find(what=what, function="while_both")), 1,
                             f"inner log: {what} while_both")

    def test_trace_inside_profile(self):
        self.check_both(*self.run_both(pymemtrace.Profile, pymemtrace.Trace))

    def test_profile_inside_trace(self):
        self.check_both(*self.run_both(pymemtrace.Trace, pymemtrace.Profile))


def profiled_generator(path):
    with pymemtrace.Profile(0, filepath=path):
        yield 1
        yield 2


class OutOfOrderExitTest(TempDirTestCase):
    """A wrapper held open by a suspended generator may exit while a later one is innermost."""

    def test_closing_a_generator_that_holds_an_outer_profile(self):
        generator = profiled_generator(self.path("generator.log"))
        next(generator)  # its Profile is active now
        with pymemtrace.Profile(0, filepath=self.path("inner.log")) as inner:
            generator.close()  # exits the generator's Profile, which is not the innermost
            self.assertTrue(inner.active)
            after_inner()
        self.assertTrue(parse_log(self.path("inner.log")).find(what="CALL",
                                                               function="after_inner"))
        self.assertEqual(parse_log(self.path("generator.log")).rows[-1].tag, "LAST")


def worker(path, go, done):
    with pymemtrace.Profile(0, filepath=path, threads="calling"):
        go.wait()
        inside_inner()
    done.append(True)


class ThreadsTest(TempDirTestCase):
    """threads="calling" Profiles in two threads are independent: no detaching, each sees its
    own thread (pymemtrace's behaviour)."""

    def test_each_thread_writes_its_own_events(self):
        go, done = threading.Event(), []
        thread = threading.Thread(target=worker, args=(self.path("thread.log"), go, done))
        with pymemtrace.Profile(0, filepath=self.path("main.log"), threads="calling"):
            thread.start()
            before_inner()
            go.set()
            thread.join()
        self.assertEqual(done, [True])
        main, other = parse_log(self.path("main.log")), parse_log(self.path("thread.log"))
        self.assertEqual(main.messages + other.messages, [])
        self.assertTrue(main.find(what="CALL", function="before_inner"))
        self.assertFalse(main.find(function="inside_inner"))
        self.assertTrue(other.find(what="CALL", function="inside_inner"))
        self.assertFalse(other.find(function="before_inner"))


if __name__ == "__main__":
    unittest.main()
