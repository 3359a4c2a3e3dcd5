"""SIGKILL at a random moment loses nothing, and a crash says so in the log: a traced program counts in shared memory the events
its callable sink was given (the log's sink comes first, so every event counted was given to the
log before), is killed, and its log holds at least as many events, every one whole. Both sinks,
twenty kills each on every interpreter the suite runs on. And a `with Pool()` run, whose workers
Pool.terminate() kills, keeps their events."""
import glob
import mmap
import os
import random
import signal
import struct
import subprocess
import sys
import time
import unittest

import pymemtrace
from logparse import SANITIZED, TempDirTestCase, child_env, run_cli

KILLS = 20  # per sink on every interpreter run: 120 per sink in CI, and 100 in C (check_binary_damage)

CHILD = """\
import ctypes, mmap, struct, sys, time
import pymemtrace

# Never outlive the test: die with the parent (PR_SET_PDEATHSIG), and stop after 30 s anyway.
ctypes.CDLL(None, use_errno=True).prctl(1, 9)
deadline = time.monotonic() + 30

path, log_format, counter_path = sys.argv[1:4]
with open(counter_path, "r+b") as f:
    counter = mmap.mmap(f.fileno(), 8)
count = [0]

def counted(event):
    count[0] += 1
    counter[0:8] = struct.pack("<Q", count[0])

def work(i):
    return [i] * (i % 50)

with pymemtrace.Profile(0, filepath=path, log_format=log_format, sink=counted):
    i = 0
    while i % 1000 or time.monotonic() < deadline:
        work(i)
        i += 1
"""


def events_in(path):
    with pymemtrace.open_log(path) as log:
        events = list(log)
        return events, log.status()


class KillTest(TempDirTestCase):
    def kill_many(self, log_format):
        script = self.path("child.py")
        with open(script, "w") as f:
            f.write(CHILD)
        counter_path = self.path("counter")
        rng = random.Random(os.getpid())
        for run in range(KILLS):
            with open(counter_path, "wb") as f:
                f.write(b"\0" * 8)
            path = self.path(f"run{run}.{'pmt' if log_format == 'binary' else 'log'}")
            child = subprocess.Popen([sys.executable, script, path, log_format, counter_path],
                                     env=child_env(), stderr=subprocess.PIPE)
            with open(counter_path, "rb") as f:
                counter = mmap.mmap(f.fileno(), 8, access=mmap.ACCESS_READ)
                deadline = time.monotonic() + 60
                while struct.unpack("<Q", counter[0:8])[0] == 0 and time.monotonic() < deadline:
                    time.sleep(0.001)  # tracing has begun
                time.sleep(rng.random() * 0.2)  # then anywhere in the run
                child.send_signal(signal.SIGKILL)
                child.wait()
                delivered = struct.unpack("<Q", counter[0:8])[0]
                counter.close()
            child.stderr.close()
            self.assertEqual(child.returncode, -signal.SIGKILL)
            events, status = events_in(path)
            self.assertGreater(delivered, 0)
            # Every event the callable was given was given to the log first, and is in it; the
            # log may hold the one event being counted when the kill came.
            self.assertGreaterEqual(len(events), delivered, (run, status))
            self.assertLessEqual(len(events), delivered + 1, (run, status))
            self.assertEqual([e.seq for e in events], list(range(len(events))))
            self.assertEqual(status[0], "truncated", status)
            os.unlink(path)

    def test_binary_logs_lose_no_event(self):
        self.kill_many("binary")

    def test_text_logs_lose_no_row(self):
        self.kill_many("text")


POOL = """\
import multiprocessing, time

def init(c):
    global counter
    counter = c

def step(i):
    return i + 1

def task(i):
    with counter.get_lock():
        counter.value += 1  # after this call's CALL event was given to the log
    for j in range(2000):
        step(j)
    return i

if __name__ == "__main__":
    multiprocessing.set_start_method("fork")
    counter = multiprocessing.Value("i", 0)
    with multiprocessing.Pool(2, initializer=init, initargs=(counter,)) as pool:
        pool.map_async(task, range(100000))
        time.sleep(0.3)
    # Leaving the block terminated the workers (SIGTERM) in the middle of their tasks.
    print(counter.get_obj().value)  # a worker killed holding the lock must not hang this
"""


class PoolTerminateTest(TempDirTestCase):
    def test_terminated_workers_keep_every_event(self):
        script = self.path("pool.py")
        with open(script, "w") as f:
            f.write(POOL)
        log = self.path("run.pmt")
        done = run_cli("run", "-d", "0", "--binary", "--follow-children", "-o", log, script,
                       cwd=self.tmp)
        self.assertEqual(done.returncode, 0, done.stderr)
        started = int(done.stdout.decode().split()[0])
        self.assertGreater(started, 10)
        workers = glob.glob(self.path("run.pid*.pmt"))
        self.assertGreaterEqual(len(workers), 2, os.listdir(self.tmp))
        calls = 0
        for path in workers:
            events, status = events_in(path)
            calls += sum(1 for e in events if e.kind == "CALL" and e.function == "task")
            self.assertEqual(status[0], "truncated", (path, status))  # killed, not closed
        # Every task a worker started is in its log; a worker killed between a task's CALL and
        # its count may add one more.
        self.assertGreaterEqual(calls, started)
        self.assertLessEqual(calls, started + len(workers))


CRASH = """\
import ctypes, os, sys
import pymemtrace

def work(i):
    return i

p = pymemtrace.Profile(0, filepath=sys.argv[1], log_format="binary")
p.__enter__()
for i in range(1000):
    work(i)
if sys.argv[2] == "segv":
    ctypes.string_at(0)  # a crash in C code
os.abort()
"""


@unittest.skipIf(SANITIZED, "a sanitizer handles fatal signals itself (reports, exits 1)")
class FatalSignalTest(TempDirTestCase):
    """A crash or an abort adds a last MARK naming the signal, at the last event's place; the
    process still dies of it, and a faulthandler installed before still reports it."""

    def crash(self, how, *python_options):
        script = self.path("crash.py")
        with open(script, "w") as f:
            f.write(CRASH)
        log = self.path(f"{how}.pmt")
        done = subprocess.run([sys.executable, *python_options, script, log, how],
                              env=child_env(), capture_output=True, text=True, timeout=60)
        events, status = events_in(log)
        return done, events, status

    def test_a_crash_is_the_last_row(self):
        done, events, status = self.crash("segv")
        self.assertEqual(done.returncode, -signal.SIGSEGV)
        last = events[-1]
        self.assertEqual(last.kind, "MARK")
        self.assertIn("SIGSEGV", last.message)
        self.assertEqual(last.function, events[-2].function)  # the place of the last event
        self.assertEqual([e.seq for e in events], list(range(len(events))))
        self.assertEqual(sum(1 for e in events if e.function == "work"), 2000)
        self.assertEqual(status[0], "truncated")

    def test_an_abort_is_the_last_row(self):
        done, events, _ = self.crash("abort")
        self.assertEqual(done.returncode, -signal.SIGABRT)
        self.assertEqual(events[-1].kind, "MARK")
        self.assertIn("SIGABRT", events[-1].message)

    def test_faulthandler_still_reports(self):
        done, events, _ = self.crash("segv", "-X", "faulthandler")
        self.assertEqual(done.returncode, -signal.SIGSEGV)
        self.assertIn("Fatal Python error: Segmentation fault", done.stderr)
        self.assertIn("SIGSEGV", events[-1].message)


if __name__ == "__main__":
    unittest.main()
