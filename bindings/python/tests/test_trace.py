"""Trace: Python calls, returns, lines and exceptions."""
import unittest

import pymemtrace
from logparse import (AFTER_ALLOCATION_LINE, ALLOCATION_LINE, MIB, AllocationScenarioTestCase,
                      TempDirTestCase, parse_log)


def three_lines():
    a = 1
    b = a + 1
    return b + 1


def raise_key_error():
    raise KeyError("from a traced function")


def call_raise_key_error():
    raise_key_error()


def counter():
    yield 1
    yield 2


class TraceAllocationTest(AllocationScenarioTestCase):
    """The acceptance case under Trace: the line after the allocation reports the mebibyte."""

    KIND = "trace"

    def test_one_row_reports_the_mebibyte(self):
        self.assertEqual(len(self.big), 1, self.log.rows)

    def test_the_row_is_the_line_after_the_allocation(self):
        row = self.big[0]
        self.assertEqual((row.what, row.function, row.file, row.line),
                         ("LINE", "allocate_one_mebibyte", self.script, AFTER_ALLOCATION_LINE))

    def test_the_skipped_allocation_line_is_a_prev_row_with_its_own_rss(self):
        row = self.big[0]
        before = self.log.rows[self.log.rows.index(row) - 1]
        self.assertEqual((before.tag, before.what, before.line),
                         ("PREV", "LINE", ALLOCATION_LINE))
        self.assertEqual(before.event, row.event - 1)
        self.assertLess(before.rss, row.rss)
        self.assertEqual(row.d_rss, row.rss - before.rss)


class TraceEventsTest(TempDirTestCase):

    def trace_log(self, body):
        with pymemtrace.Trace(0, filepath=self.path("trace.log")) as trace:
            body()
        return trace, parse_log(trace.log_path)

    def test_records_call_every_line_and_return(self):
        _, log = self.trace_log(three_lines)
        first = three_lines.__code__.co_firstlineno
        rows = [r for r in log.event_rows if r.function == "three_lines"]
        self.assertEqual([(r.what, r.line) for r in rows if r.what != "CALL"],
                         [("LINE", first + 1), ("LINE", first + 2), ("LINE", first + 3),
                          ("RETURN", first + 3)])
        self.assertEqual(rows[0].what, "CALL")
        self.assertTrue(all(r.file == __file__ for r in rows))

    def test_records_no_c_calls(self):
        _, log = self.trace_log(lambda: len(str(three_lines())))
        whats = {r.what for r in log.event_rows}
        self.assertLessEqual(whats, {"START", "CALL", "RETURN", "LINE", "EXCEPT", "STOP"})
        self.assertIn("LINE", whats)

    def test_exception_out_of_a_traced_function_is_recorded_and_program_continues(self):
        caught = []

        def body():
            try:
                call_raise_key_error()
            except KeyError as e:
                caught.append(e)
        _, log = self.trace_log(body)
        self.assertEqual(len(caught), 1)
        raise_line = raise_key_error.__code__.co_firstlineno + 1
        self.assertTrue(log.find(what="EXCEPT", function="raise_key_error", line=raise_line))
        self.assertTrue(log.find(what="EXCEPT", function="call_raise_key_error"))
        # The functions the exception left still return (unwinding).
        self.assertTrue(log.find(what="RETURN", function="raise_key_error"))
        self.assertTrue(log.find(what="RETURN", function="call_raise_key_error"))
        self.assertEqual(log.rows[-1].tag, "LAST")

    def test_exception_escaping_the_with_block_is_not_swallowed(self):
        with self.assertRaises(KeyError):
            with pymemtrace.Trace(0, filepath=self.path("trace.log")) as trace:
                call_raise_key_error()
        log = parse_log(trace.log_path)
        self.assertTrue(log.find(what="EXCEPT", function="raise_key_error"))
        self.assertEqual(log.rows[-1].tag, "LAST")

    def test_generator_calls_and_returns_are_balanced(self):
        _, log = self.trace_log(lambda: list(counter()))
        calls = log.find(what="CALL", function="counter")
        returns = log.find(what="RETURN", function="counter")
        self.assertEqual(len(calls), 3)
        self.assertEqual(len(returns), 3)


if __name__ == "__main__":
    unittest.main()
