"""The in-process call aggregation answers "which of *my* functions grew the process": programs
whose answer is known by construction (a function that keeps what it builds next to one that
builds and drops the same), reached through the standard library, generated code, a coroutine
and a thread. The growth is anonymous mappings (mmap), so that dropping really gives it back."""
import asyncio
import dataclasses
import json
import mmap
import os
import tempfile
import threading
import unittest

import pymemtrace
from logparse import TempDirTestCase, exact_rss, run_cli
from pymemtrace import callstats

MIB = 1 << 20
SIZE = 8 * MIB
PATTERN = b"\1" * SIZE
kept = []

# Each function allocates inline (a mapping written whole: SIZE bytes of RSS until it is closed),
# so that its own growth is what the test expects of it.


def keeping():
    m = mmap.mmap(-1, SIZE)
    m.write(PATTERN)
    kept.append(m)


def dropping():
    m = mmap.mmap(-1, SIZE)
    m.write(PATTERN)
    m.close()


def when_joined(joined, target):
    """Runs target once the starting thread is on its way into join(), which lets the GIL go:
    RSS is the process's, a change is charged to the thread that ran since the last event, and a
    thread switch in the middle of an allocation would split it between the two (documented)."""
    joined.wait()
    target()


def through_a_thread():
    for target in (keeping, dropping):
        joined = threading.Event()
        t = threading.Thread(target=when_joined, args=(joined, target))
        t.start()  # threading.Thread.run (stdlib) calls when_joined
        joined.set()
        t.join()


async def keeping_coroutine():
    await asyncio.sleep(0)
    m = mmap.mmap(-1, SIZE)
    m.write(PATTERN)
    kept.append(m)
    await asyncio.sleep(0)


async def dropping_coroutine():
    await asyncio.sleep(0)
    m = mmap.mmap(-1, SIZE)
    m.write(PATTERN)
    m.close()
    await asyncio.sleep(0)


async def both_coroutines():
    await keeping_coroutine()
    await dropping_coroutine()


def through_asyncio():
    asyncio.run(both_coroutines())


# Generated code (a file named "<...>", as dataclasses' __init__ and namedtuples have) that
# allocates: not the user's code, so its growth is charged to the user's function calling it.
GENERATED = {"mmap": mmap}
exec(compile("def grow(size, pattern, keep):\n"
             "    m = mmap.mmap(-1, size)\n"
             "    m.write(pattern)\n"
             "    keep.append(m) if keep is not None else m.close()\n",
             "<generated>", "exec"), GENERATED)


def keeping_generated():
    GENERATED["grow"](SIZE, PATTERN, kept)


def dropping_generated():
    GENERATED["grow"](SIZE, PATTERN, None)


def through_generated_code():
    keeping_generated()
    dropping_generated()


@dataclasses.dataclass
class Record:
    key: int
    payload: list


TEXT = json.dumps([[i, str(i) * 3] for i in range(150_000)])


def keeping_json():
    kept.append(json.loads(TEXT))  # json's frames (stdlib) do the growth


def dropping_json():
    json.loads(TEXT)


def through_the_stdlib():
    dropping_json()
    keeping_json()


class CallStatsTest(unittest.TestCase):

    def tearDown(self):
        for item in kept:
            if isinstance(item, mmap.mmap):
                item.close()
        kept.clear()

    def top_of(self, program):
        with tempfile.TemporaryDirectory() as directory:
            with pymemtrace.Profile(filepath=os.path.join(directory, "run.log")) as profile:
                program()
        return profile.top(n=50)

    def row(self, rows, name):
        found = [r for r in rows if r["function"].rsplit(".", 1)[-1] == name]
        self.assertTrue(found, f"no row of {name}: {[r['function'] for r in rows]}")
        return found[0]

    def assertKeeperFirst(self, rows, keeper, dropper, kept_mib=7):
        self.assertEqual(rows[0]["function"].rsplit(".", 1)[-1], keeper, rows[:4])
        self.assertTrue(rows[0]["user"])
        self.assertGreaterEqual(rows[0]["own"], kept_mib * MIB)
        self.assertLess(self.row(rows, dropper)["own"], rows[0]["own"] // 2)

    def test_through_a_thread(self):
        rows = self.top_of(through_a_thread)
        self.assertKeeperFirst(rows, "keeping", "dropping")

    def test_through_a_coroutine(self):
        rows = self.top_of(through_asyncio)
        self.assertKeeperFirst(rows, "keeping_coroutine", "dropping_coroutine")

    def test_through_generated_code(self):
        rows = self.top_of(through_generated_code)
        self.assertKeeperFirst(rows, "keeping_generated", "dropping_generated")
        self.assertFalse([r for r in rows if r["file"] == "<generated>" and r["own"]])

    @exact_rss  # json's objects are malloc'd: a sanitizer's quarantine keeps what is dropped
    def test_through_the_stdlib_the_growth_is_the_users(self):
        rows = self.top_of(through_the_stdlib)
        self.assertEqual(rows[0]["function"].rsplit(".", 1)[-1], "keeping_json", rows[:4])
        self.assertGreater(rows[0]["own"], self.row(rows, "dropping_json")["own"])
        # json's own frames are charged to their user caller: no stdlib row has own growth.
        library = [r for r in rows if not r["user"] and r["own"]]
        self.assertEqual(library, [])

    def test_total_and_own(self):
        def outer():
            keeping()
            m = mmap.mmap(-1, 2 * MIB)
            m.write(PATTERN[:2 * MIB])
            kept.append(m)
        rows = self.top_of(outer)
        outer_row, inner = self.row(rows, "outer"), self.row(rows, "keeping")
        self.assertGreaterEqual(outer_row["total"], 10 * MIB - MIB // 2)
        self.assertEqual(outer_row["total"], inner["total"] + outer_row["own"])
        self.assertGreaterEqual(outer_row["own"], 2 * MIB - MIB // 2)
        self.assertEqual((outer_row["calls"], inner["calls"]), (1, 1))

    def test_tree_and_collapsed_stacks(self):
        def outer():
            keeping()
        with tempfile.TemporaryDirectory() as directory:
            with pymemtrace.Profile(filepath=os.path.join(directory, "run.log")) as profile:
                outer()
        rows = profile.call_stats()
        tree = callstats.tree(rows)
        names = [(depth, node.function.rsplit(".", 1)[-1]) for depth, node, _, _ in tree]
        depth_of = dict((n, d) for d, n in names)
        self.assertEqual(depth_of["keeping"], depth_of["outer"] + 1)
        stacks = callstats.collapsed(rows)
        self.assertTrue(any("outer" in s.split(";")[0] and "keeping" in s for s in stacks),
                        stacks)


SCRIPT = """\
import json

# Built by C code only, so that no frame of the user's but the two below grows the process.
TEXT = "[" + ",".join(map('[{0}, "{0}{0}{0}"]'.format, range(200_000))) + "]"
kept = []


def from_json_and_keep():
    kept.append(json.loads(TEXT))  # the growth is in json's frames: charged here


def from_json_and_drop():
    json.loads(TEXT)


from_json_and_drop()
from_json_and_keep()
"""


class UserCodeRulesTest(unittest.TestCase):
    """Globs say which files are the user's code, whatever the default rules say."""

    def flags_of(self, function, **rules):
        with tempfile.TemporaryDirectory() as directory:
            with pymemtrace.Profile(filepath=os.path.join(directory, "run.log"),
                                    **rules) as profile:
                function()
        return {row[4].rsplit(".", 1)[-1]: row[2] for row in profile.call_stats()}

    def test_globs_override_the_defaults(self):
        default = self.flags_of(through_the_stdlib)
        self.assertEqual((default["keeping_json"], default["loads"]), (1, 0))
        flipped = self.flags_of(through_the_stdlib, user_files=["*/json/*"],
                                not_user_files=[__file__])
        self.assertEqual((flipped["keeping_json"], flipped["loads"]), (0, 1))
        with self.assertRaises(TypeError):
            pymemtrace.Profile(user_files=[3])


class BinaryLogTest(TempDirTestCase):
    """The binary log stores the aggregation at stop; top reads it in the user's terms."""

    def test_the_log_holds_the_aggregation_and_top_ranks_from_it(self):
        path = self.path("run.pmt")
        with pymemtrace.Profile(filepath=path, log_format="binary") as profile:
            through_generated_code()
        for item in kept:
            item.close()
        kept.clear()
        with pymemtrace.open_log(path) as log:
            stored = log.call_stats()
            self.assertEqual(log.status()[0], "complete")
        self.assertEqual(stored, profile.call_stats())
        done = run_cli("top", "--json", "-n", "3", path)
        self.assertEqual(done.returncode, 0, done.stderr)
        rows = json.loads(done.stdout)
        self.assertEqual(rows[0]["function"], "keeping_generated")
        self.assertTrue({"file", "line", "function", "qualname", "total", "own",
                         "calls"} <= set(rows[0]))
        text = run_cli("top", "-n", "3", path)
        self.assertIn("keeping_generated", text.stdout.decode().splitlines()[2])
        tree = run_cli("tree", path).stdout.decode().splitlines()
        depth = {line.split()[2].lstrip(): len(line.split("  ")[1]) for line in tree[1:]}
        self.assertIn("through_generated_code", tree[1])
        self.assertTrue(any("keeping_generated" in line for line in tree[2:]), tree)
        stacks = run_cli("tree", "--collapsed", path).stdout.decode().splitlines()
        self.assertTrue(any(s.startswith("through_generated_code") and "keeping_generated" in s
                            for s in stacks), stacks)
        self.assertTrue(depth)

    def test_a_mark_stores_the_figures_so_far(self):
        path = self.path("marked.pmt")
        with pymemtrace.Profile(filepath=path, log_format="binary") as profile:
            keeping()
            profile.write_message_to_log("after keeping")
            with pymemtrace.open_log(path) as log:  # the writer is still running
                so_far = log.call_stats()
            dropping()
        self.assertIn("keeping", [row[4].rsplit(".", 1)[-1] for row in so_far])
        self.assertNotIn("dropping", [row[4].rsplit(".", 1)[-1] for row in so_far])
        with pymemtrace.open_log(path) as log:
            self.assertIn("dropping", [row[4].rsplit(".", 1)[-1] for row in log.call_stats()])

    def test_a_text_log_has_none(self):
        path = self.path("run.log")
        with pymemtrace.Profile(filepath=path):
            keeping()
        with pymemtrace.open_log(path) as log:
            self.assertEqual(log.call_stats(), [])


CHILD_SCRIPT = """\
import mmap
import multiprocessing

SIZE = 16 << 20
kept = []


def keep_in_child():
    m = mmap.mmap(-1, SIZE)
    m.write(b"\\1" * SIZE)
    kept.append(m)


if __name__ == "__main__":
    child = multiprocessing.get_context("fork").Process(target=keep_in_child)
    child.start()
    child.join()
"""


class ChildProcessTest(TempDirTestCase):
    """A process tree's logs in one table: the child's keeping function first, with its pid."""

    def test_top_of_a_process_trees_logs(self):
        script = self.path("tree.py")
        with open(script, "w") as f:
            f.write(CHILD_SCRIPT)
        log = self.path("run.pmt")
        done = run_cli("run", "--binary", "--follow-children", "--top", "0", "-o", log, script,
                       cwd=self.tmp)
        self.assertEqual(done.returncode, 0, done.stderr)
        logs = sorted(os.path.join(self.tmp, n) for n in os.listdir(self.tmp)
                      if n.endswith(".pmt"))
        self.assertEqual(len(logs), 2, logs)
        done = run_cli("top", "--json", "-n", "3", *logs)
        self.assertEqual(done.returncode, 0, done.stderr)
        rows = json.loads(done.stdout)
        self.assertEqual(rows[0]["function"], "keep_in_child", rows)
        self.assertGreaterEqual(rows[0]["own"], 15 << 20)
        with pymemtrace.open_log(log) as parent:
            self.assertNotEqual(rows[0]["pid"], parent.header["process_id"])


class RunCommandTest(TempDirTestCase):
    """`python -m pymemtrace run` names the user's function that grew the process first."""

    def test_run_prints_the_users_functions_with_total_and_own(self):
        script = self.path("program.py")
        with open(script, "w") as f:
            f.write(SCRIPT)
        collapsed = self.path("stacks.txt")
        done = run_cli("run", "-o", self.path("run.log"), "--top", "3", "--tree", "--collapsed",
                       collapsed, script, cwd=self.tmp)
        self.assertEqual(done.returncode, 0, done.stderr)
        lines = done.stderr.splitlines()
        header = lines.index(next(l for l in lines if l.startswith("Where RSS grew")))
        self.assertEqual(lines[header + 1].split(), ["total", "MiB", "own", "MiB", "calls",
                                                     "place"])
        first = lines[header + 2].split()
        self.assertTrue(first[-1].endswith("from_json_and_keep"), lines[header:header + 5])
        self.assertGreater(float(first[1]), 1.0)  # own MiB
        self.assertIn("Call tree of the user's code (total MiB, own MiB):", lines)
        with open(collapsed) as f:
            stacks = f.read().splitlines()
        self.assertTrue(any("from_json_and_keep" in s and int(s.rsplit(" ", 1)[1]) > 0
                            for s in stacks), stacks)

    def test_collapsed_stacks_weighted_by_allocated_bytes(self):
        script = self.path("allocating.py")
        with open(script, "w") as f:
            f.write(ALLOCATING_SCRIPT)
        for paths in (True, False):
            with self.subTest(call_paths=paths):
                log = self.path(f"alloc{paths}.pmt")
                done = run_cli("run", "--binary", "--allocations", "--alloc-min-size", "50000",
                               *(["--call-paths"] if paths else []), "--top", "0", "-o", log,
                               script, cwd=self.tmp)
                self.assertEqual(done.returncode, 0, done.stderr)
                done = run_cli("tree", "--collapsed", "--weight", "allocated", log)
                self.assertEqual(done.returncode, 0, done.stderr)
                stacks = {line.rsplit(" ", 1)[0]: int(line.rsplit(" ", 1)[1])
                          for line in done.stdout.decode().splitlines()}
                # 20 blocks of 100000 bytes made by make_blocks, called by outer (its user
                # caller); a json.loads of a large text charged to parse_json's user site.
                if paths:
                    # (3.10 and 3.11 run the list comprehension as a frame of its own)
                    key = next(k for k in stacks
                               if f"outer ({script}:5);make_blocks ({script}:1)" in k)
                else:
                    # (3.10's code objects have no qualified name: its comprehension's is bare)
                    key = next(k for k in stacks if k.startswith(("make_blocks", "<listcomp>")))
                    self.assertNotIn(";", key)  # no paths in the log: the user site alone
                self.assertGreaterEqual(stacks[key], 20 * 100000)
                self.assertLess(stacks[key], 20 * 100000 + 20 * 4096)
        done = run_cli("tree", "--collapsed", "--weight", "allocated",
                       self.path("allocTrue.pmt").replace("allocTrue", "none"))
        self.assertEqual(done.returncode, 2)


ALLOCATING_SCRIPT = """\
def make_blocks(n):
    return [bytearray(100000) for _ in range(n)]


def outer():
    keep = []
    keep.append(make_blocks(20))
    return keep


kept = outer()
"""


if __name__ == "__main__":
    unittest.main()
