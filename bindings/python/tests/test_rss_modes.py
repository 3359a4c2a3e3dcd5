"""rss_mode: each way of reading RSS reports the growth of a traced allocation, and says so."""
import mmap
import os
import unittest

import pymemtrace
from logparse import MIB, TempDirTestCase, exact_rss

SIZE = 4 * MIB
# Fresh anonymous pages, written and kept alive: heap memory freed by earlier tests would be
# reused without a page fault, and RSS would rightly not grow.
_kept = []


def allocate():
    buffer = mmap.mmap(-1, SIZE)
    buffer.write(b"\x01" * SIZE)
    return buffer


@exact_rss
class RssModeTest(TempDirTestCase):

    def traced(self, mode):
        path = self.path(f"{mode}.pmt")
        with pymemtrace.Profile(0, filepath=path, log_format="binary", rss_mode=mode) as p:
            _kept.append(allocate())
        with pymemtrace.open_log(p.log_path) as log:
            rows = list(log)
            return log.header, rows

    def check_growth_seen(self, mode):
        header, rows = self.traced(mode)
        grown = [e for e in rows if e.function == "allocate" and e.kind == "RETURN"]
        self.assertEqual(len(grown), 1)
        self.assertGreaterEqual(grown[0].d_rss, SIZE, rows)
        return header

    def test_exact(self):
        header = self.check_growth_seen("exact")
        self.assertEqual(header["rss_provider"], "linux-statm")
        self.assertIn("exact", header["rss_accuracy"])

    def test_fault_gate_sees_this_threads_growth(self):
        try:
            header = self.check_growth_seen("fault-gate")
        except RuntimeError as error:  # perf_event_paranoid > 2 here
            self.skipTest(str(error))
        self.assertEqual(header["rss_provider"], "linux-fault-gate")

    def test_interval_records_its_provider(self):
        header, rows = self.traced("interval")
        self.assertEqual(header["rss_provider"], "linux-statm-interval")
        self.assertIn("stale", header["rss_accuracy"])
        self.assertTrue(all(e.rss > 0 for e in rows))

    def test_kernel_ring_is_exact_or_refused_with_a_reason(self):
        try:
            header = self.check_growth_seen("kernel-ring")
        except RuntimeError as error:
            self.assertIn("kmem:rss_stat", str(error))
            return
        self.assertEqual(header["rss_provider"], "linux-rss_stat-ring")

    def test_auto_names_what_it_chose(self):
        header = self.check_growth_seen("auto")
        self.assertIn(header["rss_provider"],
                      ("linux-rss_stat-ring", "linux-fault-gate", "linux-statm-interval"))

    def test_auto_is_what_the_wrapper_reports(self):
        with pymemtrace.Profile(0, filepath=self.path("auto.log")) as p:
            self.assertEqual(p.rss_provider, p._tracer.rss_provider)
        self.assertIn(p.rss_provider, ("linux-rss_stat-ring", "linux-fault-gate",
                                       "linux-statm-interval"))

    def test_none_reads_nothing_and_still_traces(self):
        header, rows = self.traced("none")
        self.assertEqual(header["rss_provider"], "none")
        self.assertEqual({e.rss for e in rows}, {0})
        self.assertTrue([e for e in rows if e.function == "allocate" and e.kind == "CALL"])

    def test_unknown_mode_is_a_value_error(self):
        with self.assertRaises(ValueError):
            pymemtrace.Profile(rss_mode="fast")


if __name__ == "__main__":
    unittest.main()
