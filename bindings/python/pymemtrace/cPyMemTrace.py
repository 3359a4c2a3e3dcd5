"""Compatibility with pymemtrace's ``cPyMemTrace`` module: the same names, arguments and methods.

    from pymemtrace import cPyMemTrace
    with cPyMemTrace.Profile(0, message="...") as profiler:
        ...

Differences, all deliberate: ``log_file_path()`` returns the object's own path, also after it
exits (pymemtrace returned the innermost active log's path, and None after exit); the default log
name is ``YYMMDD_HHMMSS_PID.log``; ``PREV:`` rows show the event just before a triggering one
(pymemtrace repeated the last written row). ReferenceTracing (CPython 3.13+) writes this
library's text log: an ``OBJ:`` row per object made or destroyed (type, address, live count of
its type, file, line, function, RSS) and the counts per type at each message and at exit
(doc/objects.md), read with ``python -m pymemtrace objects LOG``; frame and code objects are
counted like any other (pymemtrace skipped them).
"""
from . import _tracing
from ._pymemtrace import rss, rss_peak
from ._tracing import active, depth

__all__ = [
    "Profile", "Trace", "ReferenceTracing", "ReferenceTracingSimple", "rss", "rss_peak",
    "profile_wrapper_depth", "profile_log_path", "profile_write_message_to_log",
    "trace_wrapper_depth", "trace_log_path", "trace_write_message_to_log",
    "reference_tracing_wrapper_depth", "reference_tracing_simple_wrapper_depth",
    "reference_tracing_log_path", "reference_tracing_write_message_to_log",
    "reference_tracing_live_object_counts",
]


class Profile(_tracing.Profile):
    """pymemtrace.Profile as cPyMemTrace had it: C calls recorded, only the entering thread
    traced (pymemtrace installed its hook with PyEval_SetProfile, per thread)."""

    def __init__(self, d_rss_trigger=_tracing.TRIGGER_DEFAULT, message=None, filepath=None, *,
                 threads="calling", c_calls=True, **options):
        super().__init__(d_rss_trigger, message, filepath, threads=threads, c_calls=c_calls,
                         **options)


class Trace(_tracing.Trace):
    """pymemtrace.Trace as cPyMemTrace had it: only the entering thread traced."""

    def __init__(self, d_rss_trigger=_tracing.TRIGGER_DEFAULT, message=None, filepath=None, *,
                 threads="calling", **options):
        super().__init__(d_rss_trigger, message, filepath, threads=threads, **options)


def _exact(names, what):
    """tp_name strings as globs that match exactly those names."""
    if names is None:
        return None
    if isinstance(names, (str, bytes)) or not hasattr(names, "__iter__"):
        raise TypeError(f"{what} must be a sequence of type names, not {type(names).__name__}")
    globs = []
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"{what} must hold str type names, not {type(name).__name__}")
        globs.append("".join("\\" + c if c in "*?[]\\" else c for c in name))
    return globs


class _Counting(_tracing.Objects):
    """What both reference tracers share: suspend/resume and the totals."""

    def suspend(self):
        """Stop counting until resume() (the objects made meanwhile are not counted)."""
        if self._tracer is not None:
            self._tracer.pause()

    def resume(self):
        if self._tracer is not None:
            self._tracer.resume()

    def count_new(self):
        """Objects of the counted types made so far."""
        return sum(created for created, _, _ in self.object_counts().values())

    def count_del(self):
        """Objects of the counted types destroyed so far."""
        return sum(destroyed for _, destroyed, _ in self.object_counts().values())

    def live_object_counts(self):
        """{type name: live}: made minus destroyed since entered, per type."""
        return {name: live for name, (_, _, live) in self.object_counts().items()}


class ReferenceTracing(_Counting):
    """pymemtrace's ReferenceTracing (CPython 3.13+): a text log row per object made (NEW) and
    destroyed (DEL) of the counted types, with the live count of its type. include_builtins:
    also the objects of static (builtin) types; include_tp_names / exclude_tp_names: exact type
    names (exclude wins); gc_collect_on_exit: -1 none, else the generation gc.collect() runs at
    exit first, so that its frees are in the log."""

    def __init__(self, message=None, filepath=None, include_builtins=False, exclude_tp_names=None,
                 include_tp_names=None, gc_collect_on_exit=2, **options):
        if gc_collect_on_exit not in (-1, 0, 1, 2):
            raise ValueError(f"gc_collect_on_exit must be -1, 0, 1 or 2, not "
                             f"{gc_collect_on_exit!r}")
        options.setdefault("log_format", "text")
        options.setdefault("object_events", True)
        super().__init__(message, filepath, objects="all" if include_builtins else True,
                         include_types=_exact(include_tp_names, "include_tp_names"),
                         exclude_types=_exact(exclude_tp_names, "exclude_tp_names"),
                         objects_gc_collect=None if gc_collect_on_exit == -1
                         else gc_collect_on_exit, **options)


class ReferenceTracingSimple(_Counting):
    """pymemtrace's ReferenceTracingSimple (CPython 3.13+): counts objects made and destroyed,
    of every type, and writes no log."""

    def __init__(self, **options):
        options.setdefault("log_format", "none")
        options.setdefault("objects", "all")
        super().__init__(None, None, **options)


def reference_tracing_wrapper_depth():
    """Number of active ReferenceTracing objects."""
    return sum(isinstance(w, ReferenceTracing) for w in _tracing._process_stacks["objects"])


def reference_tracing_simple_wrapper_depth():
    """Number of active ReferenceTracingSimple objects."""
    return sum(isinstance(w, ReferenceTracingSimple) for w in _tracing._process_stacks["objects"])


def reference_tracing_log_path():
    """Log path of the innermost active ReferenceTracing, or None."""
    wrapper = active("objects")
    return wrapper.log_path if wrapper else None


def reference_tracing_write_message_to_log(message):
    """A MSG row (then the counts) into the innermost active ReferenceTracing's log; ValueError
    if there is none."""
    _write("objects", message)


def reference_tracing_live_object_counts():
    """{type name: live} of the innermost active ReferenceTracing; ValueError if there is
    none."""
    wrapper = active("objects")
    if wrapper is None:
        raise ValueError("no active objects to count")
    return wrapper.live_object_counts()


def profile_wrapper_depth():
    """Number of active Profile objects in this thread."""
    return depth("profile")


def trace_wrapper_depth():
    """Number of active Trace objects in this thread."""
    return depth("trace")


def profile_log_path():
    """Log path of the innermost active Profile, or None."""
    wrapper = active("profile")
    return wrapper.log_path if wrapper else None


def trace_log_path():
    """Log path of the innermost active Trace, or None."""
    wrapper = active("trace")
    return wrapper.log_path if wrapper else None


def _write(kind, message):
    wrapper = active(kind)
    if wrapper is None:
        raise ValueError(f"no active {kind} to write to")
    wrapper.write_message_to_log(message)


def profile_write_message_to_log(message):
    """Write a MSG row into the innermost active Profile's log; ValueError if there is none."""
    _write("profile", message)


def trace_write_message_to_log(message):
    """Write a MSG row into the innermost active Trace's log; ValueError if there is none."""
    _write("trace", message)
