"""pymemtrace: find where a Python process grows in memory.

Records the resident set size (RSS) at Python events and logs the events at which it changed::

    import pymemtrace
    with pymemtrace.Profile() as p:     # calls and returns, Python and C; one page trigger
        work()
    print(p.log_path)

``Trace`` records lines instead of C calls. ``rss()`` and ``rss_peak()`` return bytes.
The engine is libpymemtrace, a C library; this package is its limited-API (abi3) binding.
"""
from ._pymemtrace import library_version as __version__
from ._pymemtrace import rss, rss_peak, rss_provider
from ._tracing import Profile, Trace

__all__ = ["Profile", "Trace", "rss", "rss_peak", "rss_provider", "__version__"]
