"""Which hook a tracer gets on each CPython, and that both 3.10/3.11 hooks record the same run."""
import os
import sys
import tempfile
import unittest

import pymemtrace
from pymemtrace import _pymemtrace
from logparse import parse_log


def work():
    return sum(len(str(i)) for i in range(50))


class HookTest(unittest.TestCase):

    def hook_of(self, **options):
        tracer = _pymemtrace.Tracer(_pymemtrace.MASK_CALLS, -1, None, None, None,
                                    log_format="none", **options)
        self.assertIsNone(tracer.hook)  # not started
        tracer.start()
        try:
            return tracer.hook
        finally:
            tracer.stop()

    def test_the_hook_each_version_gets(self):
        if sys.version_info >= (3, 12):
            expected = "sys.monitoring"
        elif os.environ.get("PYMEMTRACE_LEGACY_HOOKS") == "sys":
            expected = "sys.setprofile"
        else:  # the C-level hooks, resolved in the running interpreter
            expected = "PyEval_SetProfile"
        self.assertEqual(self.hook_of(), expected)

    def test_a_profile_records_each_call_and_return(self):
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "run.log")
            with pymemtrace.Profile(0, filepath=path):
                work()
                work()
            log = parse_log(path)
        calls, returns = log.find(what="CALL", function="work"), log.find(what="RETURN",
                                                                          function="work")
        self.assertEqual((len(calls), len(returns)), (2, 2))
        self.assertEqual(calls[0].line, calls[1].line)


if __name__ == "__main__":
    unittest.main()
