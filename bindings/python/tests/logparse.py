"""Helpers for the pymemtrace test suites: read a text log into rows, temp dirs, child processes.

A log is::

    [message line]
    SOF
    HDR:  Event dEvent Clock What File #line Function RSS dRSS
    [FLT:  the filter stages, when any]
    FRST: / NEXT: / PREV: / LAST: rows    (event rows, one per event)
    MSG:  rows                            (Event dEvent Clock # text)
    EOF

Columns are padded to fixed widths but longer values are written whole, so rows are split on
whitespace: four columns from the left, four from the right, and the File column (which may
hold spaces) is what is left in the middle.
"""
import collections
import os
import subprocess
import sys
import tempfile
import unittest

import pymemtrace

MIB = 1 << 20
PACKAGE_DIR = os.path.dirname(os.path.abspath(pymemtrace.__file__))
# Set by scripts/test.sh when the suite runs on a module built with ASan+UBSan (LD_PRELOADed):
# RSS then counts the sanitizer's shadow memory and quarantine, and exact RSS figures are not
# the program's.
SANITIZED = os.environ.get("PMT_SANITIZED") == "1"
exact_rss = unittest.skipIf(SANITIZED, "RSS under a sanitizer counts its shadow memory and "
                            "quarantine, not only the program's")
HEADER_COLUMNS = ["Event", "dEvent", "Clock", "What", "File", "#line", "Function", "RSS", "dRSS"]
EVENT_TAGS = ("FRST", "NEXT", "PREV", "LAST")

Row = collections.namedtuple(
    "Row", "tag event d_event clock what file line function rss d_rss text")


class LogFormatError(ValueError):
    pass


class Log:
    """A parsed log: `message` (first line or None), `filters` (the FLT line's text, "" without
    one), `rows` (every row between HDR: or FLT: and EOF)."""

    def __init__(self, path, message, header, rows, filters=""):
        self.path = path
        self.message = message
        self.header = header
        self.rows = rows
        self.filters = filters

    @property
    def event_rows(self):
        """Rows of events (FRST, NEXT, PREV, LAST), without MSG rows."""
        return [r for r in self.rows if r.tag != "MSG"]

    @property
    def messages(self):
        """The text of every MSG row, in order."""
        return [r.text for r in self.rows if r.tag == "MSG"]

    def find(self, **fields):
        """Rows whose fields equal all the given values, e.g. find(what="CALL", function="f").
        A function without a dot also matches a qualified name it ends ("Test.f", "g.<locals>.f":
        CPython 3.11+ logs co_qualname)."""
        def matches(row, key, value):
            got = getattr(row, key)
            if key == "function" and isinstance(value, str) and "." not in value:
                return got == value or short_name(got) == value
            return got == value
        return [r for r in self.rows if all(matches(r, k, v) for k, v in fields.items())]

    def event_numbers(self):
        """Distinct event numbers in file order (the rows of one multi-line MSG share one)."""
        numbers = []
        for row in self.rows:
            if not numbers or numbers[-1] != row.event:
                numbers.append(row.event)
        return numbers


def short_name(function):
    """The last part of a qualified name: "Record.__init__" -> "__init__"."""
    return function.rsplit(".", 1)[-1] if function else function


def parse_row(text):
    """One row of a log (without its newline) as a Row."""
    if text.startswith("MSG:  "):
        head, sep, message = text[6:].partition(" # ")
        if not sep:
            raise LogFormatError(f"MSG row without '# ': {text!r}")
        event, d_event, clock = head.split()
        return Row("MSG", int(event), _d_event(d_event), float(clock), None, None, None, None,
                   None, None, message)
    tag = text[:4]
    if tag not in EVENT_TAGS or text[4:6] != ": ":
        raise LogFormatError(f"unknown row: {text!r}")
    left = text[6:].split(None, 4)
    if len(left) != 5:
        raise LogFormatError(f"short row: {text!r}")
    event, d_event, clock, what, remainder = left
    right = remainder.rsplit(None, 4)
    if len(right) != 5:
        raise LogFormatError(f"short row: {text!r}")
    file, line, function, rss, d_rss = right
    return Row(tag, int(event), _d_event(d_event), float(clock), what, file.strip(), int(line),
               function, int(rss), int(d_rss), None)


def _d_event(text):
    if not text.startswith("+"):
        raise LogFormatError(f"dEvent without '+': {text!r}")
    return int(text[1:])


def parse_log(path):
    """Reads a finished log strictly (UTF-8, every line well formed) into a Log."""
    with open(path, "rb") as f:
        data = f.read()
    text = data.decode("utf-8", errors="strict")
    if not text.endswith("EOF\n"):
        raise LogFormatError(f"{path}: does not end with EOF")
    lines = text[:-1].split("\n")
    message = None
    if lines[0] != "SOF":
        message = lines.pop(0)
    if lines[0] != "SOF":
        raise LogFormatError(f"{path}: no SOF line")
    header = lines[1]
    if not header.startswith("HDR:  ") or header.split()[1:] != HEADER_COLUMNS:
        raise LogFormatError(f"{path}: bad header {header!r}")
    if lines[-1] != "EOF":
        raise LogFormatError(f"{path}: no EOF line")
    filters = ""
    if lines[2].startswith("FLT:  "):
        filters = lines.pop(2)[6:]
    rows = [parse_row(line) for line in lines[2:-1]]
    return Log(path, message, header, rows, filters)


class TempDirTestCase(unittest.TestCase):
    """Each test gets a fresh temporary directory, removed afterwards."""

    def setUp(self):
        super().setUp()
        self._tmp = tempfile.TemporaryDirectory(prefix="pmt_test_")
        self.addCleanup(self._tmp.cleanup)
        self.tmp = self._tmp.name

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def assertNoOwnFrames(self, log):
        """No row of the log comes from the pymemtrace package's own files."""
        own = [r for r in log.event_rows if r.file.startswith(PACKAGE_DIR + os.sep)]
        self.assertEqual(own, [], f"{log.path}: rows from the tracer's own code")


def child_env():
    """The environment for a child interpreter: this package first on PYTHONPATH."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in [os.path.dirname(PACKAGE_DIR), env.get("PYTHONPATH")] if p)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_cli(*args, cwd=None, stdout=subprocess.PIPE, timeout=120):
    """`python -m pymemtrace ARGS` in a fresh interpreter: the CompletedProcess (stdout bytes,
    stderr text)."""
    done = subprocess.run([sys.executable, "-m", "pymemtrace", *map(str, args)], cwd=cwd,
                          env=child_env(), stdout=stdout, stderr=subprocess.PIPE,
                          timeout=timeout)
    done.stderr = done.stderr.decode("utf-8", "backslashreplace")
    return done


def event_fields(events):
    """What a text log shows of each Event: (seq, reason, kind, file, line, function, rss, d_rss),
    or (seq, "MSG", text) for a message."""
    return [(e.seq, "MSG", e.message) if e.kind == "MARK" else
            (e.seq, e.reason, e.kind, e.file, e.line, e.function, e.rss, e.d_rss)
            for e in events]


def log_fields(log):
    """event_fields() of a parsed text Log: the MSG rows of one message joined by newlines."""
    fields = []
    for r in log.rows:
        if r.tag != "MSG":
            fields.append((r.event, r.tag, r.what, r.file, r.line, r.function, r.rss, r.d_rss))
        elif fields and fields[-1][1] == "MSG" and fields[-1][0] == r.event:
            fields[-1] = (r.event, "MSG", fields[-1][2] + "\n" + r.text)
        else:
            fields.append((r.event, "MSG", r.text))
    return fields


def run_python(script_path, *args, cwd=None, timeout=120):
    """Runs a script in a fresh interpreter (this one) and returns its stdout; fails loudly."""
    done = subprocess.run([sys.executable, script_path, *map(str, args)], cwd=cwd,
                          env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, text=True)
    if done.returncode != 0:
        raise AssertionError(f"{script_path} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def line_of(source, marker):
    """1-based number of the only line of source containing marker."""
    found = [i for i, line in enumerate(source.splitlines(), 1) if marker in line]
    if len(found) != 1:
        raise ValueError(f"marker {marker!r} found {len(found)} times")
    return found[0]


# The acceptance scenario, run in a fresh interpreter so that no memory freed by earlier tests
# can be reused: a function fills a new 1 MiB bytearray in one line and does no C call after it.
ALLOCATION_SCRIPT = '''\
import sys
import pymemtrace


def noop():
    return None


def allocate_one_mebibyte():
    noop()
    noop()
    noop()
    block = bytearray(b"\\x01") * (1 << 20)  # ALLOCATION
    return block  # AFTER ALLOCATION


wrapper = {"profile": pymemtrace.Profile, "trace": pymemtrace.Trace}[sys.argv[1]]
with wrapper(filepath=sys.argv[2]) as tracer:
    kept = allocate_one_mebibyte()
print(tracer.log_path)
'''
ALLOCATION_LINE = line_of(ALLOCATION_SCRIPT, "# ALLOCATION")
AFTER_ALLOCATION_LINE = line_of(ALLOCATION_SCRIPT, "# AFTER ALLOCATION")


def run_allocation_scenario(kind, directory):
    """Runs ALLOCATION_SCRIPT under Profile() or Trace() (default trigger); returns the Log."""
    script = os.path.join(directory, "allocate.py")
    with open(script, "w", encoding="utf-8") as f:
        f.write(ALLOCATION_SCRIPT)
    log_path = os.path.join(directory, f"{kind}.log")
    printed = run_python(script, kind, log_path, cwd=directory).strip()
    if printed != log_path:
        raise AssertionError(f"log_path {printed!r}, expected {log_path!r}")
    return parse_log(log_path), script


class AllocationScenarioTestCase(unittest.TestCase):
    """Runs the 1 MiB allocation scenario once per class under KIND ("profile" or "trace");
    `big` holds the NEXT rows that report at least a mebibyte."""
    KIND = ""

    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory(prefix="pmt_test_")
        cls.log, cls.script = run_allocation_scenario(cls.KIND, cls._tmp.name)
        cls.big = [r for r in cls.log.rows if r.tag == "NEXT" and r.d_rss >= MIB]

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()


def frames_here():
    """The caller's stack depth in frames, as events count it (a module's code is at 1)."""
    depth, frame = 0, sys._getframe(1)
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    return depth
