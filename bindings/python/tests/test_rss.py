"""rss() and rss_peak(), and the module built once for every CPython >= 3.10."""
import mmap
import os
import unittest

import pymemtrace
from pymemtrace import _pymemtrace, cPyMemTrace
from logparse import MIB


class RssTest(unittest.TestCase):

    def test_values_are_positive_ints(self):
        for function in (pymemtrace.rss, pymemtrace.rss_peak):
            with self.subTest(function=function.__name__):
                value = function()
                self.assertIs(type(value), int)
                self.assertGreater(value, 0)

    def test_peak_is_at_least_current(self):
        self.assertGreaterEqual(pymemtrace.rss_peak(), pymemtrace.rss())

    def test_compat_module_has_the_same_functions(self):
        self.assertIs(cPyMemTrace.rss, pymemtrace.rss)
        self.assertIs(cPyMemTrace.rss_peak, pymemtrace.rss_peak)

    def test_rss_grows_when_16_mib_are_touched(self):
        size = 16 * MIB
        before = pymemtrace.rss()
        # Fresh anonymous pages: memory freed by earlier tests cannot be reused here.
        with mmap.mmap(-1, size) as block:
            for offset in range(0, size, mmap.PAGESIZE):
                block[offset] = 1
            after = pymemtrace.rss()
            peak = pymemtrace.rss_peak()
        self.assertGreaterEqual(after - before, 8 * MIB)
        self.assertGreaterEqual(peak, after)

    @unittest.skipUnless(os.path.exists("/proc/self/statm"), "Linux only")
    def test_rss_matches_proc_statm(self):
        with open("/proc/self/statm") as f:
            statm = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        self.assertLess(abs(pymemtrace.rss() - statm), MIB)


class ModuleTest(unittest.TestCase):

    def test_the_module_is_the_stable_abi_build(self):
        self.assertTrue(_pymemtrace.__file__.endswith(".abi3.so"), _pymemtrace.__file__)

    def test_version_and_provider_are_strings(self):
        self.assertRegex(pymemtrace.__version__, r"^\d+\.\d+\.\d+")
        self.assertIsInstance(pymemtrace.rss_provider, str)
        self.assertTrue(pymemtrace.rss_provider)


if __name__ == "__main__":
    unittest.main()
