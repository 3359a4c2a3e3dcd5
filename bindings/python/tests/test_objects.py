"""Object lifetimes (CPython 3.13+ through its reference tracer): exact counts per type, an
event per object with the code that made or destroyed it, the type choices, gc before the last
counts, both logs and a sink, the `objects` report and `run --objects`, pymemtrace's
ReferenceTracing API; and on 3.10-3.12 a clear NotImplementedError."""
import gc
import json
import os
import subprocess
import sys
import textwrap
import unittest

import pymemtrace
from pymemtrace import _pymemtrace, cPyMemTrace
from logparse import TempDirTestCase, child_env, run_cli

HAS_REF_TRACER = sys.version_info >= (3, 13)


class Node:
    def __init__(self, key):
        self.key = key


class NodeCache(Node):
    pass


class Loop:
    def __init__(self):
        self.me = self


def make(n):
    nodes = []
    for i in range(n):
        nodes.append(Node(i))  # the line OBJ_NEW rows name
    return nodes


MAKE_LINE = make.__code__.co_firstlineno + 3


@unittest.skipIf(HAS_REF_TRACER, "CPython 3.13+ has the reference tracer")
class BeforeThreeThirteenTest(TempDirTestCase):
    def test_wrappers_raise_not_implemented(self):
        for build in (lambda: pymemtrace.Objects(), lambda: pymemtrace.Profile(objects=True),
                      lambda: cPyMemTrace.ReferenceTracing(),
                      lambda: cPyMemTrace.ReferenceTracingSimple()):
            with self.assertRaisesRegex(NotImplementedError, "CPython 3.13 or later"):
                build()

    def test_the_library_says_not_supported(self):
        tracer = _pymemtrace.Tracer(_pymemtrace.MASK_CALLS, log_format="none", objects=1)
        with self.assertRaisesRegex(RuntimeError, "need CPython 3.13 or later"):
            tracer.start()

    def test_run_objects_is_a_usage_error(self):
        done = run_cli("run", "--objects", "-c", "pass", cwd=self.tmp)
        self.assertEqual(done.returncode, 2, done.stderr)
        self.assertIn("CPython 3.13 or later", done.stderr)


@unittest.skipUnless(HAS_REF_TRACER, "object lifetimes need CPython 3.13+")
class ObjectsTest(TempDirTestCase):
    def events(self, path):
        with pymemtrace.open_log(path) as log:
            return list(log)

    def test_exact_counts_at_marks_and_at_exit(self):
        with pymemtrace.Objects(filepath=self.path("o.pmt")) as o:
            kept = make(100)
            pymemtrace.mark("made")
            del kept[60:]
            self.assertEqual(o.object_counts()["Node"], (100, 40, 60))
        self.assertEqual(o.object_counts()["Node"], (100, 40, 60))
        events = self.events(o.log_path)
        counts = [(e.type_created, e.type_destroyed, e.type_live) for e in events
                  if e.kind == "OBJ_CNT" and e.type_name == "Node"]
        self.assertEqual(counts, [(100, 0, 100), (100, 40, 60)])  # at the mark, at exit
        self.assertFalse([e for e in events if e.kind in ("OBJ_NEW", "OBJ_DEL")])
        self.assertTrue(all(e.reason == "OBJ" for e in events if e.kind == "OBJ_CNT"))

    def test_an_event_per_object_with_its_code(self):
        for log_format in ("binary", "text"):
            with self.subTest(log_format=log_format):
                with pymemtrace.Objects(filepath=self.path(f"e.{log_format}"),
                                        log_format=log_format, object_events=True,
                                        include_types=["Node"]) as o:
                    kept = make(20)
                    del kept[:5]
                events = self.events(o.log_path)
                made = [e for e in events if e.kind == "OBJ_NEW"]
                gone = [e for e in events if e.kind == "OBJ_DEL"]
                self.assertEqual(len(made), 20)
                self.assertEqual([(e.function, e.line) for e in made], [("make", MAKE_LINE)] * 20)
                if log_format == "binary":  # the user site, from the shadow stack (no frame walk)
                    self.assertEqual({e.user_function for e in made}, {"make"})
                self.assertEqual([e.address for e in made[5:]], [id(n) for n in kept])
                self.assertEqual([e.type_live for e in made], list(range(1, 21)))
                self.assertEqual(len(gone), 5)
                self.assertEqual({e.address for e in gone}, {e.address for e in made[:5]})
                self.assertEqual(gone[-1].type_live, 15)
                self.assertEqual({e.type_name for e in made + gone}, {"Node"})
                del kept  # outside the tracer: the next round's log has its own Nodes only

    def test_which_types_are_counted(self):
        with pymemtrace.Objects(log_format="none") as heap:
            make(3), [NodeCache(1)], {"a": [1]}
        self.assertIn("Node", heap.object_counts())
        self.assertIn("NodeCache", heap.object_counts())
        self.assertNotIn("dict", heap.object_counts())  # builtins left out by default
        with pymemtrace.Objects(log_format="none", objects="all") as every:
            make(3), {"a": [1]}
        self.assertIn("dict", every.object_counts())
        with pymemtrace.Objects(log_format="none", objects="all", include_types=["Node*"],
                                exclude_types=["*Cache"]) as chosen:
            make(3), [NodeCache(1)], {"a": [1]}
        self.assertEqual(set(chosen.object_counts()), {"Node"})
        self.assertEqual(chosen.object_counts()["Node"][0], 3)

    def test_gc_collect_before_the_last_counts(self):
        gc.disable()
        try:
            for collect, live in ((None, 50), (2, 0)):
                with self.subTest(objects_gc_collect=collect):
                    with pymemtrace.Objects(log_format="none", objects_gc_collect=collect) as o:
                        for _ in range(50):
                            Loop()  # a cycle: only the collector frees it
                    self.assertEqual(o.object_counts()["Loop"], (50, 50 - live, live))
                    gc.collect()
        finally:
            gc.enable()

    def test_a_sink_gets_object_events(self):
        events = []
        with pymemtrace.Profile(0, log_format="none", sink=events.append, objects=True,
                                object_events=True, include_types=["Node"]):
            make(7)
        made = [e for e in events if e.kind == "OBJ_NEW"]
        self.assertEqual(len(made), 7)
        self.assertEqual(made[0].type_name, "Node")
        self.assertEqual(made[0].function, "make")
        # Events of the sink's own making are not counted: only the program's Nodes.
        self.assertEqual(len([e for e in events if e.kind == "OBJ_DEL"]), 7)

    def test_one_tracer_counts_objects_at_a_time(self):
        with pymemtrace.Objects(log_format="none"):
            with self.assertRaisesRegex(RuntimeError, "another tracer counts objects"):
                with pymemtrace.Profile(log_format="none", objects=True):
                    pass

    def test_bad_arguments(self):
        with self.assertRaises(ValueError):
            pymemtrace.Objects(objects="some")
        with self.assertRaises(TypeError):
            pymemtrace.Objects(objects=1.5)
        with self.assertRaises(ValueError):
            pymemtrace.Profile(object_events=True)  # without objects
        with self.assertRaises(TypeError):
            pymemtrace.Objects(include_types="Node")  # a str, not a sequence of globs
        with self.assertRaises(ValueError):
            pymemtrace.Objects(objects_gc_collect=3)

    def test_the_objects_report_and_run(self):
        script = os.path.join(self.tmp, "grow.py")
        with open(script, "w") as f:
            f.write(textwrap.dedent("""\
                import pymemtrace
                class Item:
                    pass
                def build(n):
                    return [Item() for _ in range(n)]
                keep = build(10)
                pymemtrace.mark("warm")
                keep += build(40)
                pymemtrace.mark("done")
                """))
        log = self.path("run.pmt")
        done = run_cli("run", "--objects", "--object-events", "--binary", "-o", log,
                       "--top", "0", script, cwd=self.tmp)
        self.assertEqual(done.returncode, 0, done.stderr)
        report = run_cli("objects", log, "--since", "warm", "--until", "done", "--json",
                         cwd=self.tmp)
        self.assertEqual(report.returncode, 0, report.stderr)
        data = json.loads(report.stdout)
        growth = {row["type"]: row for row in data["growth"]}
        self.assertEqual(growth["Item"]["growth"], 40)
        self.assertEqual((growth["Item"]["live_before"], growth["Item"]["live_after"]), (10, 50))
        types = {row["type"]: row for row in data["types"]}
        self.assertEqual(types["Item"]["live"], 50)
        sites = [row for row in data["sites"] if row["type"] == "Item"]
        self.assertEqual(sum(row["live"] for row in sites), 50)
        self.assertTrue(all(row["function"] == "build" and row["line"] == 5 for row in sites))
        text = run_cli("objects", log, cwd=self.tmp)
        self.assertEqual(text.returncode, 0, text.stderr)
        self.assertIn(b"Item", text.stdout)
        self.assertIn(b"Live objects by the code that made them", text.stdout)
        stats = run_cli("stats", log, cwd=self.tmp)
        self.assertIn(b"objects    ", stats.stdout)
        self.assertIn(b"        50  Item\n", stats.stdout)
        exported = run_cli("json", log, cwd=self.tmp).stdout.splitlines()
        lines = [json.loads(line) for line in exported]
        counted = [line for line in lines
                   if line["kind"] == "OBJ_CNT" and line["type_name"] == "Item"]
        self.assertEqual([(c["type_created"], c["type_live"]) for c in counted],
                         [(10, 10), (50, 50), (50, 50)])  # at warm, at done, at the end
        self.assertNotIn("type_name", [line for line in lines if line["kind"] == "CALL"][0])
        bad = run_cli("objects", log, "--since", "no such mark", cwd=self.tmp)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("no counts after a mark matching", bad.stderr)

    def test_reference_tracing_compat(self):
        class Item:
            pass

        with cPyMemTrace.ReferenceTracing(filepath=self.path("rt.log"),
                                          include_tp_names=["Item"]) as rt:
            items = [Item() for _ in range(5)]
            self.assertEqual(cPyMemTrace.reference_tracing_wrapper_depth(), 1)
            self.assertEqual(cPyMemTrace.reference_tracing_live_object_counts(), {"Item": 5})
            rt.suspend()
            more = [Item() for _ in range(3)]  # not counted
            rt.resume()
            del items
            self.assertEqual((rt.count_new(), rt.count_del()), (5, 5))
        self.assertEqual(cPyMemTrace.reference_tracing_wrapper_depth(), 0)
        self.assertEqual(rt.live_object_counts(), {"Item": 0})
        rows = [e for e in self.events(rt.log_file_path()) if e.kind in ("OBJ_NEW", "OBJ_DEL")]
        self.assertEqual(len(rows), 10)
        self.assertEqual(len(more), 3)
        with cPyMemTrace.ReferenceTracingSimple() as simple:
            objects = [object() for _ in range(100)]
        self.assertGreaterEqual(simple.count_new(), 100)
        self.assertIsNone(simple.log_path)
        del objects
        with self.assertRaises(ValueError):
            cPyMemTrace.ReferenceTracing(gc_collect_on_exit=7)


if __name__ == "__main__":
    unittest.main()
