"""The HTML report of a long log: its size and how long it takes to make and to open
(issue 14's bound: a 100 M-event log gives a report under 10 MB that opens in under 2 s; here a
log of --events events, 10 M by default).

    bench/report.py [--events N] [--keep DIR]

Makes a binary log of N events (Profile(0) over a loop of calls), then times `report` on it and
headless Chromium's load of the report (--dump-dom, which returns once the page has loaded),
and prints the sizes. PYTHONPATH must hold the built pymemtrace package (build/python).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

import pymemtrace


def leaf(i):
    return i


def make_log(path, events):
    calls = events // 2
    with pymemtrace.Profile(0, filepath=path, log_format="binary", compression="zstd") as p:
        for i in range(calls):
            leaf(i)
            if i % 1_000_000 == 0:
                pymemtrace.mark(f"{i} calls")
    return p.events_written


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--keep", help="keep the log and the report in this directory")
    args = parser.parse_args()
    directory = args.keep or tempfile.mkdtemp(prefix="pmt-report-")
    try:
        log = os.path.join(directory, "long.pmt")
        report = os.path.join(directory, "long.html")
        start = time.perf_counter()
        written = make_log(log, args.events)
        made = time.perf_counter() - start
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pymemtrace", "report", log, "-o", report],
                       check=True)
        reported = time.perf_counter() - start
        print(f"log: {written} events, {os.path.getsize(log) / 1e6:.1f} MB (zstd), traced in "
              f"{made:.1f} s")
        print(f"report: {os.path.getsize(report) / 1e6:.3f} MB, made in {reported:.1f} s")
        chromium = shutil.which("chromium")
        if chromium:
            times = []
            for _ in range(3):
                start = time.perf_counter()
                subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                                f"--user-data-dir={os.path.join(directory, 'profile')}",
                                "--dump-dom", "file://" + report], check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                times.append(time.perf_counter() - start)
            print(f"headless chromium, start + load + DOM dump: {sorted(times)[1]:.2f} s "
                  f"(median of 3; {', '.join(f'{t:.2f}' for t in times)})")
        else:
            print("no chromium: load time not measured")
    finally:
        if not args.keep:
            shutil.rmtree(directory)


if __name__ == "__main__":
    main()
