"""info: the log's header and summary, and whether it is complete."""
from datetime import datetime, timezone

from .common import finish, log_command, open_or_fail, shown


def info(args):
    with open_or_fail(args.log) as log:
        print(f"path: {log.path}")
        print(f"format: {log.format}")
        for key, value in log.header.items():
            print(f"{key}: {shown(value)}")
        started = log.header.get("start_realtime_ns")
        if started:
            when = datetime.fromtimestamp(started / 1e9, timezone.utc)
            print(f"started: {when.isoformat(timespec='microseconds')}")
        count = sum(1 for _ in log)  # to the end: only then does the reader know its status
        state, offset, reason = log.status()
        print(f"events read: {count}")
        print(f"status: {state} (byte {offset}: {reason})")
        return finish(log)


def register(commands):
    log_command(commands, "info", info, "the log's header and summary, and whether it is complete")
