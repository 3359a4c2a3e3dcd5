"""Profile: Python and C calls and returns, the one-page trigger, context manager and decorator."""
import os
import unittest

import pymemtrace
from logparse import (AFTER_ALLOCATION_LINE, MIB, AllocationScenarioTestCase, TempDirTestCase,
                      parse_log)


def plain_function():
    return 42


def raises_in_c():
    try:
        divmod(1, 0)
    except ZeroDivisionError:
        return "caught"


def three_values():
    yield 1
    yield 2
    yield 3


class ProfileAllocationTest(AllocationScenarioTestCase):
    """The acceptance case: a 1 MiB allocation shows up at the next event, with the default
    trigger (one page)."""

    KIND = "profile"

    def test_one_row_reports_the_mebibyte(self):
        self.assertEqual(len(self.big), 1, self.log.rows)

    def test_the_row_is_the_return_of_the_allocating_function(self):
        row = self.big[0]
        self.assertEqual((row.what, row.function, row.file, row.line),
                         ("RETURN", "allocate_one_mebibyte", self.script, AFTER_ALLOCATION_LINE))

    def test_the_row_is_the_first_event_after_the_allocation(self):
        row = self.big[0]
        before = self.log.rows[self.log.rows.index(row) - 1]
        # The last event before the allocation is the return of the third noop() call.
        self.assertEqual((before.what, before.function), ("RETURN", "noop"))
        self.assertEqual(row.event, before.event + 1)

    def test_the_skipped_event_before_it_is_a_prev_row_with_its_own_rss(self):
        row = self.big[0]
        before = self.log.rows[self.log.rows.index(row) - 1]
        self.assertEqual(before.tag, "PREV")
        self.assertLess(before.rss, row.rss)
        self.assertGreaterEqual(row.rss - before.rss, MIB)
        self.assertEqual(row.d_rss, row.rss - before.rss)


class ProfileEventsTest(TempDirTestCase):

    def profile_log(self, body, **kwargs):
        with pymemtrace.Profile(0, filepath=self.path("profile.log"), **kwargs) as profile:
            body()
        return profile, parse_log(profile.log_path)

    def test_records_python_calls_and_returns(self):
        _, log = self.profile_log(plain_function)
        self.assertEqual(len(log.find(what="CALL", function="plain_function", file=__file__)), 1)
        self.assertEqual(len(log.find(what="RETURN", function="plain_function", file=__file__)),
                         1)

    def test_records_c_calls_returns_and_exceptions(self):
        def body():
            len("abc")
            raises_in_c()
        _, log = self.profile_log(body, c_calls=True)
        self.assertTrue(log.find(what="C_CALL", function="len", file=__file__))
        self.assertTrue(log.find(what="C_RETURN", function="len", file=__file__))
        self.assertTrue(log.find(what="C_CALL", function="divmod", file=__file__))
        self.assertTrue(log.find(what="C_EXCEPT", function="divmod", file=__file__))
        self.assertFalse(log.find(what="C_RETURN", function="divmod"))

    def test_records_no_lines_or_python_exceptions(self):
        _, log = self.profile_log(raises_in_c)
        whats = {r.what for r in log.event_rows}
        self.assertLessEqual(whats, {"START", "CALL", "RETURN", "C_CALL", "C_RETURN", "C_EXCEPT",
                                     "STOP"})

    def test_c_calls_only_when_asked_for(self):
        _, log = self.profile_log(raises_in_c)
        self.assertTrue(log.find(what="CALL", function="raises_in_c"))
        self.assertFalse([row for row in log.event_rows if row.what.startswith("C_")])

    def test_c_call_row_carries_the_line_of_the_call(self):
        _, log = self.profile_log(raises_in_c, c_calls=True)
        row, = log.find(what="C_CALL", function="divmod")
        self.assertEqual(row.line, raises_in_c.__code__.co_firstlineno + 2)

    def test_generator_calls_and_returns_are_balanced(self):
        _, log = self.profile_log(lambda: list(three_values()))
        calls = log.find(what="CALL", function="three_values")
        returns = log.find(what="RETURN", function="three_values")
        self.assertEqual(len(calls), 4)  # first call and three resumptions
        self.assertEqual(len(calls), len(returns))

    def test_context_manager_is_active_only_inside(self):
        profile = pymemtrace.Profile(filepath=self.path("profile.log"))
        self.assertFalse(profile.active)
        self.assertIsNone(profile.log_path)
        with profile as entered:
            self.assertIs(entered, profile)
            self.assertTrue(profile.active)
            self.assertEqual(profile.log_path, self.path("profile.log"))
        self.assertFalse(profile.active)
        self.assertGreater(profile.events_seen, 0)
        self.assertGreaterEqual(profile.events_seen, profile.events_written)

    def test_exception_in_with_block_propagates_and_log_is_complete(self):
        with self.assertRaises(KeyError):
            with pymemtrace.Profile(0, filepath=self.path("profile.log")) as profile:
                raise KeyError("out")
        log = parse_log(profile.log_path)
        self.assertEqual(log.rows[-1].tag, "LAST")
        self.assertFalse(profile.active)

    def test_default_log_name_is_date_time_pid_in_current_directory(self):
        cwd = os.getcwd()
        os.chdir(self.tmp)
        try:
            with pymemtrace.Profile() as profile:
                plain_function()
        finally:
            os.chdir(cwd)
        name = os.path.basename(profile.log_path)
        self.assertRegex(name, rf"^\d{{6}}_\d{{6}}_{os.getpid()}(_\d+)?\.log$")
        self.assertTrue(os.path.isfile(self.path(name)))


class ProfileDecoratorTest(TempDirTestCase):

    def test_each_call_writes_its_own_log(self):
        path = self.path("decorated.log")

        @pymemtrace.Profile(0, filepath=path)
        def decorated(x):
            return plain_function() + x

        self.assertEqual(decorated(1), 43)
        self.assertEqual(decorated(2), 44)
        self.assertEqual(decorated.__name__, "decorated")
        self.assertEqual(sorted(os.listdir(self.tmp)), ["decorated.log", "decorated_1.log"])
        for name in os.listdir(self.tmp):
            log = parse_log(self.path(name))
            self.assertEqual(len(log.find(what="CALL", function="decorated")), 1)
            self.assertEqual(len(log.find(what="CALL", function="plain_function")), 1)

    def test_decorating_a_non_callable_raises_type_error(self):
        with self.assertRaises(TypeError):
            pymemtrace.Profile()(42)


if __name__ == "__main__":
    unittest.main()
