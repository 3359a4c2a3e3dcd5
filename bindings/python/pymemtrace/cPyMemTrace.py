"""Compatibility with pymemtrace's ``cPyMemTrace`` module: the same names, arguments and methods.

    from pymemtrace import cPyMemTrace
    with cPyMemTrace.Profile(0, message="...") as profiler:
        ...

Differences, all deliberate: ``log_file_path()`` returns the object's own path, also after it
exits (pymemtrace returned the innermost active log's path, and None after exit); the default log
name is ``YYMMDD_HHMMSS_PID.log``; ``PREV:`` rows show the event just before a triggering one
(pymemtrace repeated the last written row).
"""
from . import _tracing
from ._pymemtrace import rss, rss_peak
from ._tracing import active, depth

__all__ = [
    "Profile", "Trace", "rss", "rss_peak",
    "profile_wrapper_depth", "profile_log_path", "profile_write_message_to_log",
    "trace_wrapper_depth", "trace_log_path", "trace_write_message_to_log",
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
