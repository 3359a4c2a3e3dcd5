"""The pytest plugin, run for real with pytest (Debian's python3-pytest; skipped with the reason
where this interpreter has no pytest): --pymemtrace's table, limit_rss_growth and no_rss_leak
failing the tests that grow or leak and passing the others, bad marker arguments, sizes."""
import importlib.util
import os
import subprocess
import sys
import unittest
import xml.etree.ElementTree as ElementTree

from logparse import SANITIZED, TempDirTestCase, child_env

HAS_PYTEST = importlib.util.find_spec("pytest") is not None

SAMPLE = '''
import pytest
KEEP = []

def test_small():
    assert [0] * 10

@pytest.mark.limit_rss_growth("1 MiB")
def test_grows_too_much():
    KEEP.append(b"\\1" * (20 << 20))

@pytest.mark.limit_rss_growth("64 MiB")
def test_grows_within_limit():
    KEEP.append(b"\\1" * (8 << 20))

@pytest.mark.no_rss_leak(iterations=8, tolerance="2 MiB")
def test_leaks():
    KEEP.append(b"\\1" * (2 << 20))

@pytest.mark.no_rss_leak(iterations=8)
def test_does_not_leak():
    data = b"\\1" * (4 << 20)
    assert len(data) == 4 << 20

@pytest.mark.limit_rss_growth("lots")
def test_bad_size():
    pass
'''


@unittest.skipUnless(HAS_PYTEST, "this interpreter has no pytest (Debian: python3-pytest)")
class PytestPluginTest(TempDirTestCase):
    def pytest(self, *args):
        with open(self.path("test_sample.py"), "w") as f:
            f.write(SAMPLE)
        report = self.path("report.xml")
        done = subprocess.run([sys.executable, "-m", "pytest", "-p", "pymemtrace.pytest_plugin",
                               "-p", "no:cacheprovider", f"--junitxml={report}", *args,
                               "test_sample.py"],
                              cwd=self.tmp, env=child_env(), capture_output=True, text=True,
                              timeout=300)
        outcomes = {}
        for case in ElementTree.parse(report).iter("testcase"):
            failure = case.find("failure")
            outcomes[case.get("name")] = ("failed", failure.get("message")) if failure is not None \
                else ("passed", "")
        return done, outcomes

    def test_markers_and_the_table(self):
        done, outcomes = self.pytest("--pymemtrace")
        self.assertEqual(done.returncode, 1, done.stdout + done.stderr)
        self.assertEqual(outcomes["test_small"][0], "passed")
        self.assertEqual(outcomes["test_grows_within_limit"][0], "passed")
        if not SANITIZED:  # ASan's quarantine keeps what is freed: RSS grows by design there
            self.assertEqual(outcomes["test_does_not_leak"][0], "passed")
        self.assertEqual(outcomes["test_grows_too_much"][0], "failed")
        self.assertIn("more than the +1.00 MiB allowed", outcomes["test_grows_too_much"][1])
        self.assertEqual(outcomes["test_leaks"][0], "failed")
        self.assertIn("RSS kept growing", outcomes["test_leaks"][1])
        self.assertEqual(outcomes["test_bad_size"][0], "failed")
        self.assertIn("not a size: 'lots'", outcomes["test_bad_size"][1])
        self.assertIn("pymemtrace: RSS growth per test", done.stdout)
        table = done.stdout.split("pymemtrace: RSS growth per test")[1].splitlines()
        first = next(line for line in table if "MiB" in line)
        if not SANITIZED:  # (under ASan the quarantine makes the 8 runs grow most)
            self.assertIn("test_grows_too_much", first)  # 20 MiB: the most
        self.assertIn("in all, 6 tests", done.stdout)

    def test_without_the_option_no_table_markers_still_work(self):
        done, outcomes = self.pytest()
        self.assertNotIn("RSS growth per test", done.stdout)
        self.assertEqual(outcomes["test_grows_too_much"][0], "failed")

    def test_sizes(self):
        from pymemtrace.pytest_plugin import parse_size
        self.assertEqual(parse_size("10 MiB"), 10 << 20)
        self.assertEqual(parse_size("512KiB"), 512 << 10)
        self.assertEqual(parse_size("1.5 GB"), 1500000000)
        self.assertEqual(parse_size(4096), 4096)
        for bad in ("ten", "5 parsecs", -1):
            with self.assertRaises(ValueError):
                parse_size(bad)
        with self.assertRaises(TypeError):
            parse_size(True)


if __name__ == "__main__":
    unittest.main()
