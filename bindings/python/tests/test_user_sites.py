"""Every written event carries its user site: the nearest frame of the user's code on its thread's
stack (this file is the user's; json, threading and a dataclass's generated __init__ are not).
Known by construction: each library call below is made from one line of one user function."""
import dataclasses
import json
import os
import tempfile
import threading
import unittest

import pymemtrace
from logparse import TempDirTestCase

HERE = os.path.abspath(__file__)
TEXT = json.dumps([{"key": i, "value": "x" * 30} for i in range(20000)])
kept = []


def line_of(function, text):
    """The line of `function`'s source that contains text."""
    code = function.__code__
    with open(code.co_filename, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for number in range(code.co_firstlineno, len(lines) + 1):
        if text in lines[number - 1]:
            return number
    raise AssertionError(f"{text!r} is not in {function.__name__}")


def from_json(text):
    data = json.loads(text)  # json's frames: charged here
    kept.append(data)
    return len(data)


@dataclasses.dataclass
class Record:
    key: int
    value: str


def build_records():
    records = []
    for i in range(2000):
        records.append(Record(i, "v"))  # the generated __init__ runs from here
    return records


def in_a_thread():
    worker = threading.Thread(target=from_json, args=(TEXT,))  # threading's run() calls it
    worker.start()
    worker.join()


def program():
    from_json(TEXT)
    build_records()
    in_a_thread()


def events_of(directory, **options):
    """The program's events as a callable sink gets them, and its Profile (whose binary log is
    written in directory)."""
    rows = []
    with pymemtrace.Profile(0, sink=rows.append, log_format="binary",
                            filepath=os.path.join(directory, "run.pmt"), **options) as p:
        program()
    return rows, p


def same_file(a, b):
    return os.path.isfile(a) and os.path.isfile(b) and os.path.samefile(a, b)


class UserSiteTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory(prefix="pmt_test_")
        cls.rows, cls.profile = events_of(cls._tmp.name)

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    def test_library_events_are_charged_to_the_line_that_called_the_library(self):
        call_line = line_of(from_json, "json.loads(text)")
        inside_json = [e for e in self.rows if "json" in e.file and not same_file(e.file, HERE)]
        self.assertGreater(len(inside_json), 4)
        for e in inside_json:
            self.assertTrue(same_file(e.user_file, HERE), e)
            self.assertEqual((e.user_function, e.user_line), ("from_json", call_line), e)

    def test_the_users_own_events_are_their_own_site(self):
        own = [e for e in self.rows if same_file(e.file, HERE) and e.kind in ("CALL", "RETURN")]
        self.assertGreater(len(own), 6)
        for e in own:
            self.assertEqual((e.user_file, e.user_function, e.user_line),
                             (e.file, e.function, e.line), e)

    def test_generated_code_is_charged_to_its_user_caller(self):
        inits = [e for e in self.rows if e.file.startswith("<") and "__init__" in e.function]
        self.assertGreater(len(inits), 100)
        line = line_of(build_records, "Record(i,")
        for e in inits:
            self.assertEqual((e.user_function, e.user_line), ("build_records", line), e)

    def test_a_thread_has_its_own_user_site(self):
        main = threading.get_native_id()
        worker = [e for e in self.rows if e.thread_id != main]
        self.assertGreater(len(worker), 4)
        # threading's bootstrap has no user frame below it: its events have no site; from the
        # target down, the worker's calls are charged to from_json, never to main's frames.
        sites = {e.user_function for e in worker}
        self.assertIn("from_json", sites)
        self.assertLessEqual(sites, {"from_json", ""})
        for e in worker:
            if "json" in e.file:
                self.assertEqual(e.user_function, "from_json", e)

    def test_the_binary_log_stores_the_same_sites(self):
        with pymemtrace.open_log(self.profile.log_path) as log:
            read = list(log)
        self.assertEqual(len(read), len(self.rows))
        for got, want in zip(read, self.rows):
            self.assertEqual((got.user_file, got.user_function, got.user_line, got.call_node),
                             (want.user_file, want.user_function, want.user_line,
                              want.call_node))
        self.assertEqual(tuple(read[5])[:12], tuple(self.rows[5])[:12])
        self.assertEqual(len(tuple(read[5])), 12)  # the tuple is what it always was


class CallsOptionTest(TempDirTestCase):
    def test_off_gives_no_site_and_no_aggregation(self):
        rows, p = events_of(self.tmp, calls=False)
        self.assertTrue(rows)
        self.assertEqual({(e.user_file, e.user_function, e.user_line, e.call_node) for e in rows},
                         {("", "", 0, 0)})
        self.assertEqual(p.call_stats(), [])

    def test_paths_name_the_call_path_of_each_event(self):
        rows, p = events_of(self.tmp, calls="paths")
        nodes = {row[0]: row for row in p.call_stats()}
        inside = [e for e in rows if e.function.endswith("raw_decode") and e.kind == "RETURN"]
        self.assertTrue(inside)
        for e in inside:
            self.assertIn(e.call_node, nodes)
            path, node = [], e.call_node
            while node:
                path.append(nodes[node][4])
                node = nodes[node][1]
            # innermost first: raw_decode is the call itself (a RETURN's own frame)
            self.assertEqual(path[0], e.function)
            self.assertIn("from_json", path)
        returns = [e for e in rows if same_file(e.file, HERE) and e.kind == "RETURN"]
        self.assertTrue(returns)
        for e in returns:  # a return's path ends in its own call
            self.assertEqual(nodes[e.call_node][4], e.function, e)
        with pymemtrace.open_log(p.log_path) as log:
            self.assertEqual([e.call_node for e in log], [e.call_node for e in rows])

    def test_bad_values_are_refused(self):
        for bad in (2, "all", None, 1.0):
            with self.assertRaises(ValueError):
                pymemtrace.Profile(calls=bad)

    def test_user_files_make_the_library_the_users(self):
        rows = []
        with pymemtrace.Profile(0, sink=rows.append, user_files=["*/json/*"],
                                log_format="binary", filepath=self.path("run.pmt")):
            from_json(TEXT)
        inside = [e for e in rows if "json" in e.file and e.function.endswith("raw_decode")]
        self.assertTrue(inside)
        for e in inside:
            self.assertEqual((e.user_function, e.user_line), (e.function, e.line), e)


class SparseLogTest(TempDirTestCase):
    def test_rows_written_before_a_trigger_keep_their_site(self):
        """The default trigger writes a row only when RSS moved a page, and the row before it
        (PREV) one event late, perhaps after a thread switch (the worker's rows are written
        when the main thread's next event sees RSS moved): its site is still its own."""
        rows = []
        with pymemtrace.Profile(sink=rows.append, log_format="binary",
                                filepath=self.path("run.pmt")):
            program()
        written = [e for e in rows if "json" in e.file]
        self.assertTrue(written)
        call_line = line_of(from_json, "json.loads(text)")
        for e in written:
            self.assertEqual(e.user_function, "from_json", e)
            self.assertIn(e.user_line, (call_line, from_json.__code__.co_firstlineno), e)


SCRIPT = """\
import json

TEXT = "[" + ",".join(map('[{0}, "{0}{0}{0}"]'.format, range(200_000))) + "]"
kept = []


def load_twice():
    json.loads(TEXT)  # dropped at once
    kept.append(json.loads(TEXT))  # kept: the line that grew the process


load_twice()
"""


class TopByLineTest(TempDirTestCase):
    """`top --by line` ranks lines of the user's code from a binary log's rows and their user
    sites: the line that kept what json built, not json's own lines."""

    def test_the_keeping_line_comes_first(self):
        import json as json_module
        from logparse import run_cli
        script = self.path("program.py")
        with open(script, "w") as f:
            f.write(SCRIPT)
        log = self.path("run.pmt")
        done = run_cli("run", "--binary", "-o", log, script, cwd=self.tmp)
        self.assertEqual(done.returncode, 0, done.stderr)
        done = run_cli("top", "--by", "line", "--json", log)
        self.assertEqual(done.returncode, 0, done.stderr)
        rows = json_module.loads(done.stdout)
        keeping = SCRIPT.splitlines().index("    kept.append(json.loads(TEXT))  # kept: the line "
                                            "that grew the process") + 1
        self.assertTrue(same_file(rows[0]["file"], script), rows[:3])
        self.assertEqual((rows[0]["function"], rows[0]["line"]), ("load_twice", keeping))
        self.assertGreater(rows[0]["own"], 4 << 20)
        done = run_cli("top", "--by", "line", "--all", "--json", log)  # the rows' own places
        self.assertIn("json", json_module.loads(done.stdout)[0]["file"])
        done = run_cli("csv", log)
        header, first = done.stdout.decode().splitlines()[:2]
        self.assertIn(",user_file,user_line,user_function,call_node,", header)


if __name__ == "__main__":
    unittest.main()
