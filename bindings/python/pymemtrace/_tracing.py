"""Profile and Trace: context managers (and decorators) around one libpymemtrace tracer each.

Nesting follows pymemtrace: entering a second Profile while one is active pauses the outer one
(its log gets a "Detaching" message naming the new file) until the inner one exits ("Re-attaching").
Profile and Trace nest independently. A tracer sees every thread (threads="all", the default), so
its nesting stack is the process's; with threads="calling" (pymemtrace's behaviour, and
cPyMemTrace's) it sees only the thread that entered it, and nests per thread.
"""
import atexit
import errno
import functools
import os
import sys
import threading
import warnings

from . import _pymemtrace

# Frames from these files are the tracer's own: never reported, depth still counted.
_OWN_CODE_PREFIX = os.path.dirname(__file__) + os.sep
_thread_stacks = threading.local()
_process_stacks = {"profile": [], "trace": [], "allocations": [], "objects": []}
_KINDS = ("profile", "trace", "allocations", "objects")
_process_lock = threading.RLock()

_THREADS = {"all": _pymemtrace.THREADS_ALL, "calling": _pymemtrace.THREADS_CALLING}

# Set (to "1", or to JSON settings: doc/children.md), every Python process started with it traces
# itself into a log of its own, and wrappers follow into forked children by default.
FOLLOW_CHILDREN_ENV = "PYMEMTRACE_FOLLOW_CHILDREN"
_ON_FORK = ("stop", "follow")
# Read once, at import: os.environ.get is Python code of the standard library, which a wrapper
# created while another one traces would otherwise report as the program's own calls.
_FOLLOW_BY_DEFAULT = bool(os.environ.get(FOLLOW_CHILDREN_ENV))


def _check_on_fork(on_fork):
    if on_fork is None:
        return "follow" if _FOLLOW_BY_DEFAULT else "stop"
    if on_fork not in _ON_FORK:
        raise ValueError(f"on_fork must be 'stop' or 'follow', not {on_fork!r}")
    return on_fork


# calls=: the call aggregation and what written events carry of it (PMT_PARAM_CALLS).
_CALLS = {False: 0, True: 1, "paths": 2}


def _check_calls(calls):
    if calls is not True and calls is not False and calls != "paths":  # 1 and 0 are not bools
        raise ValueError(f"calls must be True, False or 'paths', not {calls!r}")
    return calls


# allocations=: which allocators' calls become ALLOC/REALLOC/FREE events (PMT_PARAM_ALLOCATORS).
_ALLOCATORS = {"RAW": 1 << 1, "MEM": 1 << 2, "OBJ": 1 << 3, "NATIVE": 1 << 4, "MMAP": 1 << 5}
_PYTHON_DOMAINS = _ALLOCATORS["RAW"] | _ALLOCATORS["MEM"] | _ALLOCATORS["OBJ"]
_NATIVE = _ALLOCATORS["NATIVE"] | _ALLOCATORS["MMAP"]


def _allocator_mask(allocations):
    """False: none; True: CPython's three domains; "native": those and libc/mmap; or a
    collection of allocator names ("RAW", "MEM", "OBJ", "NATIVE", "MMAP")."""
    if allocations is False or allocations is None:
        return 0
    if allocations is True:
        return _PYTHON_DOMAINS
    if allocations == "native":
        return _PYTHON_DOMAINS | _NATIVE
    if isinstance(allocations, str) or not hasattr(allocations, "__iter__"):
        raise ValueError("allocations must be True, False, 'native' or a collection of "
                         f"{', '.join(_ALLOCATORS)}, not {allocations!r}")
    mask = 0
    for name in allocations:
        if name not in _ALLOCATORS:
            raise ValueError(f"unknown allocator {name!r}: one of {', '.join(_ALLOCATORS)}")
        mask |= _ALLOCATORS[name]
    return mask


_OBJECTS = {False: 0, None: 0, True: 1, "all": 2}


def _objects_mode(objects):
    """False: off; True: objects of heap types (classes: builtins left out); "all": every type.
    Only CPython 3.13+ has the reference tracer that counts them."""
    if objects is not None and not isinstance(objects, (bool, str)):
        raise TypeError(f"objects must be True, False or 'all', not {type(objects).__name__}")
    if objects not in _OBJECTS:
        raise ValueError(f"objects must be True, False or 'all', not {objects!r}")
    mode = _OBJECTS[objects]
    if mode and sys.version_info < (3, 13):
        raise NotImplementedError(
            "object lifetimes need CPython 3.13 or later (its reference tracer, "
            f"PyRefTracer_SetTracer); this is {sys.version.split()[0]}")
    return mode


def _check_gc_collect(value):
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise TypeError(f"objects_gc_collect must be None or a generation, not "
                        f"{type(value).__name__}")
    if value is not None and not 0 <= value <= 2:
        raise ValueError(f"objects_gc_collect must be None, 0, 1 or 2, not {value}")
    return value


def _check_monitor(value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"monitor must be None or an interval in seconds, not "
                        f"{type(value).__name__}")
    if not 0.001 <= value <= 3600:
        raise ValueError(f"monitor must be between 0.001 and 3600 seconds, not {value}")
    return value


def _check_bool(name, value):
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be bool, not {type(value).__name__}")
    return value


def _check_size(name, value):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int number of bytes, not {type(value).__name__}")
    if not 0 <= value <= 1 << 40:
        raise ValueError(f"{name} must be between 0 and 2**40 bytes, not {value}")
    return value


_ON_SINK_ERROR = ("warn", "raise")
# The longest text a binary log keeps of a name or message (doc/format.md, "Sizes").
_BINARY_TEXT_LIMIT = 1 << 20


def _check_on_sink_error(on_sink_error):
    if on_sink_error not in _ON_SINK_ERROR:
        raise ValueError(f"on_sink_error must be 'warn' or 'raise', not {on_sink_error!r}")
    return on_sink_error


def _raise_sink_error(counts):
    """OSError for the first log file that failed (ENOSPC, EFBIG, EIO...), with the counts."""
    for c in counts:
        if c["error"] and c["path"] is not None:
            raise OSError(c["errno"] or errno.EIO,
                          f"{c['strerror']}: the log holds {c['stored']} of the {c['given']} "
                          f"events given to it, {c['lost']} are lost", c["path"])


def _thread_stack(kind):
    stack = getattr(_thread_stacks, kind, None)
    if stack is None:
        stack = []
        setattr(_thread_stacks, kind, stack)
    return stack


def _stack(kind, threads="all"):
    return _process_stacks[kind] if threads == "all" else _thread_stack(kind)


# The library's parameter table: (default, lowest, highest).
TRIGGER_DEFAULT, TRIGGER_MIN, TRIGGER_MAX = _pymemtrace.PARAMS["d_rss_trigger"]


def _check_arguments(d_rss_trigger, message, filepath):
    if isinstance(d_rss_trigger, bool) or not isinstance(d_rss_trigger, int):
        raise TypeError(f"d_rss_trigger must be int, not {type(d_rss_trigger).__name__}")
    if not TRIGGER_MIN <= d_rss_trigger <= TRIGGER_MAX:
        raise ValueError(f"d_rss_trigger must be -1 (one page), 0 (every event) or a number of "
                         f"bytes > 0, not {d_rss_trigger}")
    if message is not None and not isinstance(message, str):
        raise TypeError(f"message must be str or None, not {type(message).__name__}")
    if filepath is not None and not isinstance(filepath, (str, bytes, os.PathLike)):
        raise TypeError(f"filepath must be str, bytes, os.PathLike or None, "
                        f"not {type(filepath).__name__}")


_CODECS = {None: _pymemtrace.COMPRESS_NONE, "zstd": _pymemtrace.COMPRESS_ZSTD,
           "lz4": _pymemtrace.COMPRESS_LZ4}


# How RSS is read at every event (doc/rss-providers.md); "auto" takes the best available.
_RSS_MODES = {"auto": _pymemtrace.RSS_AUTO, "exact": _pymemtrace.RSS_EXACT,
              "interval": _pymemtrace.RSS_INTERVAL, "fault-gate": _pymemtrace.RSS_FAULT_GATE,
              "kernel-ring": _pymemtrace.RSS_KERNEL_RING, "none": _pymemtrace.RSS_NONE}


def _check_options(log_format, compression, sink, rss_mode, threads, c_calls):
    if threads not in tuple(_THREADS):
        raise ValueError(f"threads must be 'all' or 'calling', not {threads!r}")
    if not isinstance(c_calls, bool):
        raise TypeError(f"c_calls must be bool, not {type(c_calls).__name__}")
    if rss_mode not in tuple(_RSS_MODES):
        raise ValueError(f"rss_mode must be one of {', '.join(_RSS_MODES)}, not {rss_mode!r}")
    if log_format not in ("text", "binary", "none"):
        raise ValueError(f"log_format must be 'text', 'binary' or 'none', not {log_format!r}")
    if compression not in tuple(_CODECS):  # a tuple: an unhashable value is just unknown
        raise ValueError(f"compression must be None, 'zstd' or 'lz4', not {compression!r}")
    if compression is not None:
        # Checked here, not at __enter__: a decorator should fail where it is written.
        if log_format != "binary":
            raise ValueError("compression applies to binary logs: add log_format='binary'")
        if not _pymemtrace.compression_supported(_CODECS[compression]):
            raise ValueError(f"this build of pymemtrace has no {compression} compression")
    if sink is not None and not callable(sink):
        raise TypeError(f"sink must be callable or None, not {type(sink).__name__}")


# The filter stages (tracer.h, "Filters"), as keyword arguments of Profile, Trace and Tracer.
_FILTERS = ("include_files", "exclude_files", "include_functions", "exclude_functions",
            "max_depth", "sample_every", "time_window", "rss_above", "user_files",
            "not_user_files")
_GLOB_FILTERS = _FILTERS[:4] + _FILTERS[8:]


def _check_filters(filters):
    """The filters, checked by the extension itself on a tracer without a log (so that the
    messages are Tracer's), here rather than at __enter__: globs become tuples."""
    _pymemtrace.Tracer(_PYTHON_CALLS, log_format="none", **filters)
    return {k: tuple(v) if k in _GLOB_FILTERS and v is not None else v
            for k, v in filters.items()}


class _Wrapper:
    _KIND = ""
    _EVENTS = 0

    def __init__(self, d_rss_trigger=TRIGGER_DEFAULT, message=None, filepath=None, *, log_format="text",
                 compression=None, sink=None, rss_mode="auto", threads="all",
                 c_calls=None, include_files=None, exclude_files=None, include_functions=None,
                 exclude_functions=None, max_depth=None, sample_every=1, time_window=None,
                 rss_above=0, on_fork=None, user_files=None, not_user_files=None, calls=True,
                 on_sink_error="warn", allocations=False, alloc_min_size=0, alloc_sample=0,
                 gc=False, objects=False, object_events=False, include_types=None,
                 exclude_types=None, objects_gc_collect=None, monitor=None):
        if c_calls is None:
            c_calls = self._C_CALLS
        _check_arguments(d_rss_trigger, message, filepath)
        _check_options(log_format, compression, sink, rss_mode, threads, c_calls)
        if log_format == "none" and filepath is not None:
            raise ValueError("log_format='none' writes no log: filepath must be None")
        filters = _check_filters({
            "include_files": include_files, "exclude_files": exclude_files,
            "include_functions": include_functions, "exclude_functions": exclude_functions,
            "max_depth": max_depth, "sample_every": sample_every, "time_window": time_window,
            "rss_above": rss_above, "user_files": user_files, "not_user_files": not_user_files})
        self._arguments = (d_rss_trigger, message, filepath)
        self._options = {"log_format": log_format, "compression": compression, "sink": sink,
                         "rss_mode": rss_mode, "threads": threads, "c_calls": c_calls,
                         **filters, "on_fork": _check_on_fork(on_fork),
                         "calls": _check_calls(calls),
                         "on_sink_error": _check_on_sink_error(on_sink_error),
                         "allocations": allocations,
                         "alloc_min_size": _check_size("alloc_min_size", alloc_min_size),
                         "alloc_sample": _check_size("alloc_sample", alloc_sample),
                         "gc": _check_bool("gc", gc),
                         "objects": objects, "object_events": _check_bool("object_events",
                                                                          object_events),
                         "include_types": include_types, "exclude_types": exclude_types,
                         "objects_gc_collect": _check_gc_collect(objects_gc_collect),
                         "monitor": _check_monitor(monitor)}
        self._allocators = _allocator_mask(allocations)
        self._objects = _objects_mode(objects)
        if not self._objects and (object_events or include_types or exclude_types
                                  or objects_gc_collect is not None):
            raise ValueError("object_events, include_types, exclude_types and objects_gc_collect "
                             "need objects=True or objects='all'")
        # Checked here, like the other filters: bad globs raise before __enter__.
        _pymemtrace.Tracer(_PYTHON_CALLS, log_format="none", include_types=include_types,
                           exclude_types=exclude_types)
        self._tracer = None
        self._monitor = None  # the C monitor of monitor=, while entered
        self.log_path = None
        self.events_seen = 0
        self.samples_written = 0  # monitor=: samples in the log, after exit
        self.samples_lost = 0  # ... and those the log could not take (no event for too long)
        self._call_stats = []
        self.events_written = 0
        self.rss_provider = None  # the provider the tracer used, once entered
        self.sinks_failed = 0
        self.events_lost = 0  # events given to a log that failed and are not in it
        self.sink_counts = []  # per sink, after exit: given, stored, lost, errno (sink_counts())
        self.allocation_stats = {}  # after exit: seen, untraced, frees_of_null, live_blocks, ...
        self._object_counts = {}  # after exit: {type name: (created, destroyed, live)}

    @property
    def d_rss_trigger(self):
        return self._arguments[0]

    def __enter__(self):
        if self._tracer is not None:
            raise RuntimeError(f"this {type(self).__name__} is already active")
        d_rss_trigger, message, filepath = self._arguments
        options = self._options
        events = (self._EVENTS | (_C_EVENTS if options["c_calls"] else 0)
                  | (_pymemtrace.MASK_GC if options["gc"] else 0)
                  | (_pymemtrace.MASK_OBJECTS if options["object_events"] else 0))
        tracer = _pymemtrace.Tracer(events, d_rss_trigger, filepath, message,
                                    _OWN_CODE_PREFIX, options["log_format"],
                                    compression=_CODECS[options["compression"]],
                                    sink=options["sink"],
                                    rss_mode=_RSS_MODES[options["rss_mode"]],
                                    threads=_THREADS[options["threads"]],
                                    on_fork=options["on_fork"],
                                    calls=_CALLS[options["calls"]],
                                    allocators=self._allocators,
                                    alloc_min_size=options["alloc_min_size"],
                                    alloc_sample_bytes=options["alloc_sample"],
                                    objects=self._objects,
                                    include_types=options["include_types"],
                                    exclude_types=options["exclude_types"],
                                    **{k: options[k] for k in _FILTERS})
        with _process_lock:
            self._enter(tracer)
        return self

    def _enter(self, tracer):
        stack = _stack(self._KIND, self._options["threads"])
        outer = stack[-1]._tracer if stack else None
        if outer is not None:
            outer.mark(f"Detaching this {self._KIND} file wrapper. New file:\n{tracer.log_path}")
            outer.pause()
        try:
            tracer.start()
        except BaseException:
            tracer.discard()  # a failed start leaves no log file behind
            if outer is not None:
                outer.resume()
            raise
        self._tracer = tracer
        self.log_path = tracer.log_path
        self.rss_provider = tracer.rss_provider
        stack.append(self)
        self._start_monitor()

    def _start_monitor(self):
        """monitor=: a C monitor whose samples the tracer writes as SAMPLE events."""
        interval = self._options["monitor"]
        if interval is None or self._tracer is None:
            return
        monitor = _pymemtrace.Monitor(round(interval * 1e9), None, self._tracer)
        monitor.start()
        self._monitor = monitor

    def _stop_monitor(self):
        monitor, self._monitor = self._monitor, None
        if monitor is not None:
            monitor.stop()  # its last sample reaches the log before the stop row

    def __exit__(self, exc_type, exc_value, traceback):
        with _process_lock:
            return self._exit()

    def _exit(self):
        tracer = self._tracer
        if tracer is None:
            raise RuntimeError(f"this {type(self).__name__} is not active")
        stack = _stack(self._KIND, self._options["threads"])
        innermost = bool(stack) and stack[-1] is self
        if self._options["objects_gc_collect"] is not None:
            import gc  # its frees are counted (and written) before the last counts
            gc.collect(self._options["objects_gc_collect"])
        try:
            self._stop_monitor()
            tracer.stop()
        finally:
            self.events_seen = tracer.events_seen
            self.samples_written = tracer.samples_written
            self.samples_lost = tracer.samples_lost
            self.events_written = tracer.events_written
            self.sinks_failed = tracer.sinks_failed
            self.events_lost = tracer.events_lost
            self.sink_counts = tracer.sink_counts()
            self._call_stats = tracer.call_stats()
            self.allocation_stats = tracer.allocation_stats()
            self._object_counts = tracer.object_counts()
            self._tracer = None
            del tracer  # closes the log: its EOF row
            if self in stack:
                stack.remove(self)
            if innermost and stack:
                outer = stack[-1]._tracer
                outer.resume()
                outer.mark(f"Re-attaching this {self._KIND} file wrapper.")
        if self._options["on_sink_error"] == "raise":
            _raise_sink_error(self.sink_counts)
        return False

    def __call__(self, function):
        """Use as a decorator: every call of `function` is traced into a log of its own."""
        if not callable(function):
            raise TypeError(f"{type(self).__name__}(...) decorates callables, "
                            f"not {type(function).__name__}")
        @functools.wraps(function)
        def traced(*args, **kwargs):
            with self._copy():
                return function(*args, **kwargs)

        return traced

    def _copy(self):
        """A new wrapper with this one's arguments (a decorator enters one per call)."""
        return type(self)(*self._arguments, **self._options)

    @property
    def active(self):
        return self._tracer is not None

    def object_counts(self):
        """{type name: (created, destroyed, live)} of the counted types (objects=...): now while
        entered, else as they were at exit. live = created - destroyed since __enter__."""
        tracer = self._tracer
        return tracer.object_counts() if tracer is not None else dict(self._object_counts)

    def write_message_to_log(self, message):
        """Write `message` into the log as MSG rows (one per line)."""
        if not isinstance(message, str):
            raise TypeError(f"message must be str, not {type(message).__name__}")
        if self._tracer is None:
            raise RuntimeError(f"this {type(self).__name__} is not active")
        if self._options["log_format"] == "binary" and len(message) * 4 > _BINARY_TEXT_LIMIT:
            size = len(message.encode("utf-8", "surrogatepass"))
            if size > _BINARY_TEXT_LIMIT:
                warnings.warn(f"a message of {size} bytes is cut to its first 1 MiB in a binary "
                              "log (doc/format.md); the text log keeps it whole",
                              RuntimeWarning, stacklevel=2)
        self._tracer.mark(message)

    def log_file_path(self):
        """The path of this object's log (also after it exits), or None before it is entered."""
        return self.log_path

    def call_stats(self):
        """RSS growth per call path so far (while active) or of the whole run (after it exits):
        tuples (node, parent, flags, file, function, line, calls, total, own, largest,
        peak_rss), parents first; flags 1 marks the user's code. pymemtrace.callstats makes
        tables, trees and collapsed stacks of them."""
        return self._tracer.call_stats() if self._tracer is not None else list(self._call_stats)

    def top(self, n=10, by="function", user=True):
        """The n functions whose calls grew RSS most, in the user's terms by default (the growth
        of library code charged to the user's function that called it): dicts with file, line,
        function, total, own, calls, largest, peak_rss."""
        from . import callstats
        return callstats.table(self.call_stats(), by=by, user=user)[:n]

    def __repr__(self):
        state = "active" if self.active else "inactive"
        return (f"<{type(self).__name__} d_rss_trigger={self.d_rss_trigger} {state} "
                f"log_path={self.log_path!r}>")


_PYTHON_CALLS = _pymemtrace.MASK_CALLS
_C_EVENTS = _pymemtrace.MASK_PROFILE & ~_pymemtrace.MASK_CALLS


class Profile(_Wrapper):
    """Record RSS at Python call/return events, and C call/return/exception events with c_calls.

    d_rss_trigger: -1 (default) one page, 0 every event, N > 0 when |dRSS| >= N bytes.
    message: an optional first line for the log. filepath: the log's path (default
    YYMMDD_HHMMSS_PID.log in the current directory, .pmt for a binary log; an existing file is
    never overwritten).

    Keyword-only: log_format "text" (pymemtrace's format), "binary" (compact; read it with
    open_log() or ``python -m pymemtrace``) or "none" (no log: for the sink callable, or for
    bpftrace, SystemTap or DTrace attached to the library's USDT probes, doc/probes.md); compression None, "zstd" or "lz4" (binary logs);
    sink, a callable given each written event (an Event) as well. Events that the sink itself
    causes are not traced; a sink that raises is disabled (the exception goes to
    sys.unraisablehook), and the program and the log go on: sinks_failed says so after exit.
    rss_mode: how RSS is read at each event: "auto" (default: the best this process may use),
    "kernel-ring" (exact, privileged), "fault-gate", "interval", "exact" (a syscall per
    event) or "none" (not read: call flow only); rss_provider names the one used once entered.
    a forced mode this process cannot use raises RuntimeError at __enter__. The log header
    records the provider and its accuracy (doc/rss-providers.md).
    threads: "all" (default) traces every thread of the interpreter (on CPython 3.10 and 3.11,
    threads already running at __enter__ are not: see PMT_THREADS_ALL); "calling" only the
    thread that enters it. c_calls: also record calls of C functions (False by default: they
    double the events, and on CPython 3.12+ the cost; cPyMemTrace.Profile records them).

    Filters (keyword-only, combinable; an event must pass all, in this order; the log header
    records them; event numbers still count every event, so dEvent says how many were left out):
    include_files / exclude_files, include_functions / exclude_functions: sequences of
    fnmatch-style globs (``*`` also crosses ``/``), matched against the file (co_filename; for a
    C call its caller's) and the function (co_name, or the C function's qualified name): an
    event passes when it matches an include glob of each axis that has any, and no exclude glob.
    max_depth: drop events deeper than this stack depth (Event.depth: the Python frames on the
    thread's stack, the event's own included; None, the default, keeps all). time_window:
    (start, end) in seconds after __enter__, end None for no end. sample_every: keep 1 event in
    N of those that passed the filters before it. rss_above: only events whose RSS is at least
    this many bytes. Then comes d_rss_trigger. Start, stop and messages are always written.
    Bad values raise TypeError or ValueError here, not at __enter__.

    user_files / not_user_files: globs of files that are, or are not, the user's code in the
    call aggregation (call_stats(), top(): growth of code that is not the user's is charged to
    its user caller); by default everything but the standard library, site-/dist-packages and
    generated code is (doc/user-terms.md). They filter no event.
    calls: True (default) keeps the call aggregation and gives each written event its user site
    (Event.user_file, user_line, user_function: the nearest frame of the user's code); "paths"
    also gives each its call path (Event.call_node, a node of call_stats(); binary logs store
    it); False turns both off.

    monitor: None, or an interval in seconds (0.001 to 3600): an RSS monitor thread (C, no GIL)
    samples RSS, its split, page faults, CPU time and the cgroup's memory at that interval, and
    every sample is written into this log as a SAMPLE event (reason SMPL; Event.sample, a
    pymemtrace.Sample: seq, time_ns, peak_rss, minor_faults, ...) by the traced thread before its
    next event, beside the
    events: their dRSS and the trigger never see samples. Samples fill the time between events
    (a long C call, a sleep); a followed child samples itself into its own log. After exit,
    samples_written and samples_lost (no event for 1024 samples) say what reached the log
    (doc/monitor.md).

    gc: also write a GC_START and a GC_DONE event for every garbage collection (generation, and at
    its end objects collected, uncollectable and its duration), whatever RSS did: their RSS is
    the RSS before and after the collection (doc/gc.md).

    on_sink_error: what happens when a log cannot be written (a full disk, a file size limit, an
    I/O error). Either way the program and the other sinks go on, the library says so once on
    stderr (path, error, how many events the log holds), and after exit events_lost and
    sink_counts (per sink: given, stored, lost, errno) tell what reached each file. "warn"
    (default) leaves it at that; "raise" raises OSError (its errno, the path) from __exit__.

    on_fork: what a child made by os.fork() (multiprocessing's "fork" method too) does with an
    entered wrapper. Either way the child never writes the parent's log. "stop" (the default):
    the child's copy records nothing and its methods do nothing. "follow": the child carries on
    in a log of its own, named after the parent's with ".pid<PID>" inserted before the extension
    (trace.log -> trace.pid12345.log; log_path says which), that starts with a START row and a
    message naming both processes, event numbers from 0. The default is "follow" when the
    PYMEMTRACE_FOLLOW_CHILDREN environment variable is set (doc/children.md).
    """
    _KIND = "profile"
    _EVENTS = _PYTHON_CALLS
    _C_CALLS = False


class Trace(_Wrapper):
    """Record RSS at Python call/return, line and exception events. Arguments as Profile."""
    _KIND = "trace"
    _EVENTS = _pymemtrace.MASK_TRACE
    _C_CALLS = False


class Allocations(_Wrapper):
    """Record allocations without RSS per event: ALLOC, REALLOC and FREE events of CPython's
    allocator domains (allocations=True) or of the ones named, each charged to the Python file,
    line and function that made it (doc/allocations.md), into a binary log by default. Python
    calls and C calls are followed to charge them, not written (a Profile with allocations=True
    writes both). Read the log with ``python -m pymemtrace flow|hist|leaks LOG``, or open_log().

    alloc_min_size: allocations of fewer bytes are not recorded (nor their frees).
    alloc_sample: 0 records every allocation; R > 0 records an allocation of S bytes with
    probability 1 - exp(-S/R) (about S/R), so that the recorded bytes, scaled, estimate the
    whole at a fraction of the cost. Other arguments as Profile. One tracer per process traces
    allocations at a time: entering a second one raises RuntimeError.
    """
    _KIND = "allocations"
    _EVENTS = 0  # no Python event is written; calls are still followed to charge allocations
    _C_CALLS = False

    def __init__(self, message=None, filepath=None, *, log_format="binary", rss_mode="none",
                 allocations=True, **options):
        super().__init__(-1, message, filepath, log_format=log_format, rss_mode=rss_mode,
                         allocations=allocations, **options)
        if not self._allocators:
            raise ValueError("Allocations needs at least one allocator (allocations=...)")

    def _copy(self):
        _, message, filepath = self._arguments
        return Allocations(message, filepath, **self._options)


class Objects(_Wrapper):
    """Count object lifetimes per type (CPython 3.13+: its reference tracer), into a binary log
    by default, without RSS per event: OBJ_COUNT rows at every mark and at exit (one per type
    with its objects made, destroyed and the net live count), and with object_events=True an
    OBJ_NEW / OBJ_DEL row per object, charged to the Python file, line and function running
    (doc/objects.md). Read the log with ``python -m pymemtrace objects LOG``.

    objects: True (default) counts objects of heap types (classes; the builtins are left out),
    "all" every type; include_types / exclude_types: globs of type names (tp_name) among those.
    objects_gc_collect: None, or a generation that gc.collect() runs before the last counts.
    object_counts() gives the counts, live while entered. Other arguments as Profile. One tracer
    per process counts objects at a time; on CPython 3.10-3.12 NotImplementedError."""
    _KIND = "objects"
    _EVENTS = 0  # no Python event is written; calls are still followed to place objects
    _C_CALLS = False

    def __init__(self, message=None, filepath=None, *, log_format="binary", rss_mode="none",
                 objects=True, **options):
        # Counting alone needs no call hook: without the call aggregation (which has nothing to
        # report here) the program's calls run untouched.
        options.setdefault("calls", bool(options.get("object_events")))
        super().__init__(-1, message, filepath, log_format=log_format, rss_mode=rss_mode,
                         objects=objects, **options)
        if not self._objects:
            raise ValueError("Objects needs objects=True or objects='all'")

    def _copy(self):
        _, message, filepath = self._arguments
        return Objects(message, filepath, **self._options)


@atexit.register
def _finish_at_exit():
    """A program that exits inside an entered wrapper (entered by hand, or sys.exit from code that
    never leaves its `with`) still gets its buffered rows, LAST and EOF written: innermost first.
    The process's wrappers and the exiting thread's own (threads="calling")."""
    for kind in ("objects", "allocations", "profile", "trace"):
        for stack in (_thread_stack(kind), _process_stacks[kind]):
            _finish_stack(stack)


def _finish_stack(stack):
    with _process_lock:
        while stack:
            try:
                stack[-1].__exit__(None, None, None)
            except Exception:  # exiting anyway: what was written stays readable
                if stack:
                    stack.pop()


def active(kind):
    """The innermost active Profile ("profile") or Trace ("trace"): this thread's own
    (threads="calling") if it has one, else the process's; or None."""
    stack = _thread_stack(kind) or _process_stacks[kind]
    return stack[-1] if stack else None


def depth(kind):
    """How many Profile ("profile") or Trace ("trace") objects are entered: this thread's own
    (threads="calling") if it has any, else the process's."""
    return len(_thread_stack(kind) or _process_stacks[kind])


def mark(text):
    """Write `text` as a MSG row into every active Profile's and Trace's log that this thread may
    write to (the process's, and this thread's own), and as a label into every entered Monitor;
    returns how many logs got it."""
    if not isinstance(text, str):
        raise TypeError(f"text must be str, not {type(text).__name__}")
    with _process_lock:
        wrappers = [w for kind in _KINDS
                    for stack in (_process_stacks[kind], _thread_stack(kind)) for w in stack]
    count = 0
    for wrapper in wrappers:
        tracer = wrapper._tracer
        if tracer is not None:
            tracer.mark(text)
            count += 1
            monitor = wrapper._monitor
            if monitor is not None:  # a sample at the mark, in the same log
                try:
                    monitor.label(text)
                except RuntimeError:  # stopped meanwhile
                    pass
    from . import monitor  # entered Monitors take the mark as a label
    return count + monitor.label_all(text)


# --- fork ------------------------------------------------------------------------------------

def _after_fork_in_child():
    """os.fork()'s child (registered below): each entered wrapper's tracer applies its on_fork
    now rather than at its next event, so that a following wrapper's log_path is the child's
    from the start and a stopped one's hooks are gone; the exit paths (__exit__, the atexit
    handler) then find tracers that write only the child's own logs, or nothing."""
    if not _process_lock._is_owned():  # held by a thread that does not exist here
        _process_lock._at_fork_reinit()
    following = False
    for kind in _KINDS:
        for stack in (_process_stacks[kind], _thread_stack(kind)):
            for wrapper in stack:
                tracer = wrapper._tracer
                if tracer is None:
                    continue
                try:
                    tracer.after_fork()
                except Exception:  # the hooks stayed: the tracer still writes nothing
                    pass
                wrapper.log_path = tracer.log_path
                if wrapper._monitor is not None:
                    # The parent's monitor thread is not here: a following child samples
                    # itself with a monitor of its own, into its own log.
                    wrapper._monitor = None
                    if wrapper._options["on_fork"] == "follow":
                        try:
                            wrapper._start_monitor()
                        except Exception:  # the child is traced all the same
                            pass
                following = following or wrapper._options["on_fork"] == "follow"
    util = sys.modules.get("multiprocessing.util")
    if following and util is not None:
        # multiprocessing's children leave with os._exit(), which runs no atexit handler, after
        # its own finalizers: the logs are finished among them. Registered through its after-fork
        # hooks, which run once it has dropped the finalizers the child inherited.
        util.register_after_fork(_multiprocessing_anchor, _finish_with_multiprocessing)


class _Anchor:
    """A weakly referable key for multiprocessing's after-fork registry."""


_multiprocessing_anchor = _Anchor()


def _finish_with_multiprocessing(_anchor):
    # Below every other priority: after the children this child waited for.
    sys.modules["multiprocessing.util"].Finalize(None, _finish_at_exit, exitpriority=-100)


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_after_fork_in_child)
