"""The RSS monitor: a C thread that samples the process's memory every interval, without the GIL
and without Python, into a JSON-lines file (doc/monitor.md).

    with pymemtrace.Monitor(interval=0.05) as m:     # alone: a JSON-lines file
        work()
        m.label("after work")                        # or pymemtrace.mark(...)
    for sample in pymemtrace.monitor.read(m.log_path):
        print(sample["elapsed_time"], sample["memory_info"]["rss"], sample["label"])

    with pymemtrace.Profile(filepath="run.pmt", log_format="binary", monitor=0.05):
        work()                                       # beside a tracer: SAMPLE events in its log
"""
import json
import os
import threading
import time

from . import _pymemtrace

_active = []  # entered monitors, for pymemtrace.mark()
_lock = threading.Lock()


def default_path():
    """YYMMDD_HHMMSS_PID.monitor.jsonl in the current directory, as the logs are named."""
    return time.strftime("%y%m%d_%H%M%S", time.localtime()) + f"_{os.getpid()}.monitor.jsonl"


class Monitor:
    """Samples RSS, peak RSS, page faults, CPU time and, where the system has them, the
    anonymous/file/shared split and the cgroup's memory.current/max, every `interval` seconds
    (default 0.1, at least 0.001), from a thread of its own. Labels (label(), or
    pymemtrace.mark()) land between samples: each is a sample taken at once. Exiting stops the
    thread at once with a last sample. log_path: the JSON-lines file (filepath, or a new
    YYMMDD_HHMMSS_PID.monitor.jsonl); samples: how many were taken.

    profile: an entered Profile or Trace (or Allocations, Objects) whose log also gets every
    sample as a SAMPLE event, written by the traced thread at its next event with the time the
    sample was taken; then a JSON-lines file is written only when filepath is given.
    Profile(monitor=seconds) does the same for its own run (and for followed children)."""

    def __init__(self, interval=0.1, filepath=None, profile=None):
        if isinstance(interval, bool) or not isinstance(interval, (int, float)):
            raise TypeError(f"interval must be a number of seconds, not {type(interval).__name__}")
        if not 0.001 <= interval <= 3600:
            raise ValueError(f"interval must be between 0.001 and 3600 seconds, not {interval}")
        if filepath is not None and not isinstance(filepath, (str, bytes, os.PathLike)):
            raise TypeError(f"filepath must be str, bytes, os.PathLike or None, "
                            f"not {type(filepath).__name__}")
        if profile is not None and not hasattr(profile, "_tracer"):
            raise TypeError(f"profile must be a Profile, Trace, Allocations or Objects, not "
                            f"{type(profile).__name__}")
        self.interval = interval
        self._filepath = filepath
        self._profile = profile
        self._monitor = None
        self.log_path = None
        self.samples = 0

    def __enter__(self):
        if self._monitor is not None:
            raise RuntimeError("this Monitor is already active")
        tracer = None
        if self._profile is not None:
            tracer = self._profile._tracer
            if tracer is None:
                raise RuntimeError(f"the {type(self._profile).__name__} given as profile is "
                                   f"not active")
        if self._filepath is not None:
            path = os.fsdecode(self._filepath)
        else:
            path = None if tracer is not None else default_path()
        monitor = _pymemtrace.Monitor(round(self.interval * 1e9), path, tracer)
        monitor.start()
        self._monitor, self.log_path = monitor, path
        with _lock:
            _active.append(self)
        return self

    def __exit__(self, *exc):
        monitor = self._monitor
        if monitor is None:
            raise RuntimeError("this Monitor is not active")
        with _lock:
            if self in _active:
                _active.remove(self)
        try:
            monitor.stop()
        finally:
            self.samples = monitor.samples
            self._monitor = None
        return False

    def label(self, text):
        """A sample taken now, with this label (callable from any thread)."""
        if not isinstance(text, str):
            raise TypeError(f"text must be str, not {type(text).__name__}")
        if self._monitor is None:
            raise RuntimeError("this Monitor is not active")
        self._monitor.label(text)

    @property
    def active(self):
        return self._monitor is not None


def label_all(text):
    """Labels every entered Monitor (pymemtrace.mark() calls this); returns how many."""
    with _lock:
        monitors = list(_active)
    for monitor in monitors:
        try:
            monitor.label(text)
        except RuntimeError:  # exited meanwhile
            pass
    return len(monitors)


def read(path):
    """The samples of a monitor's JSON-lines file, as dicts, in order; a last line cut short (a
    process killed while writing) is left out."""
    samples = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.endswith("\n"):
                break
            samples.append(json.loads(line))
    return samples
