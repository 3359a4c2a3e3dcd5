"""dump, csv, json: a log in another format."""
import csv
import json
import shutil

from .. import _pymemtrace
from .common import finish, log_command, open_or_fail, output

COLUMNS = ("seq", "reason", "kind", "time_ns", "thread_id", "depth", "file", "line", "function",
           "rss", "d_rss", "message", "user_file", "user_line", "user_function", "call_node")


def dump(args):
    with open_or_fail(args.log) as log, output(args, "wb") as out:
        if log.format == "text":  # already in the text format: copied as it is
            out.flush()
            with open(log.path, "rb") as source:
                shutil.copyfileobj(source, getattr(out, "buffer", out))
            for _ in log:  # only for the status: was the text log complete?
                pass
            return finish(log)
        out.flush()  # Python's buffered output first: the C sink writes to the descriptor
        _, status = _pymemtrace.dump_text(log.path, out.fileno())
        return finish(log, status)


def to_csv(args):
    with open_or_fail(args.log) as log, output(args) as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for event in log:
            writer.writerow([getattr(event, column) for column in COLUMNS])
        return finish(log)


def to_json(args):
    with open_or_fail(args.log) as log, output(args) as out:
        for event in log:
            out.write(json.dumps({column: getattr(event, column) for column in COLUMNS}) + "\n")
        return finish(log)


def register(commands):
    log_command(commands, "dump", dump, "a binary log in the text format, byte for byte what "
                "the text log of the same run holds", output=True)
    log_command(commands, "csv", to_csv, "one CSV row per event, after a header row", output=True)
    log_command(commands, "json", to_json, "one JSON object per event and line", output=True)
