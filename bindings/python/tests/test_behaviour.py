"""Traced programs behave as untraced (issue 4).

Each program here runs once untraced and then inside Profile, Profile(c_calls=True) and Trace with
d_rss_trigger=0 (every event written), to a binary log (which records each event's depth and
thread) and to a text log (read strictly by logparse.parse_log too). Its result, or its exception's
type and text, must be the untraced run's, and check_log() must find the log well formed:

- the first event is START (FRST), the last STOP (LAST), every other one NEXT (MSG for a message);
- event numbers are 0, 1, 2, ... (trigger 0: every event seen is written), as many as events_seen;
- per thread (a wrapper traces every thread by default), CALL/RETURN pair like a stack, by
  function name and depth; C_CALL pairs with the C_RETURN or C_EXCEPT of the same C function at
  the same depth, with the Python calls it makes nested inside; a CALL is one deeper than the
  frame running before it, C, LINE and EXCEPT events are at the depth of the running frame, which
  right after START is the real depth of the code that entered the wrapper (START and STOP are
  stamped deeper, in the wrapper's own frames, which are never reported).

Two kinds of imbalance are not errors of the log, and check_log() reports them apart, so that each
test states exactly which it expects:

- pre_start_exits: RETURN (C_RETURN) of a frame (C call) that was running before START, when the
  stack of the log is empty. A `with` block never has them; tracing started inside a generator
  does (the generator yields while tracing: see TracingStartedInsideAGeneratorTest), and so does a
  program that leaves through sys.exit() while its wrapper was entered by hand (the module frame
  unwinds, then the atexit hook stops the tracer).
- open_at_stop: frames (C calls) entered after START and still running at STOP: tracing stopped
  by a generator that was resumed from elsewhere.

Other tools: on 3.12+ the tracer is a sys.monitoring tool (ids 2-4), beside cProfile (id 2) and
sys.settrace/sys.setprofile, which CPython also runs on sys.monitoring, so all of them must see
exactly what they see untraced. On 3.10/3.11 Profile installs its hook with sys.setprofile and
Trace with sys.settrace, and each thread has one slot of each: cProfile shares Profile's slot and
a settrace debugger shares Trace's. There LegacyHookSlotTest documents what happens when two tools
want one slot (the one that installed its hook last gets the events; the program's results do not
change, nothing crashes, the log stays readable) and requires what the wrapper can still do: leave
a hook that is not its own in place at stop, give a settrace debugger its hook back, and
(LogSaysWhyTest) say in the log that it lost its hook.
"""
import _thread
import asyncio
import cProfile
import collections
import gc
import operator
import os
import pstats
import signal
import subprocess
import sys
import unittest

import pymemtrace
from logparse import TempDirTestCase, child_env, frames_here, parse_log, short_name

MONITORING = sys.version_info >= (3, 12)
LOG_FORMATS = ("binary", "text")


class Config:
    """A wrapper class with options, called like the class: Profile, Profile(c_calls=True)."""

    def __init__(self, wrapper, **options):
        self.wrapper = wrapper
        self.options = options
        self.c_calls = options.get("c_calls", False)
        self.name = wrapper.__name__ + "".join(f"({k}={v!r})" for k, v in options.items())
        self.slug = wrapper.__name__ + ("_c" if self.c_calls else "")

    def __call__(self, *args, **kwargs):
        return self.wrapper(*args, **self.options, **kwargs)

    def __repr__(self):
        return self.name


PROFILE = Config(pymemtrace.Profile)  # Python calls and returns only (the default)
PROFILE_C = Config(pymemtrace.Profile, c_calls=True)  # and C calls, returns and exceptions
TRACE = Config(pymemtrace.Trace)
WRAPPERS = (PROFILE, PROFILE_C, TRACE)


# ------------------------------------------------------------------------------------------------
# The log checker.

Open = collections.namedtuple("Open", "kind function depth seq")


class LogReport:
    """What check_log() found: `problems` (text; none for a well-formed log), `pre_start_exits`
    and `open_at_stop` ((kind, function) pairs, see the module's docstring), `called` (functions
    with a CALL), and the `events` themselves."""

    def __init__(self, events):
        self.events = events
        self.problems = []
        self.pre_start_exits = []
        self.open_at_stop = []
        # By qualified name (3.11+ logs co_qualname) and by its last part, which tests use.
        self.called = collections.Counter(e.function for e in events if e.kind == "CALL")
        self.called.update(short_name(e.function) for e in events
                           if e.kind == "CALL" and short_name(e.function) != e.function)

    def describe(self, limit=25):
        lines = self.problems[:limit]
        if len(self.problems) > limit:
            lines.append(f"... and {len(self.problems) - limit} more")
        return "\n".join(lines)


def _event_text(e):
    depth = "" if e.depth is None else f" depth {e.depth}"
    return f"event {e.seq} {e.kind} {e.function!r}{depth}"


def check_log(events, events_seen=None, block_depth=None):
    """Checks a complete log's events (Event objects from open_log or a sink) with trigger 0.
    block_depth: the real stack depth (frames) of the code that entered the wrapper, when known:
    the starting thread's events are then checked against it, not only against each other."""
    events = list(events)
    report = LogReport(events)
    problems = report.problems
    if not events:
        problems.append("the log has no events")
        return report
    first, last = events[0], events[-1]
    if (first.kind, first.reason) != ("START", "FRST"):
        problems.append(f"first event is {first.kind}/{first.reason}, not START/FRST")
    if (last.kind, last.reason) != ("STOP", "LAST"):
        problems.append(f"last event is {last.kind}/{last.reason}, not STOP/LAST")
    for e in events[1:-1]:
        wanted = "MSG" if e.kind == "MARK" else "NEXT"
        if e.kind in ("START", "STOP") or e.reason != wanted:
            problems.append(f"{_event_text(e)}: reason {e.reason} inside the log")
    seqs = [e.seq for e in events]
    if seqs != list(range(len(events))):
        bad = next(i for i, s in enumerate(seqs) if s != i)
        problems.append(f"event numbers are not 0, 1, 2, ...: position {bad} has {seqs[bad]}")
    if events_seen is not None and events_seen != len(events):
        problems.append(f"{len(events)} events written, {events_seen} seen (trigger 0)")
    threads = collections.OrderedDict()
    for e in events:
        threads.setdefault(e.thread_id, []).append(e)
    for thread_events in threads.values():
        _check_thread(thread_events, report, block_depth)
    return report


# The depth of the running frame that each kind of event implies (the event's own depth for
# frame entries and exits is the entered or left frame's).
_RUNNING_BEFORE = {"CALL": -1, "RETURN": 0, "C_CALL": 0, "C_RETURN": 0, "C_EXCEPT": 0,
                   "LINE": 0, "EXCEPT": 0}


def _check_thread(events, report, block_depth):
    """One thread's events. START and STOP are stamped in the wrapper's own frames (never
    reported, depth counted), so the running frame after START is at least one shallower than
    START: the first event that says where it is settles it (or block_depth, when known). A
    thread other than the starting one (threads="all") starts at its first event."""
    problems = report.problems
    stack = []     # Open entries, innermost last
    running = None  # depth of the running frame; stays None when the log has no depths (text)
    ceiling = None  # START's depth - 1: the deepest the running frame can be after START

    def expect_depth(e, wanted):
        if e.depth is not None and wanted is not None and e.depth != wanted:
            problems.append(f"{_event_text(e)}: expected depth {wanted}")

    for e in events:
        kind = e.kind
        if running is None and e.depth is not None and kind in _RUNNING_BEFORE:
            running = e.depth + _RUNNING_BEFORE[kind]
            if ceiling is not None and running > ceiling:
                problems.append(f"{_event_text(e)}: deeper than START ({ceiling + 1}) allows")
        if kind == "START":
            if e.depth is not None:
                ceiling = e.depth - 1
                if block_depth is not None:
                    if block_depth > ceiling:
                        problems.append(f"{_event_text(e)}: START not deeper than the block "
                                        f"({block_depth})")
                    running = block_depth
        elif kind == "CALL":
            expect_depth(e, None if running is None else running + 1)
            stack.append(Open("CALL", e.function, e.depth, e.seq))
            if e.depth is not None:
                running = e.depth
        elif kind == "RETURN":
            expect_depth(e, running)
            if stack and stack[-1].kind == "CALL":
                top = stack.pop()
                if top.function != e.function or (e.depth is not None and top.depth != e.depth):
                    problems.append(f"{_event_text(e)} closes the CALL of {top.function!r} "
                                    f"(event {top.seq}, depth {top.depth})")
            elif not stack:
                report.pre_start_exits.append(("RETURN", e.function))
            else:
                problems.append(f"{_event_text(e)} while the C call {stack[-1].function!r} "
                                f"(event {stack[-1].seq}) is open")
            if e.depth is not None:
                running = e.depth - 1
        elif kind == "C_CALL":
            expect_depth(e, running)
            stack.append(Open("C_CALL", e.function, e.depth, e.seq))
        elif kind in ("C_RETURN", "C_EXCEPT"):
            expect_depth(e, running)
            if stack and stack[-1].kind == "C_CALL":
                top = stack.pop()
                if top.function != e.function or (e.depth is not None and top.depth != e.depth):
                    problems.append(f"{_event_text(e)} closes the C_CALL of {top.function!r} "
                                    f"(event {top.seq}, depth {top.depth})")
            elif not stack:
                report.pre_start_exits.append((kind, e.function))
            else:
                problems.append(f"{_event_text(e)} while the Python call {stack[-1].function!r} "
                                f"(event {stack[-1].seq}) is open")
        elif kind in ("LINE", "EXCEPT"):
            expect_depth(e, running)
        elif kind == "STOP":
            # Stamped in the wrapper's __exit__, one or more own frames deeper than the running
            # frame (more when the atexit hook calls __exit__).
            if e.depth is not None and running is not None and e.depth <= running:
                problems.append(f"{_event_text(e)}: expected depth > {running}")
            report.open_at_stop = [(o.kind, o.function) for o in stack]
        elif kind != "MARK":
            problems.append(f"{_event_text(e)}: unknown kind")


def read_log(path):
    """The events of a finished log; a text log is also parsed strictly (logparse.parse_log)."""
    if not os.fspath(path).endswith(".pmt"):
        parse_log(path)  # raises LogFormatError unless every row is well formed up to EOF
    with pymemtrace.open_log(path) as log:
        events = list(log)
        status = log.status()
    if status[0] != "complete":
        raise AssertionError(f"{path}: log is {status}")
    return events


# ------------------------------------------------------------------------------------------------
# Running a program untraced and traced.

def outcome(program):
    """What a program did: ("returned", value) or ("raised", type, text), BaseException too."""
    try:
        return ("returned", program())
    except BaseException as e:  # KeyboardInterrupt and SystemExit are outcomes here
        return ("raised", type(e), str(e))


class Untraced:
    """Stands in for a wrapper in the untraced run of a program that enters one itself."""

    def __init__(self, *args, **kwargs):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False


class BehaviourTestCase(TempDirTestCase):

    def setUp(self):
        super().setUp()
        self._logs = 0

    def new_log_path(self, wrapper, log_format):
        self._logs += 1
        extension = "pmt" if log_format == "binary" else "log"
        return self.path(f"{wrapper.slug}_{self._logs}.{extension}")

    def traced_outcome(self, wrapper, program, log_format):
        """outcome() of `program` inside `wrapper(0, ...)`, the wrapper and its LogReport."""
        instance = wrapper(0, filepath=self.new_log_path(wrapper, log_format),
                           log_format=log_format)
        block_depth = frames_here()
        try:
            with instance:
                result = ("returned", program())
        except BaseException as e:
            result = ("raised", type(e), str(e))
        return result, instance, self.report_of(instance, block_depth)

    def report_of(self, instance, block_depth=None):
        self.assertFalse(instance.active)
        events = read_log(instance.log_path)
        self.assertEqual(instance.events_written, len(events))
        return check_log(events, instance.events_seen, block_depth)

    def assertWellFormed(self, report, pre_start_exits=(), open_at_stop=()):
        self.assertEqual(report.problems, [], "\n" + report.describe())
        self.assertEqual(report.pre_start_exits, list(pre_start_exits))
        self.assertEqual(report.open_at_stop, list(open_at_stop))

    def assertBehavesAsUntraced(self, program, calls=(), wrappers=WRAPPERS, under_hook=None):
        """`program` gives the same result or exception traced as untraced (or, with
        `under_hook`, as that function turns the untraced outcome into the one under CPython's
        own hook), each log is well formed with no documented exception, and each function of
        `calls` has a CALL."""
        expected = outcome(program)
        if under_hook:
            expected = under_hook(expected)
        reports = {}
        for wrapper in wrappers:
            for log_format in LOG_FORMATS:
                with self.subTest(wrapper=wrapper.name, log_format=log_format):
                    got, _, report = self.traced_outcome(wrapper, program, log_format)
                    reports[wrapper.name, log_format] = report
                    self.assertEqual(got, expected)
                    self.assertWellFormed(report)
                    missing = [name for name in calls if not report.called[name]]
                    self.assertEqual(missing, [], "functions without a CALL in the log")
        return expected, reports


# ------------------------------------------------------------------------------------------------
# Generators.

def countdown(n):
    while n > 0:
        yield n
        n -= 1


def consume_with_for():
    total = 0
    for value in countdown(5):
        total += value
    squares = sum(x * x for x in range(6))
    return total, squares, list(countdown(3)), [y for y in countdown(2)], dict(enumerate("ab"))


def consume_with_next():
    gen = countdown(2)
    seen = [next(gen), next(gen)]
    try:
        next(gen)
    except StopIteration:
        seen.append("exhausted")
    seen.append(next(gen, "default"))
    return seen


def accumulator():
    total = 0
    while True:
        value = yield total
        if value is None:
            return total
        total += value


def consume_with_send():
    gen = accumulator()
    sums = [gen.send(None)]
    sums += [gen.send(value) for value in (1, 2, 3)]
    try:
        gen.send(None)
    except StopIteration as stop:
        sums.append(("returned", stop.value))
    return sums


def handles_value_errors():
    handled = []
    while True:
        try:
            yield len(handled)
        except ValueError as e:
            handled.append(str(e))


def consume_with_throw():
    gen = handles_value_errors()
    answers = [next(gen), gen.throw(ValueError("first")), gen.throw(ValueError("second"))]
    try:
        gen.throw(KeyError("not handled"))
    except KeyError as e:
        answers.append(("propagated", str(e)))
    try:
        next(gen)
    except StopIteration:
        answers.append("finished")
    return answers


def cleans_up(log):
    try:
        yield 1
        yield 2
    finally:
        log.append("finally")


def returns_on_close(log):
    try:
        yield 1
    except GeneratorExit:
        log.append("GeneratorExit seen")
        return


def ignores_close_once():
    try:
        yield 1
    except GeneratorExit:
        pass
    yield 2  # close() raises RuntimeError here; the next close() ends it


def consume_with_close():
    log = []
    gen = cleans_up(log)
    next(gen)
    gen.close()
    gen.close()  # closing a finished generator does nothing
    gen = returns_on_close(log)
    next(gen)
    gen.close()
    gen = ignores_close_once()
    next(gen)
    try:
        gen.close()
    except RuntimeError as e:
        log.append(str(e))
    gen.close()
    gen = cleans_up(log)
    next(gen)
    del gen  # a suspended generator dropped: its finally runs now
    gc.collect()
    return log


def inner_generator():
    received = []
    while True:
        try:
            value = yield len(received)
        except ValueError as e:
            received.append(f"handled {e}")
            continue
        if value == "stop":
            return received
        received.append(value)


def outer_generator():
    result = yield from inner_generator()
    yield ("inner returned", result)
    yield from countdown(2)


def consume_with_yield_from():
    gen = outer_generator()
    out = [next(gen), gen.send("a"), gen.throw(ValueError("thrown")), gen.send("stop"),
           next(gen), next(gen)]
    out.append(list(gen))
    closed = outer_generator()
    next(closed)
    closed.close()  # closes the inner generator first
    unhandled = outer_generator()
    next(unhandled)
    try:
        unhandled.throw(KeyError("through both"))
    except KeyError as e:
        out.append(("propagated", str(e)))
    return out


class GeneratorTest(BehaviourTestCase):

    def test_generator_consumed_by_for_and_comprehensions(self):
        self.assertBehavesAsUntraced(consume_with_for, calls=["countdown", "<genexpr>"])

    def test_generator_consumed_by_next_until_exhausted(self):
        self.assertBehavesAsUntraced(consume_with_next, calls=["countdown"])

    def test_generator_driven_by_send(self):
        self.assertBehavesAsUntraced(consume_with_send, calls=["accumulator"])

    def test_exceptions_thrown_into_a_generator(self):
        self.assertBehavesAsUntraced(consume_with_throw, calls=["handles_value_errors"])

    def test_generators_closed_and_dropped(self):
        expected, _ = self.assertBehavesAsUntraced(
            consume_with_close, calls=["cleans_up", "returns_on_close", "ignores_close_once"])
        self.assertEqual(expected[1], ["finally", "GeneratorExit seen",
                                       "generator ignored GeneratorExit", "finally"])

    def test_yield_from_passes_send_throw_and_close_through(self):
        self.assertBehavesAsUntraced(consume_with_yield_from,
                                     calls=["outer_generator", "inner_generator"])


# ------------------------------------------------------------------------------------------------
# Async coroutines.

async def ticks(name, n):
    out = []
    for i in range(n):
        await asyncio.sleep(0)
        out.append(f"{name}{i}")
    return out


async def numbers(n):
    for i in range(n):
        await asyncio.sleep(0)
        yield i


async def fails_after_a_tick():
    await asyncio.sleep(0)
    raise ValueError("in a task")


async def async_main():
    results = await asyncio.gather(ticks("a", 3), ticks("b", 2))
    collected = [i async for i in numbers(3)]
    errors = await asyncio.gather(fails_after_a_tick(), ticks("c", 1), return_exceptions=True)
    try:
        await fails_after_a_tick()
    except ValueError as e:
        caught = str(e)
    early = numbers(5)
    first = await early.__anext__()
    await early.aclose()
    sleeper = asyncio.ensure_future(asyncio.sleep(3600))
    await asyncio.sleep(0)
    sleeper.cancel()
    try:
        await sleeper
    except asyncio.CancelledError:
        cancelled = True
    return results, collected, [repr(e) for e in errors], caught, first, cancelled


async def async_main_raising():
    await asyncio.gather(ticks("d", 2), fails_after_a_tick())


class AsyncTest(BehaviourTestCase):

    def test_asyncio_run_with_gather_sleep_async_generators_and_cancellation(self):
        self.assertBehavesAsUntraced(lambda: asyncio.run(async_main()),
                                     calls=["async_main", "ticks", "numbers",
                                            "fails_after_a_tick"])

    def test_exception_out_of_asyncio_run(self):
        expected, _ = self.assertBehavesAsUntraced(lambda: asyncio.run(async_main_raising()),
                                                   calls=["ticks", "fails_after_a_tick"])
        self.assertEqual(expected, ("raised", ValueError, "in a task"))


# ------------------------------------------------------------------------------------------------
# Exceptions across C and Python frames.

def key_raising_at_three(x):
    if x == 3:
        raise ValueError("bad key 3")
    return -x


class MissingAttributes:
    def __getattr__(self, name):
        raise AttributeError(name)


class PythonIterator:
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return self

    def __next__(self):
        if self.n == 0:
            raise StopIteration
        self.n -= 1
        return self.n


def c_catches_python():
    """Exceptions raised in Python functions and caught by the C function that called them."""
    return [getattr(MissingAttributes(), "missing", "default"),
            hasattr(MissingAttributes(), "other"),
            list(PythonIterator(3)),
            sorted(PythonIterator(4), key=lambda v: -v),
            next(filter(None, PythonIterator(2)), "none left")]


def python_catches_c():
    """Exceptions raised by C functions, or passing through them, caught in Python."""
    caught = []
    try:
        int("x")
    except ValueError as e:
        caught.append(str(e))
    try:
        next(iter(()))
    except StopIteration:
        caught.append("StopIteration")
    try:
        sorted([1, 2, 3, 4], key=key_raising_at_three)
    except ValueError as e:
        caught.append(str(e))
    try:
        list(map(key_raising_at_three, [1, 2, 3]))
    except ValueError as e:
        caught.append(str(e))
    try:
        divmod(1, 0)
    except ZeroDivisionError as e:
        caught.append(str(e))
    try:
        [].pop()
    except IndexError as e:
        caught.append(str(e))
    try:
        sorted(["1", "2", "x"], key=lambda s: int(s))  # C -> Python -> C raising
    except ValueError as e:
        caught.append(str(e))
    return caught


def level3():
    raise KeyError("deep")


def level2():
    return level3()


def level1():
    try:
        return level2()
    finally:
        pass


def propagates_through_frames():
    caught = []
    try:
        level1()
    except KeyError as e:
        caught.append(str(e))
    try:
        try:
            level1()
        except KeyError as e:
            raise RuntimeError("wrapped") from e
    except RuntimeError as e:
        caught.append((str(e), str(e.__cause__)))
    return caught


def raises_out_of_the_block():
    return sorted([1, 2], key=lambda x: level1())


class ExceptionsTest(BehaviourTestCase):

    def test_exceptions_raised_in_python_and_caught_by_c(self):
        self.assertBehavesAsUntraced(c_catches_python, calls=["__getattr__", "__next__"])

    def test_exceptions_raised_in_or_through_c_and_caught_in_python(self):
        expected, reports = self.assertBehavesAsUntraced(python_catches_c,
                                                         calls=["key_raising_at_three"])
        report = reports[PROFILE_C.name, "binary"]
        excepts = {e.function for e in report.events if e.kind == "C_EXCEPT"}
        self.assertLessEqual({"next", "sorted", "divmod", "list.pop"}, excepts)

    def test_exceptions_propagating_through_several_frames(self):
        self.assertBehavesAsUntraced(propagates_through_frames,
                                     calls=["level1", "level2", "level3"])

    def test_exception_leaving_the_traced_block_through_c_and_python(self):
        expected, _ = self.assertBehavesAsUntraced(raises_out_of_the_block, calls=["level3"])
        self.assertEqual(expected, ("raised", KeyError, "'deep'"))


# ------------------------------------------------------------------------------------------------
# KeyboardInterrupt.

def raise_sigint_at(depth):
    if depth == 0:
        signal.raise_signal(signal.SIGINT)
        return "not reached"
    return raise_sigint_at(depth - 1)


def interrupted_by_raise_signal():
    return raise_sigint_at(3)


def spin_step(n):
    return n + 1


def spins_after_interrupt_main():
    """interrupt_main() makes the interpreter raise KeyboardInterrupt at its next check, here
    right after the call returns; the loop never ends otherwise."""
    n = 0
    _thread.interrupt_main()
    while True:
        n = spin_step(n)


def entered_after_interrupt():
    return "not reached"


def interrupted_at_function_entry():
    """The pending interrupt is first checked where a Python function is entered from C: its
    frame is being entered when KeyboardInterrupt is raised (as with a Ctrl-C that arrives just
    when a call begins)."""
    call = operator.methodcaller("__call__")
    return list(map(call, [_thread.interrupt_main, entered_after_interrupt]))


def interrupted_three_times_and_continues():
    caught = 0
    for _ in range(3):
        try:
            interrupted_at_function_entry()
        except KeyboardInterrupt:
            caught += 1
    return caught, [spin_step(i) for i in range(3)]


class KeyboardInterruptTest(BehaviourTestCase):

    def setUp(self):
        super().setUp()
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        self.addCleanup(signal.signal, signal.SIGINT, previous)

    def test_raise_signal_inside_the_block_is_caught_outside(self):
        expected, _ = self.assertBehavesAsUntraced(interrupted_by_raise_signal,
                                                   calls=["raise_sigint_at"])
        self.assertEqual(expected, ("raised", KeyboardInterrupt, ""))

    def test_interrupt_main_inside_the_block_is_caught_outside(self):
        expected, _ = self.assertBehavesAsUntraced(spins_after_interrupt_main)
        self.assertEqual(expected, ("raised", KeyboardInterrupt, ""))

    def test_interrupt_raised_as_a_function_is_entered(self):
        # CPython 3.11 (profile function) and 3.13 (sys.monitoring) report the exit of the frame
        # being entered (RETURN, PY_UNWIND) but not its entry: the wrapper must not take it for
        # the exit of the frame that called it (nor count the depth one lower from then on).
        expected, _ = self.assertBehavesAsUntraced(interrupted_at_function_entry)
        self.assertEqual(expected, ("raised", KeyboardInterrupt, ""))

    def test_interrupts_caught_inside_the_block_and_the_program_goes_on(self):
        expected, _ = self.assertBehavesAsUntraced(interrupted_three_times_and_continues,
                                                   calls=["spin_step"])
        self.assertEqual(expected, ("returned", (3, [1, 2, 3])))


# ------------------------------------------------------------------------------------------------
# Recursion.

def recurse(n):
    return 0 if n == 0 else 1 + recurse(n - 1)


def deepest_recursion():
    """The deepest recurse(n) that works where this is called: every level the limit allows."""
    n = sys.getrecursionlimit() - frames_here() + 10
    while True:
        try:
            return recurse(n)
        except RecursionError:
            n -= 1


def bottomless(n):
    return bottomless(n + 1)


def after_recursion_error():
    return "after"


def catches_recursion_error():
    try:
        bottomless(0)
    except RecursionError as e:
        message = str(e)
    return message, after_recursion_error(), recurse(50)


def hook_in_use():
    """How this interpreter's events reach a tracer: sys.monitoring, PyEval_SetProfile (3.10/3.11
    with the run-time resolved C-level hooks) or sys.setprofile (their fallback)."""
    from pymemtrace import _pymemtrace
    tracer = _pymemtrace.Tracer(_pymemtrace.MASK_CALLS, -1, None, None, None, log_format="none",
                                rss_mode=_pymemtrace.RSS_NONE)
    tracer.start()
    try:
        return tracer.hook
    finally:
        tracer.stop()


SYS_SETPROFILE_HOOKS = hook_in_use() == "sys.setprofile"
LEGACY_RECURSION = ("sys.setprofile hooks: the hook is a C function that CPython calls through "
                    "its recursion check, one level above the frame being entered (the "
                    "fallback when PyEval_SetProfile is missing; documented, LegacyRecursionTest)")


def levels_a_c_profile_function_takes():
    """How many levels of the recursion limit CPython itself takes from a program whose profile
    function is a C function that does nothing (PyEval_SetProfile; libc's sched_yield returns 0
    and ignores its arguments): 3.11 takes one, whatever the function does."""
    import ctypes
    set_profile = ctypes.pythonapi.PyEval_SetProfile
    set_profile.argtypes = [ctypes.c_void_p, ctypes.py_object]
    set_profile.restype = None
    plain = deepest_recursion()
    set_profile(ctypes.cast(ctypes.CDLL(None).sched_yield, ctypes.c_void_p), None)
    try:
        hooked = deepest_recursion()  # at the same depth as plain
    finally:
        sys.setprofile(None)
    return plain - hooked


class RecursionTest(BehaviourTestCase):

    @unittest.skipIf(SYS_SETPROFILE_HOOKS, LEGACY_RECURSION)
    def test_recursion_to_the_deepest_level_the_limit_allows(self):
        # Tracing must not take a level of the limit from the program, nor lose its hook there,
        # beyond what CPython's own hook takes (3.10/3.11: compared with a no-op C function).
        under_hook = None
        if hook_in_use() == "PyEval_SetProfile":
            lost = levels_a_c_profile_function_takes()
            under_hook = lambda untraced: (untraced[0], untraced[1] - lost)
        expected, _ = self.assertBehavesAsUntraced(deepest_recursion, calls=["recurse"],
                                                   under_hook=under_hook)
        self.assertGreater(expected[1], sys.getrecursionlimit() - 100)

    @unittest.skipIf(SYS_SETPROFILE_HOOKS, LEGACY_RECURSION)
    def test_recursion_error_is_caught_and_the_program_goes_on(self):
        # The RecursionError is the program's own (same message), and tracing goes on after it.
        expected, _ = self.assertBehavesAsUntraced(
            catches_recursion_error, calls=["bottomless", "after_recursion_error"])
        self.assertEqual(expected, ("returned", ("maximum recursion depth exceeded", "after",
                                                 50)))


@unittest.skipUnless(SYS_SETPROFILE_HOOKS, "sys.monitoring and PyEval_SetProfile hooks are "
                     "called without the recursion check")
class LegacyRecursionTest(BehaviourTestCase):
    """3.10/3.11 with sys.setprofile hooks (the fallback) at the recursion limit: CPython's call of
    the hook is what overflows, so the
    program gets its RecursionError one level early (with CPython's "while calling a Python
    object" wording) and CPython removes the failing hook. The program still catches it and goes
    on untraced; the log is readable to its end and says the hook was removed."""

    def test_the_program_goes_on_and_the_log_says_why_it_stops(self):
        for wrapper in WRAPPERS:
            for log_format in LOG_FORMATS:
                with self.subTest(wrapper=wrapper.name, log_format=log_format):
                    got, _, report = self.traced_outcome(wrapper, catches_recursion_error,
                                                         log_format)
                    self.assertEqual(got[0], "returned")
                    message, after, value = got[1]
                    self.assertTrue(message.startswith("maximum recursion depth exceeded"))
                    self.assertEqual((after, value), ("after", 50))
                    notes = [e.message for e in report.events if e.kind == "MARK"]
                    self.assertTrue(any("removed" in (n or "") for n in notes), notes)


# ------------------------------------------------------------------------------------------------
# sys.exit inside a traced block.

EXIT_SCRIPT = '''\
import sys
import pymemtrace


def leave(code):
    sys.exit(code)


def nested(code):
    try:
        return leave(code)
    finally:
        print("finally ran")


wrapper = {"Profile": pymemtrace.Profile, "Trace": pymemtrace.Trace}[sys.argv[1]]
path, log_format, mode, c_calls = sys.argv[2:6]
options = {"filepath": path, "log_format": log_format}
if c_calls == "c_calls":
    options["c_calls"] = True
if mode == "with":
    with wrapper(0, **options):
        nested(3)
else:  # entered by hand and never exited: the atexit hook finishes the log
    wrapper(0, **options).__enter__()
    nested("leaving by sys.exit")
print("not reached")
'''


def exits_inside_the_block():
    sys.exit(5)


class SysExitTest(BehaviourTestCase):

    def run_exit_script(self, wrapper, log_format, mode):
        script = self.path("exits.py")
        with open(script, "w", encoding="utf-8") as f:
            f.write(EXIT_SCRIPT)
        log_path = self.new_log_path(wrapper, log_format)
        done = subprocess.run([sys.executable, script, wrapper.wrapper.__name__, log_path,
                               log_format, mode, "c_calls" if wrapper.c_calls else "-"],
                              env=child_env(), cwd=self.tmp, capture_output=True, text=True,
                              timeout=120)
        return done, check_log(read_log(log_path))

    def test_sys_exit_in_a_with_block_exits_with_its_code_and_finishes_the_log(self):
        for wrapper in WRAPPERS:
            for log_format in LOG_FORMATS:
                with self.subTest(wrapper=wrapper.name, log_format=log_format):
                    done, report = self.run_exit_script(wrapper, log_format, "with")
                    self.assertEqual((done.returncode, done.stdout), (3, "finally ran\n"),
                                     done.stderr)
                    self.assertEqual(done.stderr, "")
                    self.assertWellFormed(report)
                    self.assertTrue(report.called["leave"])

    def test_sys_exit_with_a_wrapper_entered_by_hand_is_finished_at_exit(self):
        # The module frame unwinds (a RETURN of a frame older than START), then the atexit hook
        # stops the tracer: that RETURN is the only exception to a balanced log.
        for wrapper in WRAPPERS:
            for log_format in LOG_FORMATS:
                with self.subTest(wrapper=wrapper.name, log_format=log_format):
                    done, report = self.run_exit_script(wrapper, log_format, "by hand")
                    self.assertEqual((done.returncode, done.stdout, done.stderr),
                                     (1, "finally ran\n", "leaving by sys.exit\n"))
                    self.assertWellFormed(report, pre_start_exits=[("RETURN", "<module>")])
                    self.assertTrue(report.called["leave"])

    def test_system_exit_propagates_out_of_the_block(self):
        expected, _ = self.assertBehavesAsUntraced(exits_inside_the_block)
        self.assertEqual(expected, ("raised", SystemExit, "5"))


# ------------------------------------------------------------------------------------------------
# Tracing started inside a generator.

def work_in_generator(x):
    return [x] * 2


def generator_that_traces(wrapper, path, log_format):
    """Starts tracing in its body, yields while tracing, stops once it is resumed twice."""
    yield "before"
    with wrapper(0, filepath=path, log_format=log_format) as instance:
        sent = yield instance
        sent = yield work_in_generator(sent)
    yield ("after", sent)


def resume_with_send(gen, value):
    return gen.send(value)


def close_from_elsewhere(gen):
    gen.close()
    return "closed"


def drive_generator_that_traces(wrapper, path, log_format, close):
    gen = generator_that_traces(wrapper, path, log_format)
    results = [next(gen)]
    instance = next(gen)  # tracing starts in the generator, which then yields to here
    results.append(work_in_generator("driver"))
    results.append(resume_with_send(gen, "sent"))  # resumed from another function
    if close:
        results.append(close_from_elsewhere(gen))  # GeneratorExit leaves the with: stop
    else:
        results.append(resume_with_send(gen, "again"))  # leaves the with: stop
    return results, instance


class TracingStartedInsideAGeneratorTest(BehaviourTestCase):
    """Profile entered in a generator's body, which then yields: the log sees the generator's
    frame return (it yields) and the driver go on, although both were entered before START, so
    those are pre_start_exits. (The next() that resumed the generator before START returns after
    it, but no CPython reports the return of a C call whose C_CALL it did not report.)
    The generator is then resumed from another function, and tracing stops inside it: that
    function, its C call (c_calls=True) and the generator are open at STOP."""

    def check(self, close):
        expected = drive_generator_that_traces(Untraced, None, None, close)[0]
        for wrapper in WRAPPERS:
            for log_format in LOG_FORMATS:
                with self.subTest(wrapper=wrapper.name, log_format=log_format):
                    path = self.new_log_path(wrapper, log_format)
                    results, instance = drive_generator_that_traces(wrapper, path, log_format,
                                                                    close)
                    self.assertEqual(results, expected)
                    self.assertIs(type(instance), wrapper.wrapper)
                    report = self.report_of(instance)
                    pre_start = [("RETURN", "generator_that_traces")]
                    resumer = ("close_from_elsewhere", "generator.close") if close else \
                              ("resume_with_send", "generator.send")
                    open_at_stop = [("CALL", resumer[0])]
                    if wrapper.c_calls:
                        open_at_stop.append(("C_CALL", resumer[1]))
                    open_at_stop.append(("CALL", "generator_that_traces"))
                    self.assertWellFormed(report, pre_start, open_at_stop)
                    self.assertEqual(report.called["work_in_generator"], 2)

    def test_started_in_a_generator_and_stopped_after_it_is_resumed_elsewhere(self):
        self.check(close=False)

    def test_started_in_a_generator_and_stopped_by_closing_it_elsewhere(self):
        self.check(close=True)


# ------------------------------------------------------------------------------------------------
# Other tools at the same time: cProfile, a sys.settrace debugger, a sys.monitoring debugger.

def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def negate(v):
    return -v


def profiled_work():
    # No lambda: CPython 3.13.0 gives a sys.monitoring debugger the LINE events of a lambda only
    # while some other tool has PY_START set (reproduced with two pure-Python tools).
    return [fib(n) for n in range(10)], sorted(range(5), key=negate)


def before_block():
    return "before"


def after_block():
    return "after"


def cprofile_counts(profiler):
    """Calls of the program's functions, as cProfile counted them."""
    stats = pstats.Stats(profiler).stats
    return {name: value[1] for (file, _, name), value in stats.items()
            if file == __file__ and name in DEBUGGED}


def cprofile_around(context):
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        results = [before_block()]
        with context:
            results.append(profiled_work())
        results.append(after_block())
    finally:
        profiler.disable()
    return results, cprofile_counts(profiler)


def cprofile_inside(context):
    profiler = cProfile.Profile()
    with context:
        profiler.enable()
        try:
            results = [profiled_work()]
        finally:
            profiler.disable()
    return results, cprofile_counts(profiler)


def cprofile_spanning_the_end(context):
    """cProfile enabled inside the block and disabled after it."""
    profiler = cProfile.Profile()
    try:
        with context:
            profiler.enable()
            results = [profiled_work()]
        results.append(after_block())
    finally:
        profiler.disable()
    return results, cprofile_counts(profiler)


DEBUGGED = {"fib", "negate", "profiled_work", "before_block", "after_block", "<listcomp>"}


class LineCounter:
    """A debugger's skeleton: a sys.settrace function counting the lines run in this file."""

    def __init__(self):
        self.lines = collections.Counter()

    def global_trace(self, frame, event, arg):
        code = frame.f_code
        if code.co_filename == __file__ and code.co_name in DEBUGGED:
            return self.local_trace
        return None

    def local_trace(self, frame, event, arg):
        if event == "line":
            self.lines[frame.f_code.co_name, frame.f_lineno] += 1
        return self.local_trace


def settrace_around(context):
    counter = LineCounter()
    sys.settrace(counter.global_trace)
    try:
        results = [before_block()]
        with context:
            results.append(profiled_work())
        results.append(after_block())
    finally:
        sys.settrace(None)
    return results, dict(counter.lines)


def settrace_inside(context):
    counter = LineCounter()
    with context:
        sys.settrace(counter.global_trace)
        try:
            results = [profiled_work()]
        finally:
            sys.settrace(None)
    return results, dict(counter.lines)


def settrace_spanning_the_end(context):
    counter = LineCounter()
    try:
        with context:
            sys.settrace(counter.global_trace)
            results = [profiled_work()]
        results.append(after_block())
    finally:
        sys.settrace(None)
    return results, dict(counter.lines)


class MonitoringLineCounter:
    """A debugger's skeleton on sys.monitoring (3.12+), with the debugger's tool id."""

    def __init__(self):
        self.lines = collections.Counter()

    def __enter__(self):
        monitoring = sys.monitoring
        monitoring.use_tool_id(monitoring.DEBUGGER_ID, "test debugger")
        monitoring.register_callback(monitoring.DEBUGGER_ID, monitoring.events.LINE, self.line)
        monitoring.set_events(monitoring.DEBUGGER_ID, monitoring.events.LINE)
        return self

    def __exit__(self, *exc_info):
        monitoring = sys.monitoring
        monitoring.set_events(monitoring.DEBUGGER_ID, 0)
        monitoring.register_callback(monitoring.DEBUGGER_ID, monitoring.events.LINE, None)
        monitoring.free_tool_id(monitoring.DEBUGGER_ID)
        return False

    def line(self, code, line):
        if code.co_filename == __file__ and code.co_name in DEBUGGED:
            self.lines[code.co_name, line] += 1


def monitoring_debugger_around(context):
    with MonitoringLineCounter() as counter:
        results = [before_block()]
        with context:
            results.append(profiled_work())
        results.append(after_block())
    return results, dict(counter.lines)


def monitoring_debugger_inside(context):
    with context:
        with MonitoringLineCounter() as counter:
            results = [profiled_work()]
    return results, dict(counter.lines)


class OtherToolsTestCase(BehaviourTestCase):

    def check_tool(self, scenario, wrappers=WRAPPERS, calls=("fib",)):
        """`scenario(context)` runs a tool and a block in `context`; it returns (results, what the
        tool saw). Both must be what the untraced run gives, and the log well formed."""
        expected = outcome(lambda: scenario(Untraced()))
        self.assertEqual(expected[0], "returned", expected)
        for wrapper in wrappers:
            for log_format in LOG_FORMATS:
                with self.subTest(wrapper=wrapper.name, log_format=log_format):
                    instance = wrapper(0, filepath=self.new_log_path(wrapper, log_format),
                                       log_format=log_format)
                    got = outcome(lambda: scenario(instance))
                    self.assertEqual(got, expected)
                    if MONITORING:  # the wrapper gave its tool id back
                        tools = [sys.monitoring.get_tool(i) for i in range(6)]
                        self.assertNotIn("pymemtrace", tools)
                    report = self.report_of(instance)
                    self.assertWellFormed(report)
                    for name in calls:
                        self.assertTrue(report.called[name], f"no CALL of {name}")


class CProfileTest(OtherToolsTestCase):
    """cProfile is a sys.monitoring tool (id 2) on 3.12+ and a C profile function on 3.10/3.11:
    there it coexists with Trace (sys.settrace) only; see LegacyHookSlotTest for Profile."""

    def wrappers(self):
        return WRAPPERS if MONITORING else (TRACE,)

    def test_cprofile_enabled_around_the_traced_block(self):
        self.check_tool(cprofile_around, self.wrappers())

    def test_cprofile_enabled_inside_the_traced_block(self):
        self.check_tool(cprofile_inside, self.wrappers())

    def test_cprofile_enabled_inside_and_disabled_after_the_traced_block(self):
        self.check_tool(cprofile_spanning_the_end, self.wrappers())

    @unittest.skipUnless(MONITORING, "sys.monitoring tool ids: 3.12+")
    def test_cprofile_profile_and_trace_at_once(self):
        def scenario(context):
            profiler = cProfile.Profile()
            profiler.enable()
            try:
                with context, TRACE(0, filepath=self.new_log_path(TRACE, "binary"),
                                    log_format="binary") as trace:
                    results = profiled_work()
            finally:
                profiler.disable()
            self.assertWellFormed(self.report_of(trace))
            return results, cprofile_counts(profiler)
        self.check_tool(scenario, (PROFILE_C,))


class SettraceDebuggerTest(OtherToolsTestCase):
    """A sys.settrace debugger: on 3.12+ it and both wrappers see what they see alone. On
    3.10/3.11 it coexists with Profile (sys.setprofile); Trace is in LegacyHookSlotTest."""

    def wrappers(self):
        return WRAPPERS if MONITORING else (PROFILE, PROFILE_C)

    def test_settrace_debugger_around_the_traced_block(self):
        self.check_tool(settrace_around, self.wrappers())

    def test_settrace_debugger_started_inside_the_traced_block(self):
        self.check_tool(settrace_inside, self.wrappers())

    def test_settrace_debugger_started_inside_and_stopped_after_the_traced_block(self):
        self.check_tool(settrace_spanning_the_end, self.wrappers())


@unittest.skipUnless(MONITORING, "sys.monitoring: 3.12+")
class MonitoringDebuggerTest(OtherToolsTestCase):
    """A debugger on sys.monitoring's DEBUGGER_ID: both see every event they see alone."""

    def test_monitoring_debugger_around_the_traced_block(self):
        self.check_tool(monitoring_debugger_around)

    def test_monitoring_debugger_started_inside_the_traced_block(self):
        self.check_tool(monitoring_debugger_inside)


@unittest.skipIf(MONITORING, "3.10/3.11: one sys.setprofile and one sys.settrace slot")
class LegacyHookSlotTest(BehaviourTestCase):
    """3.10/3.11: Profile and cProfile both need the thread's profile function, Trace and a
    settrace debugger its trace function, and whoever installs last takes the slot for the block:

    - a tool enabled around the block sees nothing inside it (the wrapper's start took the slot);
      the log is complete and balanced;
    - a tool enabled inside the block sees everything it sees untraced, and the log has no events
      of the frames entered after that (Trace: frames entered before keep the wrapper's local
      trace function and still report lines and returns).

    In every case the program's results are the untraced ones, nothing crashes and the log is
    readable to its EOF, from START to STOP, with every event numbered. Two more things are
    required and fail now (see the last two tests): the tool keeps working after the block, and
    LogSaysWhyTest: a log that lost its hook says so."""

    def check_slot(self, scenario, wrapper, check):
        """Runs scenario(context) untraced and in `wrapper`; check(untraced view, traced view,
        report) for each log format."""
        expected_results, untraced_view = scenario(Untraced())
        for log_format in LOG_FORMATS:
            with self.subTest(log_format=log_format):
                instance = wrapper(0, filepath=self.new_log_path(wrapper, log_format),
                                   log_format=log_format)
                results, view = scenario(instance)
                self.assertEqual(results, expected_results)
                report = self.report_of(instance)
                first, last = report.events[0], report.events[-1]
                self.assertEqual([(first.kind, first.reason), (last.kind, last.reason)],
                                 [("START", "FRST"), ("STOP", "LAST")])
                self.assertFalse([p for p in report.problems if "event numbers" in p])
                check(untraced_view, view, report)

    def test_cprofile_around_profile_sees_nothing_inside_the_block(self):
        def check(untraced, seen, report):
            self.assertEqual(seen.get("before_block"), 1)
            self.assertNotIn("fib", seen)
            self.assertGreater(untraced["fib"], 1)
            self.assertWellFormed(report)
            self.assertTrue(report.called["fib"])
        self.check_slot(cprofile_around, PROFILE, check)

    def test_cprofile_inside_profile_takes_the_slot(self):
        def check(untraced, seen, report):
            self.assertEqual(seen, untraced)
            self.assertFalse(report.called["fib"])
        self.check_slot(cprofile_inside, PROFILE, check)

    def test_settrace_debugger_around_trace_sees_nothing_inside_the_block(self):
        def check(untraced, seen, report):
            self.assertIn("before_block", {name for name, _ in seen})
            self.assertNotIn("fib", {name for name, _ in seen})
            self.assertWellFormed(report)
            self.assertTrue(report.called["fib"])
        self.check_slot(settrace_around, TRACE, check)

    def test_settrace_debugger_inside_trace_takes_the_slot(self):
        def check(untraced, seen, report):
            self.assertEqual(seen, untraced)
            self.assertFalse(report.called["fib"])
        self.check_slot(settrace_inside, TRACE, check)

    def test_a_tool_enabled_inside_the_block_keeps_its_hook_after_it(self):
        # Stopping the wrapper must not remove a hook that is not the wrapper's.
        for scenario, wrapper in ((cprofile_spanning_the_end, PROFILE),
                                  (settrace_spanning_the_end, TRACE)):
            with self.subTest(tool=scenario.__name__):
                def check(untraced, seen, report):
                    self.assertEqual(seen, untraced)  # after_block included
                self.check_slot(scenario, wrapper, check)

    def test_a_settrace_debugger_gets_its_hook_back_after_the_block(self):
        # sys.gettrace() gives Trace the debugger's function at start, to restore at stop.
        def check(untraced, seen, report):
            self.assertIn("after_block", {name for name, _ in seen})
        self.check_slot(settrace_around, TRACE, check)


@unittest.skipIf(MONITORING, "3.12+: tools do not share a hook (cProfile's tool id: CProfileTest)")
class LogSaysWhyTest(BehaviourTestCase):
    """Issue 4: every RETURN matches a CALL, or the log states why not. When another tool takes
    the wrapper's hook during the block (3.10/3.11, one slot per kind), the wrapper cannot see the
    events; its log must then say so in a message, not just stop."""

    def scenario(self, wrapper):
        def block():
            if wrapper.wrapper is pymemtrace.Profile:
                profiler = cProfile.Profile()
                profiler.enable()
                profiled_work()
                profiler.disable()
            else:
                sys.settrace(LineCounter().global_trace)
                try:
                    profiled_work()
                finally:
                    sys.settrace(None)
            return profiled_work()
        return block

    def test_a_log_without_all_returns_states_why(self):
        for wrapper in WRAPPERS:
            for log_format in LOG_FORMATS:
                with self.subTest(wrapper=wrapper.name, log_format=log_format):
                    expected = outcome(self.scenario(wrapper))
                    got, _, report = self.traced_outcome(wrapper, self.scenario(wrapper),
                                                         log_format)
                    self.assertEqual(got, expected)
                    balanced = not report.problems and not report.pre_start_exits and \
                        not report.open_at_stop
                    messages = [e.message for e in report.events if e.kind == "MARK"]
                    self.assertTrue(balanced or messages,
                                    f"unbalanced log without a message:\n{report.describe()}"
                                    f"\nopen at stop: {report.open_at_stop}")


if __name__ == "__main__":
    unittest.main()
