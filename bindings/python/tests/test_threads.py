"""A tracer sees every thread of its interpreter (threads="all", the default), each event carries
its thread's id and depth, and no event is lost or attributed to the wrong thread."""
import sys
import threading
import unittest

import pymemtrace
from logparse import TempDirTestCase, frames_here

THREADS = 8
CALLS = 2000


def leaf(i):
    return i * 2


def work(n):
    total = 0
    for i in range(n):
        total += leaf(i)
    return total


def run_workers(target, count=THREADS, args=(CALLS,)):
    barrier = threading.Barrier(count)
    results = [None] * count

    def body(k):
        barrier.wait()
        results[k] = target(*args)

    threads = [threading.Thread(target=body, args=(k,)) for k in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def well_formed(events):
    """Per thread: every RETURN closes the innermost open CALL of the same function, one level
    down; returns the problems found."""
    problems, stacks = [], {}
    for ev in events:
        stack = stacks.setdefault(ev.thread_id, [])
        if ev.kind == "CALL":
            if stack and ev.depth != stack[-1][1] + 1:
                problems.append(f"CALL {ev.function} at depth {ev.depth} over {stack[-1]}")
            stack.append((ev.function, ev.depth))
        elif ev.kind == "RETURN" and stack:
            if stack[-1] != (ev.function, ev.depth):
                problems.append(f"RETURN {ev.function}/{ev.depth} closes {stack[-1]}")
            stack.pop()
    return problems


class AllThreadsTest(TempDirTestCase):
    def trace(self, body, **options):
        path = self.path("threads.pmt")
        with pymemtrace.Profile(0, filepath=path, log_format="binary", **options) as profile:
            result = body()
        with pymemtrace.open_log(profile.log_path) as log:
            events = list(log)
        self.assertEqual(len(events), profile.events_written)
        return result, events

    def test_every_call_of_every_thread_is_recorded_in_order(self):
        results, events = self.trace(lambda: run_workers(work))
        self.assertEqual(results, [work(CALLS)] * THREADS)
        main = threading.get_native_id()
        by_thread = {}
        for ev in events:
            by_thread.setdefault(ev.thread_id, []).append(ev)
        workers = [evs for evs in by_thread.values()
                   if any(e.kind == "CALL" and e.function == "work" for e in evs)]
        self.assertEqual(len(workers), THREADS)
        for evs in workers:
            calls = [e for e in evs if e.kind == "CALL" and e.function == "leaf"]
            returns = [e for e in evs if e.kind == "RETURN" and e.function == "leaf"]
            self.assertEqual((len(calls), len(returns)), (CALLS, CALLS))
            seqs = [e.seq for e in evs]
            self.assertEqual(seqs, sorted(seqs))
            self.assertEqual(len(set(seqs)), len(seqs))
            self.assertEqual(len({e.depth for e in calls}), 1, "leaf is always called at one depth")
        self.assertNotIn(main, [evs[0].thread_id for evs in workers])
        self.assertEqual(well_formed(events), [])
        seqs = [e.seq for e in events]
        self.assertEqual(seqs, sorted(seqs), "the log keeps the order events happened in")

    def test_depth_is_the_threads_own_stack_depth(self):
        seen = {}

        def measured():
            seen[threading.get_native_id()] = frames_here()
            return leaf(1)

        _, events = self.trace(lambda: run_workers(measured, count=2, args=()))
        for ev in events:
            if ev.kind == "CALL" and ev.function == "measured":
                self.assertEqual(ev.depth, seen[ev.thread_id])

    def test_threads_running_before_the_start(self):
        go, stop, started = threading.Event(), threading.Event(), threading.Event()

        def early():
            started.set()
            go.wait()
            while not stop.is_set():
                leaf(3)
            return work(10)

        thread = threading.Thread(target=early)
        thread.start()
        started.wait()

        def body():
            go.set()
            work(100)
            stop.set()
            thread.join()

        _, events = self.trace(body)
        others = {e.thread_id for e in events if e.function == "leaf"} - {threading.get_native_id()}
        if sys.version_info >= (3, 12):
            self.assertEqual(len(others), 1, "sys.monitoring reaches threads already running")
            self.assertEqual(well_formed(events), [])
        else:
            # Documented (PMT_THREADS_ALL): 3.10/3.11 hooks can only be installed per thread.
            self.assertEqual(others, set())

    def test_calling_thread_only(self):
        def body():
            run_workers(work, count=2, args=(10,))
            return work(10)

        _, events = self.trace(body, threads="calling")
        self.assertEqual({e.thread_id for e in events}, {threading.get_native_id()})
        self.assertTrue([e for e in events if e.function == "work"])

    def test_marks_from_any_thread(self):
        def body():
            t = threading.Thread(target=lambda: pymemtrace.mark("from a worker"))
            t.start()
            t.join()
            pymemtrace.mark("from main")
            return t.native_id

        worker, events = self.trace(body)
        marks = {e.message: e for e in events if e.kind == "MARK"}
        self.assertEqual(marks["from a worker"].thread_id, worker)
        self.assertEqual(marks["from main"].thread_id, threading.get_native_id())
        self.assertGreater(marks["from a worker"].rss, 0)

    def test_text_log_of_threads_is_complete(self):
        path = self.path("threads.log")
        with pymemtrace.Profile(0, filepath=path) as profile:
            run_workers(work, count=4, args=(100,))
        from logparse import parse_log
        log = parse_log(profile.log_path)
        self.assertEqual(len(log.find(what="CALL", function="leaf")), 400)
        self.assertEqual(len(log.find(what="RETURN", function="leaf")), 400)


if __name__ == "__main__":
    unittest.main()
