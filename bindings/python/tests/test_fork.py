"""Fork and child processes, with real processes: os.fork() under on_fork="stop" and "follow"
(the parent's log is whole and untouched by the child, a following child writes a log of its own
named with its pid), and multiprocessing pools with the "fork" and "spawn" methods under
`python -m pymemtrace run --follow-children`: one well-formed log per process."""
import json
import os
import re
import subprocess
import sys
import time
import unittest

import pymemtrace
from pymemtrace import _children, _pymemtrace
from logparse import MIB, TempDirTestCase, child_env, parse_log, run_cli, run_python

# The parent and its child each allocate in a function of their own, on the main thread; the
# child reports what it knows in child.json. argv: on_fork, log path, log format, how the child
# leaves ("with": out of the with block; "exit": sys.exit() inside it; "atexit": the wrapper was
# entered by hand, and the child leaves through the atexit handler).
FORK_SCRIPT = '''\
import json
import os
import sys

import pymemtrace

mode, path, log_format, leave = sys.argv[1:5]


def child_work():
    return b"\\x01" * (8 << 20)


def parent_work():
    return b"\\x02" * (4 << 20)


def report(wrapper):
    with open(os.path.join(os.path.dirname(path), "child.json"), "w") as f:
        json.dump({"pid": os.getpid(), "ppid": os.getppid(), "log_path": wrapper.log_path}, f)


def fork_and_work(wrapper):
    pid = os.fork()
    if pid == 0:
        kept = child_work()
        pymemtrace.mark("child mark")
        report(wrapper)
        if leave != "with":
            sys.exit(0)  # through the with block's exit, or the atexit handler
    else:
        kept = parent_work()
        _, status = os.waitpid(pid, 0)
        if status != 0:
            sys.exit(f"the child failed: {status}")


wrapper = pymemtrace.Profile(filepath=path, on_fork=mode, log_format=log_format)
if leave == "atexit":
    wrapper.__enter__()
    fork_and_work(wrapper)
    wrapper.__exit__(None, None, None)
else:
    with wrapper:
        fork_and_work(wrapper)
print(json.dumps({"pid": os.getpid(), "log_path": wrapper.log_path}))
'''

# argv: the start method. Each task allocates 4 MiB or more and says which process ran it.
POOL_SCRIPT = '''\
import json
import multiprocessing
import os
import sys


def work(mib):
    block = b"\\x03" * (mib << 20)
    return os.getpid(), len(block)


if __name__ == "__main__":
    context = multiprocessing.get_context(sys.argv[1])
    pool = context.Pool(2)
    done = pool.map(work, [4, 5, 6, 7], chunksize=1)
    pool.close()
    pool.join()  # the workers leave by themselves: their logs are finished
    print(json.dumps({"pid": os.getpid(), "workers": sorted({pid for pid, _ in done})}))
'''


def sane_rss(test, log):
    """Every event row carries a plausible RSS, the first one's dRSS is its RSS, and each next
    row's dRSS is against the row before it (unless a MSG row, whose RSS the log does not show,
    came between)."""
    rows = log.rows
    test.assertTrue(rows, log.path)
    test.assertEqual(rows[0].d_rss, rows[0].rss, log.path)
    for before, row in zip(rows, rows[1:]):
        if row.tag == "MSG":
            continue
        test.assertGreater(row.rss, 1 * MIB, row)
        test.assertLess(row.rss, 64 << 30, row)
        if before.tag != "MSG":
            test.assertEqual(row.d_rss, row.rss - before.rss, row)


def numbered_from_zero(test, log):
    numbers = log.event_numbers()
    test.assertEqual(numbers[0], 0, log.path)
    test.assertEqual(numbers, sorted(set(numbers)), log.path)


class ForkTest(TempDirTestCase):

    def run_fork(self, mode, leave="with", log_format="text"):
        script = self.path("fork.py")
        with open(script, "w", encoding="utf-8") as f:
            f.write(FORK_SCRIPT)
        log = self.path("trace.pmt" if log_format == "binary" else "trace.log")
        # A child that leaves through the with block prints its own line first.
        printed = run_python(script, mode, log, log_format, leave, cwd=self.tmp)
        parent = json.loads(printed.strip().splitlines()[-1])
        with open(self.path("child.json"), encoding="utf-8") as f:
            child = json.load(f)
        self.assertEqual(child["ppid"], parent["pid"])
        self.assertEqual(parent["log_path"], log)
        return parent, child

    def check_parent_log(self, path):
        """The parent's log is whole and only the parent's."""
        with open(path, "rb") as f:
            self.assertEqual(f.read().count(b"\nEOF\n"), 1, path)
        log = parse_log(path)
        numbered_from_zero(self, log)
        sane_rss(self, log)
        self.assertEqual(log.event_rows[0].what, "START")
        self.assertEqual(log.event_rows[-1].what, "STOP")
        self.assertTrue([r for r in log.find(function="parent_work", what="RETURN")
                         if r.d_rss >= 4 * MIB - MIB // 4], log.rows)
        self.assertEqual(log.find(function="child_work"), [])
        self.assertEqual(log.messages, [])
        return log

    def check_child_log(self, child, path):
        log = parse_log(path)
        numbered_from_zero(self, log)
        sane_rss(self, log)
        first = log.rows[0]
        self.assertEqual((first.tag, first.what), ("FRST", "START"))
        self.assertEqual(log.messages, [
            f"Forked: this is process {child['pid']}, a child of process {child['ppid']}.",
            "child mark"])
        self.assertTrue([r for r in log.find(function="child_work", what="RETURN")
                         if r.d_rss >= 8 * MIB - MIB // 4], log.rows)
        self.assertEqual(log.find(function="parent_work"), [])
        self.assertEqual(log.event_rows[-1].what, "STOP")
        return log

    def logs(self):
        return sorted(n for n in os.listdir(self.tmp) if n.endswith((".log", ".pmt")))

    def test_stop_child_writes_nothing(self):
        for leave in ("with", "exit", "atexit"):
            with self.subTest(leave=leave):
                parent, child = self.run_fork("stop", leave)
                self.assertEqual(child["log_path"], parent["log_path"])  # the parent's, unused
                self.assertEqual(self.logs(), ["trace.log"])
                self.check_parent_log(parent["log_path"])
                os.remove(parent["log_path"])

    def test_follow_child_writes_its_own_log(self):
        for leave in ("with", "exit", "atexit"):
            with self.subTest(leave=leave):
                parent, child = self.run_fork("follow", leave)
                expected = self.path(f"trace.pid{child['pid']}.log")
                self.assertEqual(child["log_path"], expected)
                self.assertEqual(self.logs(), ["trace.log", f"trace.pid{child['pid']}.log"])
                self.check_parent_log(parent["log_path"])
                self.check_child_log(child, expected)
                for name in self.logs():
                    os.remove(self.path(name))

    def test_follow_child_binary_log(self):
        parent, child = self.run_fork("follow", log_format="binary")
        expected = self.path(f"trace.pid{child['pid']}.pmt")
        self.assertEqual(child["log_path"], expected)
        for path, pid, functions in ((parent["log_path"], parent["pid"], {"parent_work"}),
                                     (expected, child["pid"], {"child_work"})):
            with pymemtrace.open_log(path) as log:
                events = list(log)
                self.assertEqual(log.status()[0], "complete", path)
                self.assertEqual(log.header["process_id"], pid)
            self.assertEqual(events[0].seq, 0)
            self.assertEqual(events[0].kind, "START")
            self.assertEqual(events[-1].kind, "STOP")
            seen = {e.function for e in events} & {"parent_work", "child_work"}
            self.assertEqual(seen, functions, path)

    def test_environment_variable_makes_follow_the_default(self):
        script = self.path("fork.py")
        with open(script, "w", encoding="utf-8") as f:
            f.write(FORK_SCRIPT.replace("on_fork=mode, ", ""))
        env = child_env()
        env[pymemtrace._tracing.FOLLOW_CHILDREN_ENV] = "1"
        log = self.path("trace.log")
        subprocess.run([sys.executable, script, "-", log, "text", "with"], cwd=self.tmp,
                       env=env, check=True, stdout=subprocess.PIPE, timeout=120)
        with open(self.path("child.json"), encoding="utf-8") as f:
            child = json.load(f)
        self.check_child_log(child, self.path(f"trace.pid{child['pid']}.log"))

    def test_on_fork_values(self):
        with self.assertRaises(ValueError):
            pymemtrace.Profile(on_fork="continue")
        with self.assertRaises(ValueError):
            _pymemtrace.Tracer(1, log_format="none", on_fork="always")
        tracer = _pymemtrace.Tracer(1, log_format="none", on_fork="follow")
        tracer.after_fork()  # not a child: nothing to do

    def test_child_log_names_follow_the_library(self):
        for path, expected in (("trace.log", "trace.pid7.log"), ("/a.b/run", "/a.b/run.pid7"),
                               ("x/t.tar.pmt", "x/t.tar.pid7.pmt"), ("d/.hidden", "d/.hidden.pid7"),
                               ("trace.pid3.log", "trace.pid3.pid7.log")):
            self.assertEqual(_children.child_log_path(path, 7), expected)


def wait_for_finished_logs(directory, timeout=60):
    """Names of the logs in directory once each ends with EOF (a resource tracker may outlive
    the program by a moment)."""
    deadline = time.monotonic() + timeout
    while True:
        names = sorted(n for n in os.listdir(directory) if n.endswith(".log"))
        unfinished = []
        for name in names:
            with open(os.path.join(directory, name), "rb") as f:
                if not f.read().endswith(b"\nEOF\n"):
                    unfinished.append(name)
        if not unfinished or time.monotonic() > deadline:
            return names
        time.sleep(0.1)


class FollowChildrenTest(TempDirTestCase):

    def run_pool(self, method):
        script = self.path("pool.py")
        with open(script, "w", encoding="utf-8") as f:
            f.write(POOL_SCRIPT)
        log = self.path("run.log")
        done = run_cli("run", "--follow-children", "--top", "0", "-o", log, script, method,
                       cwd=self.tmp)
        self.assertEqual(done.returncode, 0, done.stderr)
        result = json.loads(done.stdout.decode().strip().splitlines()[-1])
        self.assertIn(f"child processes write {self.path('run.pid<PID>.log')}", done.stderr)
        names = wait_for_finished_logs(self.tmp)
        logs = {}
        for name in names:
            match = re.fullmatch(r"run(?:\.pid(\d+))?\.log", name)
            self.assertIsNotNone(match, names)
            pid = int(match.group(1)) if match.group(1) else result["pid"]
            logs[pid] = parse_log(self.path(name))  # well formed, to its EOF
            numbered_from_zero(self, logs[pid])
            sane_rss(self, logs[pid])
        self.assertIn(result["pid"], logs)
        self.assertEqual(len(logs), len(names))  # one log per process
        for pid in result["workers"]:
            self.assertIn(pid, logs, names)
            grown = [r for r in logs[pid].find(function="work", what="RETURN")
                     if r.d_rss >= 4 * MIB - MIB // 4]
            self.assertTrue(grown, f"{names}: pid {pid} ran work() but its log shows no growth")
        self.assertEqual(logs[result["pid"]].find(function="work"), [])
        return result, logs

    def test_pool_with_fork(self):
        result, logs = self.run_pool("fork")
        # The pool's two workers (whether or not they got a task), forked from the program.
        self.assertEqual(len(logs), 3, sorted(logs))
        for pid in set(logs) - {result["pid"]}:
            self.assertEqual(logs[pid].messages[:1], [
                f"Forked: this is process {pid}, a child of process {result['pid']}."])

    def test_pool_with_spawn(self):
        result, logs = self.run_pool("spawn")
        # The two workers and any other Python process multiprocessing started (its resource
        # tracker): each traced itself from interpreter start, none was forked from here.
        self.assertGreaterEqual(len(logs), 3, sorted(logs))
        for pid, log in logs.items():
            self.assertFalse([m for m in log.messages if m.startswith("Forked:")], pid)

    def test_the_hidden_sitecustomize_still_runs(self):
        hidden = self.path("hidden")
        os.mkdir(hidden)
        with open(os.path.join(hidden, "sitecustomize.py"), "w", encoding="utf-8") as f:
            f.write("import os\nMARK = os.getpid()\n")
        env = child_env()
        settings = {"filepath": self.path("site.log")}
        env.update(_children.environment(settings, {"PYTHONPATH": hidden}))
        env["PYTHONPATH"] += os.pathsep + child_env()["PYTHONPATH"]
        done = subprocess.run(
            [sys.executable, "-c", "import os, sitecustomize, pymemtrace; "
             "print(sitecustomize.MARK == os.getpid(), "
             "pymemtrace._tracing.active('profile').log_path)"],
            cwd=self.tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            timeout=120, check=True)
        marked, log_path = done.stdout.split()
        self.assertEqual(marked, "True", done.stderr)
        self.assertRegex(log_path, re.escape(self.path("site.pid")) + r"\d+\.log$")
        parse_log(log_path)


if __name__ == "__main__":
    unittest.main()
