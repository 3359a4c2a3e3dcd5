"""Allocation tracing on a real CPython: blocks of known sizes from known allocators
(pymemtrace.testing), made and freed on known lines of named functions, found in flow, hist and
leaks with their exact sizes, allocators, functions and lines; the allocator hooks chained to and
from tracemalloc; native allocations through the interposer and through rewritten imports;
the stages; bad input."""
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import threading
import tracemalloc
import unittest

import pymemtrace
from pymemtrace import allocations, testing
from logparse import SANITIZED, TempDirTestCase

HERE = os.path.abspath(__file__)

# The program of the "done when": each marked line makes or frees blocks.
PROGRAM = textwrap.dedent("""\
    import json
    import sys
    from pymemtrace import testing

    made = {}


    def make_cmalloc():
        blocks = []
        for _ in range(4):
            blocks.append(testing.CMalloc(1 << 20))  # CMALLOC
        made["cmalloc"] = [b.address for b in blocks]
        blocks[0].free()  # CFREE
        return blocks


    def make_raw():
        blocks = []
        for _ in range(4):
            blocks.append(testing.PyRawMalloc(128))  # RAW
        made["raw"] = [b.address for b in blocks]
        blocks[1].free()  # RAWFREE
        return blocks


    def make_mem():
        small = testing.PyMalloc(177)  # MEM177
        large = testing.PyMalloc(600)  # MEM600
        made["mem"] = [small.address, large.address]
        large.free()  # MEMFREE
        return small


    kept = (make_cmalloc(), make_raw(), make_mem())
    with open(sys.argv[1], "w") as out:
        json.dump(made, out)
    """)


def marker_line(text, marker):
    for number, line in enumerate(text.splitlines(), 1):
        if line.endswith("# " + marker):
            return number
    raise AssertionError(marker)


def cli(*args, env=None, check=True):
    result = subprocess.run([sys.executable, "-m", "pymemtrace", *args], capture_output=True,
                            text=True, env=env, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"{args}: exit {result.returncode}\n{result.stdout}\n"
                             f"{result.stderr}")
    return result


class DoneWhenTest(unittest.TestCase):
    """`run --native` on the program above: flow, hist and leaks say exactly what it did."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="pmt_alloc_")
        cls.script = os.path.join(cls.dir, "program.py")
        with open(cls.script, "w") as f:
            f.write(PROGRAM)
        cls.log = os.path.join(cls.dir, "run.pmt")
        made = os.path.join(cls.dir, "made.json")
        # Under AddressSanitizer (its malloc comes first in LD_PRELOAD) the interposer never
        # sees a call: CPython's domains only, and CMalloc's blocks are not expected.
        cls.native = not SANITIZED
        cli("run", "--native" if cls.native else "--allocations", "--binary", "--top", "0",
            "-o", cls.log, cls.script, made)
        with open(made) as f:
            cls.made = json.load(f)
        cls.flow = [json.loads(line) for line in cli("flow", "--json", cls.log).stdout.splitlines()]
        cls.hist = json.loads(cli("hist", "--json", "--by", "line", cls.log).stdout)
        cls.leaks = json.loads(cli("leaks", "--json", cls.log).stdout)

    @classmethod
    def tearDownClass(cls):
        for name in os.listdir(cls.dir):
            os.unlink(os.path.join(cls.dir, name))
        os.rmdir(cls.dir)

    def line(self, marker):
        return marker_line(PROGRAM, marker)

    def records(self, kind, address):
        return [r for r in self.flow if r["kind"] == kind and r["address"] == address]

    def assert_made(self, address, size, allocator, function, marker):
        # An address is reused once freed: the block of this size and allocator is one.
        found = [r for r in self.records("ALLOC", address)
                 if (r["size"], r["allocator"]) == (size, allocator)]
        self.assertEqual(len(found), 1, f"{allocator} {size} at {address:#x}: {found}")
        record = found[0]
        self.assertEqual((record["size"], record["allocator"], record["function"], record["line"]),
                         (size, allocator, function, self.line(marker)))
        self.assertEqual(os.path.realpath(record["file"]), os.path.realpath(self.script))

    def assert_freed(self, address, size, allocator, function, marker):
        found = [r for r in self.records("FREE", address)
                 if (r["size"], r["allocator"]) == (size, allocator)]
        self.assertEqual(len(found), 1, f"free of {address:#x}: {found}")
        record = found[0]
        self.assertEqual((record["size"], record["allocator"], record["function"], record["line"]),
                         (size, allocator, function, self.line(marker)))

    def test_flow_shows_each_block_where_it_was_made_and_freed(self):
        cmalloc, raw, mem = self.made["cmalloc"], self.made["raw"], self.made["mem"]
        if not self.native:
            cmalloc = []
        for address in cmalloc:
            self.assert_made(address, 1 << 20, "NATIVE", "make_cmalloc", "CMALLOC")
        for address in raw:
            self.assert_made(address, 128, "RAW", "make_raw", "RAW")
        self.assert_made(mem[0], 177, "MEM", "make_mem", "MEM177")
        self.assert_made(mem[1], 600, "MEM", "make_mem", "MEM600")
        if cmalloc:
            self.assert_freed(cmalloc[0], 1 << 20, "NATIVE", "make_cmalloc", "CFREE")
        self.assert_freed(raw[1], 128, "RAW", "make_raw", "RAWFREE")
        self.assert_freed(mem[1], 600, "MEM", "make_mem", "MEMFREE")
        kept = [(a, 1 << 20, "NATIVE") for a in cmalloc[1:]] + \
            [(a, 128, "RAW") for a in raw[:1] + raw[2:]] + [(mem[0], 177, "MEM")]
        for address, size, allocator in kept:
            frees = [r for r in self.records("FREE", address)
                     if (r["size"], r["allocator"]) == (size, allocator)]
            self.assertEqual(frees, [], f"{address:#x} was never freed")

    def test_the_text_flow_has_dtraces_layout(self):
        if not self.native:
            self.skipTest("under a sanitizer the interposer sees no malloc")
        text = cli("flow", self.log).stdout.splitlines()
        wanted = f"program.py:{self.line('CMALLOC')}"
        lines = [t for t in text if wanted in t and "malloc(1048576)" in t]
        self.assertEqual(len(lines), 4, "\n".join(text[-40:]))
        self.assertRegex(lines[0], r"^\s*\d+\s+program\.py:\d+\s+(  )*-> make_cmalloc "
                                   r"malloc\(1048576\) pntr 0x[0-9a-f]+$")

    def group(self, marker, allocator=None):
        """The buckets of the marked line: from the command's JSON (all allocators), or from
        pymemtrace.allocations on the log's events of one allocator."""
        line = self.line(marker)
        groups = self.hist["groups"]
        if allocator:
            with pymemtrace.open_log(self.log) as log:
                groups = allocations.histograms((e for e in log if e.allocator == allocator),
                                                by="line")
            groups = [{**g, "buckets": [{"value": v, "count": c}
                                        for v, c in g["buckets"].items()]} for g in groups]
        rows = [g for g in groups
                if g["group"]["line"] == line and g["group"]["file"].endswith("program.py")]
        self.assertEqual(len(rows), 1, marker)
        return {b["value"]: b["count"] for b in rows[0]["buckets"]}

    def test_hist_has_the_expected_buckets(self):
        if self.native:
            self.assertEqual(self.group("CMALLOC", "NATIVE"), {1 << 20: 4})
            self.assertEqual(self.group("CMALLOC").get(1 << 20), 4)
        self.assertEqual(self.group("RAW", "RAW"), {128: 4})
        # A line's allocations include what runs after its call until the next one (a list's
        # items on the next line): small, in other buckets. doc/allocations.md.
        self.assertEqual(self.group("MEM177", "MEM").get(128), 1)  # 177 is in [128, 256)
        self.assertEqual(self.group("MEM600", "MEM").get(512), 1)
        # The command's own groups (every allocator) hold them too.
        self.assertGreaterEqual(self.group("RAW").get(128, 0), 4)
        text = cli("hist", self.log, "--by", "allocator").stdout
        self.assertIn("               value  ------------- Distribution ------------- count", text)
        self.assertRegex(text, r"\n\s+128 \|@*\s+\d+\n")

    def site(self, marker):
        line = self.line(marker)
        rows = [r for r in self.leaks["sites"]
                if r["line"] == line and r["file"].endswith("program.py")]
        return rows[0] if rows else None

    def test_leaks_holds_exactly_the_unfreed_blocks(self):
        if self.native:
            self.assertEqual(self.site("CMALLOC")["allocators"].get("NATIVE"), 3 << 20)
        self.assertEqual(self.site("RAW")["allocators"].get("RAW"), 3 * 128)
        self.assertEqual(self.site("MEM177")["allocators"].get("MEM"), 177)
        mem600 = self.site("MEM600")  # its 600 bytes were freed; small objects may stay
        self.assertTrue(mem600 is None or mem600["allocators"].get("MEM", 0) < 600, mem600)
        row = self.site("RAW")
        for key in ("file", "line", "function", "qualname", "blocks", "bytes"):
            self.assertIn(key, row)
        self.assertEqual((row["function"], row["qualname"]), ("make_raw", "make_raw"))
        byte_order = [r["bytes"] for r in self.leaks["sites"]]
        self.assertEqual(byte_order, sorted(byte_order, reverse=True))
        self.assertGreaterEqual(self.leaks["peak_bytes"], (4 << 20) if self.native else 512)
        if self.native:
            self.assertGreaterEqual(self.leaks["allocators"]["NATIVE"]["frees"], 1)
        self.assertIsNotNone(self.leaks["frees_of_null"])

    def test_a_cut_log_still_reports_and_says_so(self):
        """Cut inside its last chunks (the last whole chunk depends on the run's timing, so
        the cut moves back until one is left): the reports cover what is whole and warn."""
        cut = os.path.join(self.dir, "cut.pmt")
        with open(self.log, "rb") as f:
            data = f.read()
        for tenths in range(9, 0, -1):
            with open(cut, "wb") as f:
                f.write(data[:len(data) * tenths // 10])
            if cli("flow", cut, check=False).stdout:
                break
        for command in ("flow", "hist", "leaks"):
            result = cli(command, cut, check=False)
            self.assertEqual(result.returncode, 1, result.stderr)
            self.assertIn("is truncated", result.stderr)
            self.assertTrue(result.stdout, command)


def make_177():
    return testing.PyMalloc(177)  # MAKE177


def make_raw_and_free():
    block = testing.PyRawMalloc(4000)
    block.free()  # FREE4000


def source_line(function, marker):
    with open(HERE) as f:
        return marker_line(f.read(), marker)


class InProcessTest(TempDirTestCase):
    def run_allocations(self, work, **options):
        events = []
        options.setdefault("filepath", os.path.join(self.tmp, "a.pmt"))
        with pymemtrace.Allocations(sink=events.append, **options) as tracer:
            result = work()
        return events, tracer, result

    def test_a_block_is_charged_to_its_line(self):
        events, tracer, block = self.run_allocations(make_177)
        found = [e for e in events if e.kind == "ALLOC" and e.address == block.address]
        event = found[-1]  # an address freed before may have served another block
        self.assertEqual((event.size, event.allocator, event.function, event.line),
                         (177, "MEM", "make_177", source_line(make_177, "MAKE177")))
        self.assertEqual(event.reason, "ALOC")
        self.assertEqual(event.user_function, "make_177")
        self.assertGreater(tracer.allocation_stats["seen"], 0)
        # The binary log holds the same event.
        with pymemtrace.open_log(tracer.log_path) as log:
            logged = [e for e in log if e.kind == "ALLOC" and e.address == block.address]
        self.assertEqual((logged[-1].size, logged[-1].line, logged[-1].allocator),
                         (177, event.line, "MEM"))

    def test_frees_carry_the_size_they_were_made_with(self):
        events, _, _ = self.run_allocations(make_raw_and_free)
        frees = [e for e in events if e.kind == "FREE" and e.size == 4000]
        self.assertEqual(len(frees), 1)
        self.assertEqual((frees[0].allocator, frees[0].line),
                         ("RAW", source_line(make_raw_and_free, "FREE4000")))

    def test_the_text_log_reads_back(self):
        path = os.path.join(self.tmp, "a.log")
        events, _, block = self.run_allocations(make_177, log_format="text", filepath=path)
        with pymemtrace.open_log(path) as log:
            logged = [e for e in log if e.kind == "ALLOC" and e.address == block.address]
        self.assertEqual((logged[-1].size, logged[-1].allocator, logged[-1].reason),
                         (177, "MEM", "ALOC"))

    def test_minimum_size_and_sampling(self):
        def many():
            return [testing.PyMalloc(64) for _ in range(2000)] + [testing.PyMalloc(100000)]
        events, _, blocks = self.run_allocations(many, alloc_min_size=1000)
        sizes = [e.size for e in events if e.kind == "ALLOC"]
        self.assertTrue(sizes and min(sizes) >= 1000, sizes[:10])
        self.assertIn(100000, sizes)
        events, _, blocks = self.run_allocations(many, alloc_sample=1 << 20)
        ours = {b.address for b in blocks}
        kept = [e for e in events if e.kind == "ALLOC" and e.address in ours and e.size == 64]
        self.assertLess(len(kept), 50)  # ~0.1 expected of 2000 blocks of 64 bytes

    def test_a_thread_is_charged_to_its_own_code(self):
        made = []

        def worker():
            made.append(testing.PyMalloc(321))  # THREAD321

        def work():
            thread = threading.Thread(target=worker)
            thread.start()
            thread.join()
        events, _, _ = self.run_allocations(work)
        found = [e for e in events if e.kind == "ALLOC" and e.size == 321]
        self.assertEqual(len(found), 1)
        self.assertEqual(found[0].function.rsplit(".", 1)[-1], "worker")
        self.assertNotEqual(found[0].thread_id, threading.get_native_id())

    def test_allocations_as_a_decorator(self):
        events = []

        @pymemtrace.Allocations(filepath=self.path("d.pmt"), sink=events.append)
        def decorated():
            return testing.PyMalloc(4321)
        block = decorated()
        self.assertTrue([e for e in events if e.kind == "ALLOC" and e.size == 4321
                         and e.address == block.address])

    def test_profile_with_allocations_writes_both(self):
        events = []
        with pymemtrace.Profile(0, sink=events.append, log_format="binary",
                                filepath=os.path.join(self.tmp, "p.pmt"), allocations=True):
            make_177()
        kinds = {e.kind for e in events}
        self.assertTrue({"CALL", "RETURN", "ALLOC"} <= kinds, kinds)
        self.assertTrue(all(e.rss > 0 for e in events if e.kind == "ALLOC"))

    def test_native_allocations_without_the_interposer(self):
        """A process started without LD_PRELOAD: the loaded objects' imports are rewritten."""
        if "libpymemtrace_native" in os.environ.get("LD_PRELOAD", ""):
            self.skipTest("the interposer is preloaded here: the other way is tested")

        def work():
            return testing.CMalloc(5000)  # CMALLOC5000
        events, _, block = self.run_allocations(work, allocations="native")
        # The address may have served a block freed before: the last one made there is ours.
        found = [e for e in events if e.kind == "ALLOC" and e.address == block.address]
        self.assertEqual((found[-1].size, found[-1].allocator), (5000, "NATIVE"))


class WithoutTheGilTest(TempDirTestCase):
    def test_raw_calls_without_the_gil_are_counted_not_recorded(self):
        """ctypes.CDLL lets the GIL go around a call: PyMem_RawMalloc from there is a RAW call
        without the GIL, which the tracer counts and never records."""
        import ctypes
        libc = ctypes.CDLL(None)  # CDLL, not PyDLL: the GIL is released around each call
        libc.PyMem_RawMalloc.restype = ctypes.c_void_p
        libc.PyMem_RawMalloc.argtypes = [ctypes.c_size_t]
        libc.PyMem_RawFree.argtypes = [ctypes.c_void_p]
        events = []
        with pymemtrace.Allocations(filepath=self.path("a.pmt"), sink=events.append) as tracer:
            address = libc.PyMem_RawMalloc(123457)
            libc.PyMem_RawFree(address)
        self.assertFalse([e for e in events if e.size == 123457])
        self.assertGreaterEqual(tracer.allocation_stats["untraced"], 2)


@unittest.skipUnless(hasattr(os, "fork"), "needs fork")
class ForkTest(TempDirTestCase):
    def test_a_forked_child_records_nothing_in_the_parents_log(self):
        path = self.path("a.pmt")
        with pymemtrace.Allocations(filepath=path) as tracer:
            pid = os.fork()
            if pid == 0:  # the child allocates, then leaves at once
                blocks = [testing.PyMalloc(98765) for _ in range(10)]
                os._exit(0 if len(blocks) == 10 else 1)
            _, status = os.waitpid(pid, 0)
            mine = testing.PyMalloc(45678)
        self.assertEqual(status, 0)
        with pymemtrace.open_log(path) as log:
            sizes = [e.size for e in log if e.kind == "ALLOC"]
        self.assertNotIn(98765, sizes)
        self.assertIn(45678, sizes)
        del mine


class ReportsTest(TempDirTestCase):
    def test_stats_and_top_put_allocations_beside_growth(self):
        script = self.path("grow.py")
        with open(script, "w") as f:
            f.write("def grow():\n    return [bytearray(100000) for _ in range(50)]\n"
                    "kept = grow()\n")
        log = self.path("run.pmt")
        cli("run", "--allocations", "--binary", "--top", "0", "-o", log, script)
        stats = cli("stats", log).stdout
        self.assertIn("functions by bytes allocated", stats)
        self.assertRegex(stats, r"grow.*: .*\d+ (OBJ|MEM|RAW) of")
        rows = json.loads(cli("top", log, "--json").stdout)
        grow = [r for r in rows if r["file"] == script]  # grow, or its list comprehension
        self.assertTrue(grow, rows)
        self.assertGreaterEqual(grow[0]["alloc_bytes"], 50 * 100000)
        self.assertGreaterEqual(grow[0]["allocations"], 50)
        with pymemtrace.open_log(log) as opened:
            self.assertIn("allocators=RAW,MEM,OBJ", opened.header["filters"])


class FlowOptionsTest(TempDirTestCase):
    def test_call_stack_full_path_and_groupings(self):
        """A Profile(0, allocations=True) log holds calls and returns too: --call-stack shows
        them around the allocations; --full-path the whole file name; hist groups by file and
        allocator; run's sampling and minimum size reach the log's header."""
        script = self.path("calls.py")
        with open(script, "w") as f:
            f.write("from pymemtrace import testing\n"
                    "def inner():\n    return testing.PyMalloc(3000)\n"
                    "def outer():\n    return inner()\n"
                    "kept = outer()\n")
        log = self.path("run.pmt")
        cli("run", "--allocations", "--binary", "-d", "0", "--top", "0", "-o", log, script)
        flow = cli("flow", "--call-stack", "--full-path", log).stdout.splitlines()
        calls = [i for i, t in enumerate(flow) if t.rstrip().endswith("-> inner")]
        made = [i for i, t in enumerate(flow) if "PyMem_Malloc(3000)" in t]
        back = [i for i, t in enumerate(flow) if t.rstrip().endswith("<- inner")]
        self.assertTrue(calls and made and back, "\n".join(flow[-30:]))
        self.assertLess(calls[-1], made[-1])
        self.assertLess(made[-1], back[-1])
        self.assertIn(script, flow[made[-1]])  # --full-path
        by_file = json.loads(cli("hist", "--json", "--by", "file", log).stdout)
        self.assertTrue([g for g in by_file["groups"] if g["group"]["file"] == script])
        by_allocator = json.loads(cli("hist", "--json", "--by", "allocator", log).stdout)
        self.assertIn("MEM", [g["group"]["allocator"] for g in by_allocator["groups"]])
        sampled = self.path("sampled.pmt")
        cli("run", "--allocations", "--alloc-sample", "65536", "--alloc-min-size", "16",
            "--binary", "--top", "0", "-o", sampled, script)
        with pymemtrace.open_log(sampled) as opened:
            self.assertIn("alloc_min_size=16 alloc_sample_bytes=65536", opened.header["filters"])
            sizes = [e.size for e in opened if e.kind == "ALLOC"]
        self.assertTrue(all(size >= 16 for size in sizes), sizes[:20])


class ChainingTest(TempDirTestCase):
    """The hooks wrap what was installed before them and give it back."""

    def setUp(self):
        super().setUp()
        self.addCleanup(tracemalloc.stop)

    def test_under_tracemalloc_both_see_the_blocks(self):
        tracemalloc.start()
        with pymemtrace.Allocations(filepath=os.path.join(self.tmp, "a.pmt")) as tracer:
            block = testing.PyMalloc(50000)
            traced = tracemalloc.get_traced_memory()[0]
        self.assertGreaterEqual(traced, 50000)
        self.assertGreater(tracer.allocation_stats["seen"], 0)
        before = tracemalloc.get_traced_memory()[0]
        more = testing.PyMalloc(70000)
        self.assertGreaterEqual(tracemalloc.get_traced_memory()[0] - before, 70000)
        del block, more

    def test_a_tool_installed_over_ours_is_noticed_and_kept_working(self):
        path = os.path.join(self.tmp, "a.pmt")
        with pymemtrace.Allocations(filepath=path):
            tracemalloc.start()  # its hooks wrap ours
        block = testing.PyMalloc(60000)  # through tracemalloc, then ours (passing through)
        self.assertGreaterEqual(tracemalloc.get_traced_memory()[0], 60000)
        tracemalloc.stop()
        with pymemtrace.open_log(path) as log:
            marks = [e.message for e in log if e.kind == "MARK"]
        self.assertTrue(any("another tool replaced" in m for m in marks), marks)
        del block
        # A later run finds its hook still in the chain and uses it.
        events = []
        with pymemtrace.Allocations(filepath=os.path.join(self.tmp, "b.pmt"), sink=events.append):
            again = make_177()
        self.assertTrue([e for e in events if e.kind == "ALLOC" and e.address == again.address])

    def test_one_allocation_tracer_at_a_time(self):
        with pymemtrace.Allocations(filepath=os.path.join(self.tmp, "a.pmt")):
            with self.assertRaisesRegex(RuntimeError, "another tracer traces allocations"):
                with pymemtrace.Profile(filepath=os.path.join(self.tmp, "b.log"),
                                        allocations=True):
                    pass


class BadInputTest(TempDirTestCase):
    def test_bad_arguments(self):
        with self.assertRaises(ValueError):
            pymemtrace.Profile(allocations="everything")
        with self.assertRaises(ValueError):
            pymemtrace.Profile(allocations=["RAW", "GPU"])
        with self.assertRaises(ValueError):
            pymemtrace.Profile(allocations=True, alloc_min_size=-1)
        with self.assertRaises(TypeError):
            pymemtrace.Profile(allocations=True, alloc_sample="1M")
        with self.assertRaises(ValueError):
            pymemtrace.Allocations(allocations=False)
        with self.assertRaises(ValueError):
            allocations.histograms([], by="color")

    def test_without_allocator_hooks_rss_tracing_goes_on(self):
        code = textwrap.dedent(f"""\
            import pymemtrace
            try:
                with pymemtrace.Allocations(filepath={os.path.join(self.tmp, 'a.pmt')!r}):
                    pass
            except RuntimeError as error:
                print("refused:", error)
            with pymemtrace.Profile(filepath={os.path.join(self.tmp, 'b.log')!r}) as p:
                x = [0] * 100000
            print("profile wrote", p.events_written)
            """)
        env = dict(os.environ, PYMEMTRACE_ALLOCATOR_HOOKS="off")
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                env=env, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("refused:", result.stdout)
        self.assertIn("allocations cannot be traced", result.stdout)
        self.assertIn("profile wrote", result.stdout)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "a.pmt")))


if __name__ == "__main__":
    unittest.main()
