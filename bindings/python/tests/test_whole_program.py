"""Issue 4's whole program: threads, a process pool and asyncio under
`python -m pymemtrace run --follow-children --binary` give one complete, well-formed log per
process, each event of each thread paired and numbered."""
import json
import os
import re
import sys
import time
import unittest

import pymemtrace
from logparse import MIB, TempDirTestCase, run_cli

SCRIPT = '''\
import asyncio
import json
import multiprocessing
import os
import sys
import threading
from concurrent.futures import ProcessPoolExecutor


def leaf(i):
    return i


def in_thread(results, k):
    results[k] = sum(leaf(i) for i in range(500))


def work(mib):
    block = b"\\x05" * (mib << 20)
    return os.getpid(), len(block)


async def tick(i):
    await asyncio.sleep(0)
    return leaf(i)


async def ticks():
    return sum(await asyncio.gather(*(tick(i) for i in range(50))))


def main():
    results = [None] * 4
    threads = [threading.Thread(target=in_thread, args=(results, k)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    context = multiprocessing.get_context(sys.argv[1])
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        done = list(pool.map(work, [4, 4, 4, 4]))
    total = asyncio.run(ticks())
    print(json.dumps({"pid": os.getpid(), "workers": sorted({pid for pid, _ in done}),
                      "threads": results, "async": total}))


if __name__ == "__main__":
    main()
'''


def finished_logs(directory, timeout=60):
    """The binary logs of directory once each is complete (a pool's helper process may end a
    moment after the program): {name: events}."""
    deadline = time.monotonic() + timeout
    while True:
        logs, unfinished = {}, []
        for name in sorted(n for n in os.listdir(directory) if n.endswith(".pmt")):
            with pymemtrace.open_log(os.path.join(directory, name)) as log:
                events = list(log)
                if log.status()[0] != "complete":
                    unfinished.append(name)
            logs[name] = events
        if not unfinished or time.monotonic() > deadline:
            return logs, unfinished
        time.sleep(0.2)


def pairing_problems(events):
    """Per thread, each RETURN closes the innermost open CALL (same function, same depth); a
    thread's returns from frames entered before its first event are allowed (tracing started
    inside them), as are frames still open at STOP."""
    problems, stacks = [], {}
    for ev in events:
        if ev.kind not in ("CALL", "RETURN"):
            continue
        stack = stacks.setdefault(ev.thread_id, [])
        if ev.kind == "CALL":
            stack.append((ev.function, ev.depth))
        elif stack:
            if stack[-1] != (ev.function, ev.depth):
                problems.append(f"seq {ev.seq}: RETURN {ev.function}/{ev.depth} "
                                f"closes {stack[-1]}")
            stack.pop()
    return problems


class WholeProgramTest(TempDirTestCase):

    def run_program(self, method):
        script = self.path("program.py")
        with open(script, "w", encoding="utf-8") as f:
            f.write(SCRIPT)
        log = self.path("run.pmt")
        done = run_cli("run", "--follow-children", "--binary", "-d", "0", "--top", "0",
                       "-o", log, script, method, cwd=self.tmp)
        self.assertEqual(done.returncode, 0, done.stderr)
        result = json.loads(done.stdout.decode().strip().splitlines()[-1])
        self.assertEqual(result["threads"], [sum(range(500))] * 4)
        self.assertEqual(result["async"], sum(range(50)))
        logs, unfinished = finished_logs(self.tmp)
        self.assertEqual(unfinished, [], sorted(logs))
        by_pid = {}
        for name, events in logs.items():
            match = re.fullmatch(r"run(?:\.pid(\d+))?\.pmt", name)
            self.assertIsNotNone(match, sorted(logs))
            pid = int(match.group(1)) if match.group(1) else result["pid"]
            self.assertNotIn(pid, by_pid, "one log per process")
            by_pid[pid] = events
            self.assertEqual([e.seq for e in events], list(range(len(events))), name)
            self.assertEqual((events[0].kind, events[-1].kind), ("START", "STOP"), name)
            self.assertEqual(pairing_problems(events), [], name)
        main = by_pid[result["pid"]]
        thread_ids = {e.thread_id for e in main if e.function == "in_thread"}
        self.assertEqual(len(thread_ids), 4, "each thread's events carry its own id")
        self.assertTrue([e for e in main if e.function == "tick" and e.kind == "CALL"])
        for pid in result["workers"]:
            self.assertIn(pid, by_pid, sorted(logs))
            grown = [e for e in by_pid[pid] if e.function == "work" and e.kind == "RETURN"
                     and e.d_rss >= 4 * MIB - MIB // 4]
            self.assertTrue(grown, f"worker {pid} ran work() but its log shows no growth")
        return result, by_pid

    def test_threads_pool_and_asyncio_with_fork(self):
        result, logs = self.run_program("fork")
        self.assertGreaterEqual(len(logs), 3, sorted(logs))

    def test_threads_pool_and_asyncio_with_spawn(self):
        result, logs = self.run_program("spawn")
        self.assertGreaterEqual(len(logs), 3, sorted(logs))


if __name__ == "__main__":
    unittest.main()
