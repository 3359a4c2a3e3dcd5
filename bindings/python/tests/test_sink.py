"""Profile/Trace's sink= callable: the same events as the log, none of its own, and a sink that
raises is dropped while the program and the log go on."""
import mmap
import sys
import unittest
import zlib

import pymemtrace
from logparse import TempDirTestCase, event_fields, log_fields, parse_log

WRAPPERS = (pymemtrace.Profile, pymemtrace.Trace)


def grow(pages, kept):
    """RSS grows by `pages` pages: fresh pages, each written to, kept alive."""
    block = mmap.mmap(-1, pages * mmap.PAGESIZE)
    for offset in range(0, len(block), mmap.PAGESIZE):
        block[offset] = 1
    kept.append(block)


def small_work():
    return sum(len(str(i)) for i in range(3))


def workload(wrapper_instance):
    """Growth (NEXT and PREV rows under the default trigger), calls and a two-line message."""
    kept = []
    for step in range(6):
        grow(step + 1, kept)
        small_work()
        if step == 2:
            wrapper_instance.write_message_to_log("half way\nthere")
    return kept


def helper_called_by_the_sink(event):
    return zlib.crc32(event.function.encode())


class SinkReceivesTheLogTest(TempDirTestCase):

    def test_the_sink_gets_exactly_the_rows_of_the_text_log(self):
        for wrapper in WRAPPERS:
            with self.subTest(wrapper=wrapper.__name__):
                received = []
                path = self.path(f"{wrapper.__name__}.log")
                with wrapper(filepath=path, sink=received.append) as instance:
                    workload(instance)
                log = parse_log(path)
                self.assertEqual(event_fields(received), log_fields(log))
                self.assertIn("PREV", {e.reason for e in received})
                self.assertEqual(log.messages, ["half way", "there"])  # two rows, one event
                self.assertEqual([e.message for e in received if e.kind == "MARK"],
                                 ["half way\nthere"])
                self.assertEqual(len(received), instance.events_written)
                self.assertEqual(instance.sinks_failed, 0)

    def test_events_the_sink_causes_are_not_traced(self):
        for wrapper in WRAPPERS:
            with self.subTest(wrapper=wrapper.__name__):
                received = []

                def sink(event):  # a Python call and a C call per event
                    received.append(helper_called_by_the_sink(event))

                with wrapper(0, filepath=self.path(f"{wrapper.__name__}.log"),
                             sink=sink) as instance:
                    small_work()
                log = parse_log(instance.log_path)
                names = {r.function for r in log.event_rows}
                self.assertIn("small_work", names)
                self.assertFalse(names & {"sink", "helper_called_by_the_sink", "crc32",
                                          "zlib.crc32", "list.append"}, names)
                # Trigger 0 writes every event seen: no number was taken by the sink's events.
                self.assertEqual(log.event_numbers(), list(range(instance.events_seen)))
                self.assertEqual(len(received), instance.events_written)


class RaisingSinkTest(TempDirTestCase):

    def setUp(self):
        super().setUp()
        self.unraisable = []
        hook = sys.unraisablehook
        sys.unraisablehook = self.unraisable.append
        self.addCleanup(setattr, sys, "unraisablehook", hook)

    def test_a_raising_sink_is_disabled_and_the_program_and_log_go_on(self):
        for wrapper in WRAPPERS:
            with self.subTest(wrapper=wrapper.__name__):
                del self.unraisable[:]
                calls = []

                def sink(event):
                    calls.append(event)
                    if len(calls) == 3:
                        raise RuntimeError("sink broke")

                with wrapper(0, filepath=self.path(f"{wrapper.__name__}.log"),
                             sink=sink) as instance:
                    small_work()
                    after = small_work()
                self.assertEqual(after, 3)
                self.assertEqual(instance.sinks_failed, 1)
                self.assertEqual(len(calls), 3)
                self.assertEqual([u.exc_type for u in self.unraisable], [RuntimeError])
                log = parse_log(instance.log_path)  # complete, to its EOF
                self.assertEqual(len(log.find(what="CALL", function="small_work")), 2)
                self.assertEqual(log.rows[-1].tag, "LAST")


if __name__ == "__main__":
    unittest.main()
