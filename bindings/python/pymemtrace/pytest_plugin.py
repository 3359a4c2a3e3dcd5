"""pytest plugin: RSS growth per test, and markers that fail a test which grows or leaks.

    pytest --pymemtrace                  # a table of the tests that grew RSS most, at the end
    pytest -p pymemtrace.pytest_plugin   # where the package is importable but not installed

    @pytest.mark.limit_rss_growth("10 MiB")
    def test_load(): ...                 # fails when RSS grew by more than 10 MiB during the test

    @pytest.mark.no_rss_leak(iterations=20, tolerance="1 MiB")
    def test_request(): ...              # runs the body 20 times; fails when RSS keeps growing

Registered through the `pytest11` entry point when pymemtrace is installed. RSS is read exactly
(pymemtrace.rss(), the process's resident set) before and after each test's call phase; a growth
is the test's net change in pages, which the allocator may reuse or keep, so limits are for
megabytes, not bytes. Markers work without --pymemtrace.
"""
import re

import pytest

from . import rss

_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1 << 10, "m": 1000 ** 2, "mb": 1000 ** 2,
          "mib": 1 << 20, "g": 1000 ** 3, "gb": 1000 ** 3, "gib": 1 << 30}


def parse_size(value):
    """Bytes from 12345, "10 MiB", "512KiB", "1.5 GB" (decimal and binary units)."""
    if isinstance(value, bool):
        raise TypeError("a size is an int or a str like '10 MiB', not bool")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"a size is >= 0, not {value}")
        return value
    if not isinstance(value, str):
        raise TypeError(f"a size is an int or a str like '10 MiB', not {type(value).__name__}")
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", value)
    if not match or match.group(2).lower() not in _UNITS:
        raise ValueError(f"not a size: {value!r} (e.g. '10 MiB', '512 KiB', 4096)")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def _mib(n):
    return f"{n / (1 << 20):+.2f} MiB"


def pytest_addoption(parser):
    group = parser.getgroup("pymemtrace")
    group.addoption("--pymemtrace", action="store_true",
                    help="measure each test's RSS growth and list the tests that grew most")
    group.addoption("--pymemtrace-top", type=int, default=10, metavar="N",
                    help="how many tests the --pymemtrace table lists (default 10)")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "limit_rss_growth(size): fail when the test grows RSS by more than size "
        "(an int of bytes or a str like '10 MiB')")
    config.addinivalue_line(
        "markers", "no_rss_leak(iterations=10, tolerance='1 MiB'): run the test body "
        "iterations times; fail when RSS keeps growing after the first run")
    config._pymemtrace_growth = {}


def _leak_check(item, marker, run):
    iterations = marker.kwargs.get("iterations", marker.args[0] if marker.args else 10)
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 3:
        raise pytest.UsageError(f"{item.nodeid}: no_rss_leak(iterations=...) needs an int >= 3")
    tolerance = parse_size(marker.kwargs.get("tolerance", "1 MiB"))
    readings = []
    for _ in range(iterations):  # the same fixtures each time: set up once, as for one run
        run()
        readings.append(rss())
    # The first run warms caches (imports, interned strings, the allocator's arenas): growth
    # counts from there. A leak grows in most runs and by more than the tolerance in all.
    grew = readings[-1] - readings[0]
    steps_up = sum(b > a for a, b in zip(readings, readings[1:]))
    if grew > tolerance and steps_up >= (iterations - 1) // 2:
        pytest.fail(f"RSS kept growing: {_mib(grew)} over {iterations - 1} runs after the "
                    f"first ({steps_up} of them grew; tolerance {_mib(tolerance)}): "
                    f"{[r - readings[0] for r in readings]}", pytrace=False)


def _limited(item, marker, run):
    if not marker.args:
        raise pytest.UsageError(f"{item.nodeid}: limit_rss_growth needs a size")
    allowed = parse_size(marker.args[0])
    before = rss()
    run()
    grew = rss() - before
    if grew > allowed:
        pytest.fail(f"RSS grew by {_mib(grew)}, more than the {_mib(allowed)} allowed by "
                    f"limit_rss_growth", pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    """Measures the call phase; a marked test's body runs inside our own runtest, so that a
    failure of the marker is the test's own failure."""
    leak = item.get_closest_marker("no_rss_leak")
    limit = item.get_closest_marker("limit_rss_growth")
    original = item.runtest
    if leak is not None:  # the body runs as many times as asked
        item.runtest = lambda: _leak_check(item, leak, original)
    elif limit is not None:
        item.runtest = lambda: _limited(item, limit, original)
    before = rss()
    try:
        yield
    finally:
        item.runtest = original
        item.config._pymemtrace_growth[item.nodeid] = rss() - before


def pytest_terminal_summary(terminalreporter, config):
    if not config.getoption("pymemtrace"):
        return
    growth = config._pymemtrace_growth
    terminalreporter.write_sep("=", "pymemtrace: RSS growth per test")
    if not growth:
        terminalreporter.write_line("(no test ran)")
        return
    top = sorted(growth.items(), key=lambda item: -item[1])[:config.getoption("pymemtrace_top")]
    for nodeid, grew in top:
        terminalreporter.write_line(f"{_mib(grew):>14}  {nodeid}")
    terminalreporter.write_line(f"{_mib(sum(growth.values())):>14}  in all, {len(growth)} tests")
