"""dump, csv, json: a log in another format."""
import csv
import json
import shutil

from .. import _pymemtrace
from .common import finish, log_command, open_or_fail, output

COLUMNS = ("seq", "reason", "kind", "time_ns", "thread_id", "depth", "file", "line", "function",
           "rss", "d_rss", "message", "user_file", "user_line", "user_function", "call_node")
# The fields of the allocation, collection and object kinds: every CSV row has them (0 or ''
# for other kinds); a JSON line only for its own kind.
KIND_FIELDS = {
    ("ALLOC", "REALLOC", "FREE"): ("allocator", "address", "size", "old_address", "old_size"),
    ("GC_START", "GC_DONE"): ("gc_generation", "gc_collected", "gc_uncollectable",
                              "gc_duration_ns"),
    ("OBJ_NEW", "OBJ_DEL", "OBJ_CNT"): ("type_name", "address", "type_live", "type_created",
                                        "type_destroyed"),
    ("SAMPLE",): ("sample_seq", "sample_time_ns", "realtime_ns", "peak_rss", "minor_faults",
                  "major_faults", "user_cpu_ns", "system_cpu_ns", "rss_anon", "rss_file",
                  "rss_shmem", "cgroup_current", "cgroup_max"),
}
CSV_COLUMNS = COLUMNS + tuple(dict.fromkeys(f for fields in KIND_FIELDS.values() for f in fields))
# A SAMPLE's columns come from its Event.sample (a pymemtrace.Sample); empty for other kinds.
SAMPLE_COLUMNS = {"sample_seq": "seq", "sample_time_ns": "time_ns"}


def value(event, column):
    """A column's value for an event (CSV, JSON lines, SQLite)."""
    if column in KIND_FIELDS[("SAMPLE",)]:
        sample = event.sample
        return None if sample is None else getattr(sample, SAMPLE_COLUMNS.get(column, column))
    return getattr(event, column)


def json_fields(event):
    """The columns of a JSON line for this event: the common ones and those of its kind."""
    for kinds, fields in KIND_FIELDS.items():
        if event.kind in kinds:
            return COLUMNS + fields
    return COLUMNS


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
        writer.writerow(CSV_COLUMNS)
        for event in log:
            writer.writerow([value(event, column) for column in CSV_COLUMNS])
        return finish(log)


def to_json(args):
    with open_or_fail(args.log) as log, output(args) as out:
        for event in log:
            out.write(json.dumps({column: value(event, column)
                                  for column in json_fields(event)}) + "\n")
        return finish(log)


def register(commands):
    log_command(commands, "dump", dump, "a binary log in the text format, byte for byte what "
                "the text log of the same run holds", output=True)
    log_command(commands, "csv", to_csv, "one CSV row per event, after a header row", output=True)
    log_command(commands, "json", to_json, "one JSON object per event and line", output=True)
