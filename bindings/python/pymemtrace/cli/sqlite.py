"""sqlite: logs into one SQLite database (stdlib sqlite3), a table of runs and one of events, so
that many logs - a fleet's, a CI history's - are queried with SQL (doc/exports.md)."""
import json
import os
import sqlite3

from .common import CliError, open_or_fail
from .export import CSV_COLUMNS, KIND_FIELDS, value

SCHEMA_VERSION = 2  # 2: the monitor's sample columns
SAMPLE_COLUMNS = KIND_FIELDS[("SAMPLE",)]

# Column types of the events table, in CSV_COLUMNS order after run_id.
_TYPES = {"seq": "INTEGER", "reason": "TEXT", "kind": "TEXT", "time_ns": "INTEGER",
          "thread_id": "INTEGER", "depth": "INTEGER", "file": "TEXT", "line": "INTEGER",
          "function": "TEXT", "rss": "INTEGER", "d_rss": "INTEGER", "message": "TEXT",
          "user_file": "TEXT", "user_line": "INTEGER", "user_function": "TEXT",
          "call_node": "INTEGER", "allocator": "TEXT", "address": "INTEGER", "size": "INTEGER",
          "old_address": "INTEGER", "old_size": "INTEGER", "gc_generation": "INTEGER",
          "gc_collected": "INTEGER", "gc_uncollectable": "INTEGER", "gc_duration_ns": "INTEGER",
          "type_name": "TEXT", "type_live": "INTEGER", "type_created": "INTEGER",
          "type_destroyed": "INTEGER", **{name: "INTEGER" for name in SAMPLE_COLUMNS}}

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY,
    path TEXT NOT NULL,          -- the log file, as given
    format TEXT NOT NULL,        -- 'binary' or 'text'
    process_id INTEGER,
    runtime TEXT,                -- 'CPython 3.12.1'
    rss_provider TEXT,
    start_realtime_ns INTEGER,   -- wall clock at start, ns since the epoch
    events_seen INTEGER,
    events_written INTEGER,      -- rows of events for this run
    peak_rss INTEGER,
    status TEXT NOT NULL,        -- 'complete', 'truncated' or 'damaged'
    header TEXT NOT NULL         -- the whole header, JSON
);
CREATE TABLE IF NOT EXISTS events (
    run_id INTEGER NOT NULL REFERENCES runs(run_id),
    {", ".join(f"{name} {_TYPES[name]}" for name in CSV_COLUMNS)},
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX IF NOT EXISTS events_function ON events(function);
CREATE INDEX IF NOT EXISTS events_kind ON events(run_id, kind);
"""


def _plain(value):
    """A header value as JSON takes it."""
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value if isinstance(value, (int, float, str, type(None))) else str(value)


def load(connection, path):
    """Adds the log at path as a run: its run_id and the number of events."""
    with open_or_fail(path) as log:
        header = {key: _plain(value) for key, value in dict(log.header).items()}
        cursor = connection.execute(
            "INSERT INTO runs (path, format, process_id, runtime, rss_provider, "
            "start_realtime_ns, events_seen, events_written, peak_rss, status, header) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (os.fspath(path), log.format, header.get("process_id"), header.get("runtime"),
             header.get("rss_provider"), header.get("start_realtime_ns"),
             header.get("events_seen"), None, header.get("peak_rss"), "reading",
             json.dumps(header)))
        run_id = cursor.lastrowid
        insert = (f"INSERT INTO events (run_id, {', '.join(CSV_COLUMNS)}) VALUES "
                  f"({', '.join('?' * (len(CSV_COLUMNS) + 1))})")
        count = 0
        batch = []
        for event in log:
            batch.append((run_id, *(value(event, column) for column in CSV_COLUMNS)))
            if len(batch) == 10000:
                connection.executemany(insert, batch)
                count += len(batch)
                batch = []
        connection.executemany(insert, batch)
        count += len(batch)
        status = log.status()[0]
        connection.execute("UPDATE runs SET events_written = ?, status = ? WHERE run_id = ?",
                           (count, status, run_id))
        return run_id, count, status


def to_sqlite(args):
    try:
        connection = sqlite3.connect(args.output)
    except sqlite3.Error as error:
        raise CliError(f"cannot open {args.output}: {error}") from None
    status = 0
    try:
        with connection:
            connection.executescript(SCHEMA)
            found = connection.execute("SELECT version FROM schema").fetchall()
            if not found:
                connection.execute("INSERT INTO schema VALUES (?)", (SCHEMA_VERSION,))
            elif found[0][0] == 1:  # version 1 lacks the sample columns: added, rows NULL
                for name in SAMPLE_COLUMNS:
                    connection.execute(f"ALTER TABLE events ADD COLUMN {name} INTEGER")
                connection.execute("UPDATE schema SET version = ?", (SCHEMA_VERSION,))
            elif found[0][0] != SCHEMA_VERSION:
                raise CliError(f"{args.output} has schema version {found[0][0]}, this "
                               f"pymemtrace writes {SCHEMA_VERSION}")
        for path in args.logs:
            with connection:  # one transaction per log: a bad log leaves the others in
                run_id, count, state = load(connection, path)
            print(f"run {run_id}: {path}: {count} events ({state})")
            if state != "complete":
                status = 1
    except sqlite3.DatabaseError as error:
        raise CliError(f"{args.output}: {error}") from None
    finally:
        connection.close()
    return status


def register(commands):
    summary = "logs into an SQLite database: a runs table and an events table (SQL over many runs)"
    command = commands.add_parser(
        "sqlite", help=summary, description=summary + ". Appends to an existing database of the "
        "same schema (doc/exports.md).",
        epilog="example: python -m pymemtrace sqlite nightly/*.pmt -o runs.db && sqlite3 runs.db "
        "'select function, sum(d_rss) from events group by function order by 2 desc limit 10'")
    command.add_argument("logs", nargs="+", metavar="LOG", help="binary or text logs")
    command.add_argument("-o", "--output", required=True, metavar="DB", help="the database")
    command.set_defaults(handler=to_sqlite)
