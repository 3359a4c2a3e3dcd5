"""The text log: layout, event numbering, dRSS, the trigger filter, messages, own frames."""
import mmap
import unittest

import pymemtrace
from logparse import HEADER_COLUMNS, TempDirTestCase, parse_log, short_name

PAGE = mmap.PAGESIZE
EVENT_KINDS = {"START", "CALL", "RETURN", "C_CALL", "C_RETURN", "C_EXCEPT", "EXCEPT", "LINE",
               "STOP"}


def touch_new_pages(pages, kept):
    """Maps `pages` fresh pages, writes to each (RSS grows by that much) and keeps the map."""
    block = mmap.mmap(-1, pages * PAGE)
    for offset in range(0, pages * PAGE, PAGE):
        block[offset] = 1
    kept.append(block)


def small_work():
    total = 0
    for i in range(3):
        total += len(str(i))
    return total


class LayoutTest(TempDirTestCase):

    def read_lines(self, path):
        with open(path, encoding="utf-8") as f:
            return f.read().split("\n")

    def test_message_line_then_sof_hdr_frst_rows_last_eof(self):
        with pymemtrace.Profile(0, message="first line", filepath=self.path("p.log")) as p:
            small_work()
        lines = self.read_lines(p.log_path)
        self.assertEqual(lines[:2], ["first line", "SOF"])
        self.assertEqual(lines[2].split(), ["HDR:"] + HEADER_COLUMNS)
        self.assertTrue(lines[3].startswith("FRST: "))
        self.assertTrue(all(line.startswith("NEXT: ") for line in lines[4:-3]))
        self.assertTrue(lines[-3].startswith("LAST: "))
        self.assertEqual(lines[-2:], ["EOF", ""])

    def test_without_message_the_file_starts_with_sof(self):
        with pymemtrace.Trace(0, filepath=self.path("t.log")) as t:
            small_work()
        lines = self.read_lines(t.log_path)
        self.assertEqual(lines[0], "SOF")
        self.assertIsNone(parse_log(t.log_path).message)

    def test_first_row_is_start_and_last_row_is_stop_at_the_callers_frame(self):
        with pymemtrace.Profile(0, filepath=self.path("p.log")) as p:
            small_work()
        log = parse_log(p.log_path)
        first, last = log.rows[0], log.rows[-1]
        self.assertEqual((first.tag, first.what, first.event, first.d_event, first.clock),
                         ("FRST", "START", 0, 0, 0.0))
        self.assertEqual(first.d_rss, first.rss)
        self.assertEqual((last.tag, last.what), ("LAST", "STOP"))
        for row in (first, last):
            self.assertEqual((row.file, short_name(row.function)), (__file__, self._testMethodName))

    def test_what_column_holds_known_event_names(self):
        with pymemtrace.Profile(0, filepath=self.path("p.log")) as p:
            small_work()
        with pymemtrace.Trace(0, filepath=self.path("t.log")) as t:
            small_work()
        for path in (p.log_path, t.log_path):
            self.assertLessEqual({r.what for r in parse_log(path).event_rows}, EVENT_KINDS)


class NumberingTest(TempDirTestCase):
    """With trigger 0 every event is written: numbers run 0, 1, 2, ... and dEvent is +1."""

    def check_every_event_written(self, wrapper):
        with wrapper(0, filepath=self.path("log.log")) as instance:
            small_work()
            instance.write_message_to_log("one\ntwo")
            small_work()
        log = parse_log(instance.log_path)
        numbers = log.event_numbers()
        self.assertEqual(numbers, list(range(len(numbers))))
        self.assertEqual([r.event for r in log.rows], sorted(r.event for r in log.rows))
        self.assertEqual({r.d_event for r in log.rows[1:]}, {1})
        self.assertEqual(log.rows[-1].event, instance.events_seen - 1)
        self.assertEqual(instance.events_written, instance.events_seen)
        self.assertEqual(len(numbers), instance.events_seen)
        self.assertNotIn("PREV", {r.tag for r in log.rows})

    def test_profile_with_trigger_0(self):
        self.check_every_event_written(pymemtrace.Profile)

    def test_trace_with_trigger_0(self):
        self.check_every_event_written(pymemtrace.Trace)

    def test_last_row_number_is_events_seen_minus_one_when_events_are_skipped(self):
        with pymemtrace.Trace(filepath=self.path("t.log")) as t:
            small_work()
        log = parse_log(t.log_path)
        self.assertEqual(log.rows[-1].event, t.events_seen - 1)
        self.assertLess(t.events_written, t.events_seen)
        self.assertEqual(len(log.event_numbers()), t.events_written)
        # dEvent counts the events since the previous row, written or not.
        for before, row in zip(log.rows, log.rows[1:]):
            self.assertEqual(row.d_event, row.event - before.event)

    def test_clock_never_goes_back(self):
        with pymemtrace.Trace(0, filepath=self.path("t.log")) as t:
            small_work()
        clocks = [r.clock for r in parse_log(t.log_path).rows]
        self.assertEqual(clocks, sorted(clocks))


class MessageTest(TempDirTestCase):

    def test_each_line_of_a_message_is_one_msg_row(self):
        with pymemtrace.Profile(filepath=self.path("p.log")) as p:
            p.write_message_to_log("a\nb")
        log = parse_log(p.log_path)
        rows = log.find(tag="MSG")
        self.assertEqual([r.text for r in rows], ["a", "b"])
        self.assertEqual(rows[0].event, rows[1].event)

    def test_messages_keep_their_place_among_events(self):
        with pymemtrace.Trace(0, filepath=self.path("t.log")) as t:
            t.write_message_to_log("before")
            small_work()
            t.write_message_to_log("after")
        log = parse_log(t.log_path)
        order = [r.text if r.tag == "MSG" else (r.what, r.function) for r in log.rows]
        call = order.index(("CALL", "small_work"))
        self.assertLess(order.index("before"), call)
        self.assertGreater(order.index("after"), call)

    def test_control_characters_cannot_break_a_row(self):
        with pymemtrace.Profile(filepath=self.path("p.log")) as p:
            p.write_message_to_log("tab\there\rcarriage")
        self.assertEqual(parse_log(p.log_path).messages, ["tab\\x09here\\x0dcarriage"])

    def test_a_message_is_never_cut_at_a_nul_character(self):
        with pymemtrace.Profile(filepath=self.path("p.log")) as p:
            try:
                p.write_message_to_log("before\0after")
            except ValueError:
                return  # refusing it is fine too
        self.assertEqual(parse_log(p.log_path).messages, ["before\\x00after"])

    def test_the_header_message_stays_one_line(self):
        try:
            with pymemtrace.Profile(message="two\nlines", filepath=self.path("p.log")) as p:
                pass
        except ValueError:
            return  # refusing it is fine too
        with open(p.log_path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        self.assertEqual(lines[1], "SOF")
        self.assertIn("two", lines[0])
        self.assertIn("lines", lines[0])


class TriggerTest(TempDirTestCase):
    """NEXT rows are the events whose RSS moved >= trigger from the last written row; PREV rows
    are the skipped events just before them, with their own RSS."""

    def run_growth(self, **kwargs):
        kept = []
        with pymemtrace.Profile(filepath=self.path("p.log"), **kwargs) as p:
            for pages in (1, 1, 2, 3, 1, 5, 8, 1, 1, 13):
                touch_new_pages(pages, kept)
        return parse_log(p.log_path)

    def check_filter(self, log, trigger):
        last_written = None  # RSS of the last written event row, None after a MSG
        prev_rows = 0
        for before, row in zip([None] + log.rows, log.rows):
            if row.tag == "MSG":
                last_written = None
                continue
            if before is not None and before.tag != "MSG":
                self.assertEqual(row.d_rss, row.rss - before.rss, row)
            if row.tag == "FRST":
                self.assertEqual(row.d_rss, row.rss)
            elif row.tag == "PREV":
                prev_rows += 1
                following = log.rows[log.rows.index(row) + 1]
                self.assertEqual((following.tag, following.event), ("NEXT", row.event + 1))
                if last_written is not None:
                    self.assertLess(abs(row.rss - last_written), trigger, row)
                continue  # the filter compares the NEXT row with the row before the PREV
            elif row.tag == "NEXT" and last_written is not None:
                self.assertGreaterEqual(abs(row.rss - last_written), trigger, row)
            last_written = row.rss
        return prev_rows

    def test_default_trigger_is_one_page(self):
        log = self.run_growth()
        self.assertGreater(self.check_filter(log, PAGE), 0)
        # Every call of touch_new_pages grows RSS by at least one page: one NEXT row each.
        self.assertGreaterEqual(len([r for r in log.find(tag="NEXT") if r.d_rss > 0]), 10)

    def test_trigger_in_bytes(self):
        trigger = 3 * PAGE
        log = self.run_growth(d_rss_trigger=trigger)
        self.assertGreater(self.check_filter(log, trigger), 0)
        grown = [r for r in log.find(tag="NEXT") if r.d_rss > 0]
        self.assertGreater(len(grown), 0)
        self.assertLess(len(grown), 10)  # small steps add up before they are written


class OwnFramesTest(TempDirTestCase):
    """Frames of the pymemtrace package itself never appear, whatever the form of use."""

    def test_profile_and_trace(self):
        for wrapper in (pymemtrace.Profile, pymemtrace.Trace):
            with self.subTest(wrapper=wrapper.__name__):
                with wrapper(0, filepath=self.path(f"{wrapper.__name__}.log")) as instance:
                    small_work()
                    instance.write_message_to_log("x")
                log = parse_log(instance.log_path)
                self.assertNoOwnFrames(log)
                self.assertTrue(log.find(function="small_work"))

    def test_nested_and_both_kinds(self):
        with pymemtrace.Profile(0, filepath=self.path("p1.log")):
            with pymemtrace.Trace(0, filepath=self.path("t1.log")):
                with pymemtrace.Profile(0, filepath=self.path("p2.log")):
                    with pymemtrace.Trace(0, filepath=self.path("t2.log")):
                        small_work()
        for name in ("p1.log", "t1.log", "p2.log", "t2.log"):
            with self.subTest(log=name):
                self.assertNoOwnFrames(parse_log(self.path(name)))

    def test_decorator(self):
        @pymemtrace.Trace(0, filepath=self.path("t.log"))
        def decorated():
            return small_work()

        decorated()
        log = parse_log(self.path("t.log"))
        self.assertNoOwnFrames(log)
        self.assertTrue(log.find(what="CALL", function="decorated"))


if __name__ == "__main__":
    unittest.main()
