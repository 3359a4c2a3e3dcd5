"""The HTML report and the plots: a self-contained file (no script, nothing fetched) with the RSS
timeline, marks, collections, the functions that grew and the allocations; opened in headless
Chromium (Debian's chromium; skipped with the reason where it is missing): it loads without a
console error, the SVG is there and not empty, the function names are in the DOM and a
screenshot is not blank. Its size stays bounded for a long log. The SVG plot and the gnuplot
files read back."""
import gc
import os
import re
import shutil
import struct
import subprocess
import unittest
import xml.etree.ElementTree as ElementTree
import zlib

import pymemtrace
from logparse import TempDirTestCase, run_cli

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def grow_lists(n):
    return [bytearray(4096) for _ in range(n)]


def workload():
    keep = []
    for _ in range(5):
        keep.append(grow_lists(300))
    pymemtrace.mark("grown")
    gc.collect()
    return keep


def png_colours(path):
    """The number of distinct bytes in a PNG's decoded pixel rows (1 for a blank page)."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + length]
        pos += 12 + length
    return len(set(zlib.decompress(idat)))


class ReportTest(TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.log = self.path("run.pmt")
        with pymemtrace.Profile(filepath=self.log, log_format="binary", gc=True,
                                allocations=True, monitor=0.002):
            kept = workload()
        self.assertTrue(kept)

    def report(self):
        out = self.path("report.html")
        done = run_cli("report", self.log, "-o", out, cwd=self.tmp)
        self.assertEqual(done.returncode, 0, done.stderr)
        with open(out, encoding="utf-8") as f:
            return out, f.read()

    def test_self_contained_with_its_parts(self):
        _, page = self.report()
        self.assertNotIn("<script", page)
        self.assertFalse(re.search(r'(src|href)\s*=\s*["\']?(https?:)?//', page))
        self.assertIn('<polyline class="rss"', page)
        self.assertIn('class="mark"', page)
        self.assertIn("grown", page)
        self.assertIn('<line class="gc"', page)  # the collection's tick
        self.assertIn("grow_lists", page)
        self.assertIn("Where RSS grew, by the user's functions", page)
        self.assertIn("Bytes allocated, by function", page)
        self.assertIn('<svg xmlns="http://www.w3.org/2000/svg" class="histogram"', page)
        self.assertIn("The monitor's last sample", page)  # the monitor's samples (monitor=)
        self.assertRegex(page, r"<td>samples</td><td>[1-9]")
        self.assertNotIn("&lt;monitor&gt;", page)  # a sample is no place where RSS grew

    def test_size_is_bounded(self):
        big = self.path("big.pmt")
        with pymemtrace.Profile(0, filepath=big, log_format="binary"):
            for i in range(60000):
                len(str(i))
        self.log = big
        _, page = self.report()
        points = re.search(r'<polyline class="rss"[^>]*points="([^"]*)"', page).group(1).split()
        self.assertLessEqual(len(points), 2 * 2000)
        self.assertLess(len(page.encode()), 1 << 20)

    def test_the_c_pass_sums_as_python_does(self):
        """LogReader.summarize (the binary logs' pass) gives what the Python pass gives, for a
        log of every kind the report shows and for one that makes the buckets merge."""
        from pymemtrace import report
        big = self.path("merging.pmt")
        with pymemtrace.Profile(0, filepath=big, log_format="binary", monitor=0.002):
            keep = [grow_lists(1) for _ in range(30000)]
        del keep
        for path, points in ((self.log, 2000), (big, 2000), (big, 7)):
            with self.subTest(log=os.path.basename(path), points=points):
                with pymemtrace.open_log(path) as log:
                    in_python = report.summarize(log, points, in_c=False)
                with pymemtrace.open_log(path) as log:
                    in_c = report.summarize(log, points)
                a, b = in_python.pop("timeline"), in_c.pop("timeline")
                self.assertEqual((a.buckets, a.width, a.origin, a.end, a.marks, a.gcs),
                                 (b.buckets, b.width, b.origin, b.end, b.marks, b.gcs))
                self.assertLessEqual(len(b.buckets), points)
                self.assertEqual(in_python, in_c)
                self.assertTrue(in_c["growth"] and in_c["kinds"]["SAMPLE"])
        with pymemtrace.open_log(self.log) as log:
            with self.assertRaises(ValueError):
                log._reader.summarize(1)

    @unittest.skipUnless(CHROMIUM, "no chromium here (Debian: chromium)")
    def test_in_chromium(self):
        path, _ = self.report()
        url = "file://" + os.path.abspath(path)
        common = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                  "--user-data-dir=" + self.path("profile"), "--enable-logging=stderr", "--v=0"]
        # Chromium is a program of its own: not under the sanitizer runtime the suite may run
        # with (LD_PRELOAD), which hangs it.
        env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
        dom = subprocess.run(common + ["--dump-dom", url], capture_output=True, text=True,
                             timeout=120, env=env)
        self.assertEqual(dom.returncode, 0, dom.stderr[-2000:])
        self.assertNotIn("CONSOLE", dom.stderr)  # no console message, error or otherwise
        self.assertIn("grow_lists", dom.stdout)
        points = re.search(r'<polyline class="rss"[^>]*points="([^"]*)"', dom.stdout)
        self.assertIsNotNone(points)
        self.assertGreater(len(points.group(1).split()), 3)
        shot = self.path("shot.png")
        done = subprocess.run(common + [f"--screenshot={shot}", "--window-size=1024,900", url],
                              capture_output=True, text=True, timeout=120, env=env)
        self.assertEqual(done.returncode, 0, done.stderr[-2000:])
        self.assertGreater(png_colours(shot), 16)  # text, lines and the plot: not blank

    def test_plot_svg_and_gnuplot(self):
        svg, plots = self.path("rss.svg"), self.path("plots")
        done = run_cli("plot", self.log, "-o", svg, "--gnuplot", plots, cwd=self.tmp)
        self.assertEqual(done.returncode, 0, done.stderr)
        root = ElementTree.parse(svg).getroot()
        self.assertTrue(root.tag.endswith("svg"))
        self.assertTrue([e for e in root.iter() if e.tag.endswith("polyline")])
        with open(os.path.join(plots, "run.dat")) as f:
            rows = [line.split() for line in f if not line.startswith("#")]
        self.assertTrue(rows)
        self.assertTrue(all(len(r) == 3 and float(r[2]) >= float(r[1]) for r in rows))
        with open(os.path.join(plots, "run.plt")) as f:
            script = f.read()
        self.assertIn('plot "run.dat"', script)
        self.assertIn('"grown"', script)
        bad = run_cli("plot", self.log, "-o", self.path("rss.gif"), cwd=self.tmp)
        self.assertEqual(bad.returncode, 2)

    @unittest.skipUnless(CHROMIUM, "no chromium here (Debian: chromium)")
    def test_plot_png(self):
        png = self.path("rss.png")
        done = run_cli("plot", self.log, "-o", png, cwd=self.tmp)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertGreater(png_colours(png), 8)  # the axes, the line, the labels


if __name__ == "__main__":
    unittest.main()
