"""Names are written whole and in UTF-8: non-ASCII functions and files, very long paths."""
import importlib.util
import os
import unittest

import pymemtrace
from logparse import TempDirTestCase, parse_log


def café():
    return "é"


def 函数():
    return "函"


MODULE_SOURCE = '''\
def deep_function():
    value = 1
    return value
'''


def import_from(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class NonAsciiNamesTest(TempDirTestCase):

    def test_function_names_are_written_in_utf8(self):
        for wrapper in (pymemtrace.Profile, pymemtrace.Trace):
            with self.subTest(wrapper=wrapper.__name__):
                with wrapper(0, filepath=self.path(f"{wrapper.__name__}.log")) as instance:
                    café()
                    函数()
                log = parse_log(instance.log_path)  # strict UTF-8
                self.assertEqual(len(log.find(what="CALL", function="café")), 1)
                self.assertEqual(len(log.find(what="CALL", function="函数")), 1)

    def test_non_ascii_file_message_and_log_path(self):
        directory = self.path("données_数据")
        os.mkdir(directory)
        module_path = os.path.join(directory, "modulé.py")
        with open(module_path, "w", encoding="utf-8") as f:
            f.write(MODULE_SOURCE)
        module = import_from(module_path, "module_e_acute")
        log_path = os.path.join(directory, "журнал.log")
        with pymemtrace.Trace(0, message="mémoire 内存", filepath=log_path) as trace:
            module.deep_function()
            trace.write_message_to_log("message ünïcode 消息")
        self.assertEqual(trace.log_path, log_path)
        log = parse_log(log_path)
        self.assertEqual(log.message, "mémoire 内存")
        self.assertEqual(log.messages, ["message ünïcode 消息"])
        self.assertTrue(log.find(what="CALL", function="deep_function", file=module_path))


class LongPathTest(TempDirTestCase):

    def deep_directory(self, min_length):
        directory = self.tmp
        level = 0
        while len(directory) <= min_length:
            directory = os.path.join(directory, f"{level:02d}_" + "d" * 200)
            level += 1
        os.makedirs(directory)
        return directory

    def test_long_module_path_is_written_whole(self):
        directory = self.deep_directory(1000)
        module_path = os.path.join(directory, "deep_module.py")
        self.assertGreater(len(module_path), 1000)
        with open(module_path, "w", encoding="utf-8") as f:
            f.write(MODULE_SOURCE)
        module = import_from(module_path, "deep_module")
        for wrapper in (pymemtrace.Profile, pymemtrace.Trace):
            with self.subTest(wrapper=wrapper.__name__):
                with wrapper(0, filepath=self.path(f"{wrapper.__name__}.log")) as instance:
                    module.deep_function()
                log = parse_log(instance.log_path)
                rows = log.find(function="deep_function")
                self.assertTrue(rows)
                self.assertTrue(all(r.file == module_path for r in rows), rows)
                self.assertEqual(rows[-1].line, 3)

    def test_long_log_path_in_nesting_messages(self):
        directory = self.deep_directory(1500)
        inner_path = os.path.join(directory, "inner_" + "l" * 100 + ".log")
        with pymemtrace.Profile(0, filepath=self.path("outer.log")) as outer:
            with pymemtrace.Profile(0, filepath=inner_path) as inner:
                café()
        self.assertEqual(inner.log_path, inner_path)
        self.assertIn(inner_path, parse_log(outer.log_path).messages)
        self.assertTrue(parse_log(inner_path).find(function="café"))


if __name__ == "__main__":
    unittest.main()
