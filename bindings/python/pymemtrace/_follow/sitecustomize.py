"""pymemtrace's sitecustomize for followed child processes (doc/children.md).

``python -m pymemtrace run --follow-children`` puts the directory holding only this file first on
PYTHONPATH, so that every Python process started below it (multiprocessing's "spawn" and
"forkserver" children, its resource tracker, subprocess running Python) traces itself from
interpreter start, with the settings in PYMEMTRACE_FOLLOW_CHILDREN, into a log named with its
pid. Then the sitecustomize this one hides (Debian ships one) runs as it would have.
"""


def _trace_this_process():
    import os
    import sys

    if not os.environ.get("PYMEMTRACE_FOLLOW_CHILDREN"):
        return
    # The package this file belongs to, wherever the child would find (or not find) another.
    package_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.path.insert(0, package_parent)
    try:
        from pymemtrace import _children
    finally:
        sys.path.remove(package_parent)
    _children.site_start()


def _run_the_hidden_sitecustomize():
    import importlib.machinery
    import importlib.util
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    path = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    # `import sitecustomize` elsewhere gets the one this file hides.
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


try:
    _trace_this_process()
except Exception as error:  # the program must start all the same
    import sys

    print(f"pymemtrace: not tracing this process: {error}", file=sys.stderr)
_run_the_hidden_sitecustomize()
