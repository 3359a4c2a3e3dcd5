"""Following child processes (doc/children.md).

Children made by fork follow through on_fork="follow" (the library's PMT_FORK_FOLLOW). Children
that start a new interpreter (multiprocessing's "spawn" and "forkserver" methods, subprocess
running Python) trace themselves from interpreter start: the directory `_follow` next to this
file holds only a sitecustomize.py; put first on PYTHONPATH, it calls start_in_child() in every
Python process started with PYMEMTRACE_FOLLOW_CHILDREN set, then runs the sitecustomize it hides.
"""
import json
import os
import sys

from ._tracing import FOLLOW_CHILDREN_ENV, Profile, Trace

SITE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_follow")
_WRAPPERS = {"profile": Profile, "trace": Trace}


def child_log_path(path, pid):
    """The name of a child's log, by the library's rule: ".pid<PID>" before the extension of the
    last path component (trace.log -> trace.pid12345.log; run -> run.pid12345)."""
    path = os.fsdecode(path)
    start = path.rfind(os.sep) + 1
    dot = path.rfind(".", start)
    at = dot if dot > start else len(path)
    return f"{path[:at]}.pid{pid}{path[at:]}"


def environment(settings, environ=None):
    """The variables that make Python processes started with them trace themselves: settings
    (a dict of Profile/Trace keyword arguments, plus "kind" and "filepath") in JSON, and
    SITE_DIR first on PYTHONPATH."""
    environ = os.environ if environ is None else environ
    path = environ.get("PYTHONPATH")
    if path and path.split(os.pathsep)[0] == SITE_DIR:
        python_path = path
    else:
        python_path = os.pathsep.join(p for p in (SITE_DIR, path) if p)
    return {FOLLOW_CHILDREN_ENV: json.dumps(settings), "PYTHONPATH": python_path}


def settings_of(value):
    """The settings in PYMEMTRACE_FOLLOW_CHILDREN: "1" (the defaults) or a JSON object."""
    if value.strip() in ("1", ""):
        return {}
    settings = json.loads(value)
    if not isinstance(settings, dict):
        raise ValueError(f"{FOLLOW_CHILDREN_ENV} must be 1 or a JSON object, not {value!r}")
    return settings


def start_in_child():
    """Trace this process from now to its exit (the atexit handler finishes the log), as the
    settings say, into a log named after settings["filepath"] with this process's pid (by
    default YYMMDD_HHMMSS_PID.log in the current directory). Forked children follow."""
    settings = settings_of(os.environ.get(FOLLOW_CHILDREN_ENV, ""))
    kind = settings.pop("kind", "profile")
    if kind not in _WRAPPERS:
        raise ValueError(f"{FOLLOW_CHILDREN_ENV}: kind must be 'profile' or 'trace', not {kind!r}")
    filepath = settings.pop("filepath", None)
    if filepath is not None:
        filepath = child_log_path(filepath, os.getpid())
    settings.pop("on_fork", None)
    wrapper = _WRAPPERS[kind](filepath=filepath, on_fork="follow", **settings)
    wrapper.__enter__()
    return wrapper


def site_start():
    """What _follow/sitecustomize.py runs: start_in_child(), or a warning on stderr. A child
    that cannot be traced still runs."""
    try:
        return start_in_child()
    except Exception as error:  # noqa: BLE001 - the program must start all the same
        print(f"pymemtrace: not tracing process {os.getpid()}: {error}", file=sys.stderr)
        return None
