"""pymemtrace: find where a Python process grows in memory.

Records the resident set size (RSS) at Python events and logs the events at which it changed::

    import pymemtrace
    with pymemtrace.Profile() as p:     # Python calls and returns, every thread; one page trigger
        work()
    print(p.log_path)

``Trace`` records lines instead of C calls. Both write the text log (pymemtrace's format) or,
with ``log_format="binary"``, a compact binary log, and can hand each written event to a callable
(``sink=``). ``open_log(path)`` reads either kind back as events. ``rss()`` and ``rss_peak()``
return bytes.

The engine is libpymemtrace, a C library; this package is its limited-API (abi3) binding.
"""
from ._pymemtrace import library_version as __version__
from ._pymemtrace import Event, Sample, probe_listeners, probes_available, rss, rss_peak, rss_provider
from ._tracing import Allocations, Objects, Profile, Trace, mark
from .logs import open_log
from .monitor import Monitor

__all__ = ["Allocations", "Event", "Monitor", "Objects", "Profile", "Trace", "mark", "open_log",
           "Sample", "probe_listeners", "probes_available", "rss", "rss_peak", "rss_provider",
           "__version__"]
