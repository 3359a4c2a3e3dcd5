"""open_log(): the events of a pymemtrace log, binary or text, one Event at a time.

    with pymemtrace.open_log("run.pmt") as log:
        print(log.header["runtime"])
        for event in log:                 # Event: kind, reason, seq, time_ns, ... message
            ...
        state, offset, reason = log.status()

Binary logs are read by the C reader (``_pymemtrace.LogReader``). Text logs (pymemtrace's format)
are recognised by their ``SOF`` line and parsed row by row, so that the command line and other
tools need one code path for both; what a text log does not record is None (thread_id, depth,
and a message's place and RSS), and its time_ns counts from the first event, at microseconds.
"""
import os
from types import MappingProxyType

from . import _pymemtrace
from .textlog import parse_row

Event = _pymemtrace.Event
Sample = _pymemtrace.Sample
BINARY_MAGIC = b"\x89PMT\r\n\x1a\n"
# A text log's message is one line; no real one comes near this, and random data stops here.
_MAX_LINE = 1 << 20


def open_log(path):
    """A BinaryLog or TextLog for the file at `path`.

    Raises OSError if the file cannot be read and ValueError if it is not a pymemtrace log.
    """
    with open(path, "rb") as file:
        if file.read(len(BINARY_MAGIC)) == BINARY_MAGIC:
            return BinaryLog(path)
        file.seek(0)
        lines = [file.readline(_MAX_LINE) for _ in range(3)]
    # A text log starts with SOF and HDR lines, or with its message line and then those.
    if lines[1] == b"SOF\n" and lines[2].startswith(b"HDR: "):
        return TextLog(path, lines[0][:-1].decode("utf-8", "backslashreplace"), skip_lines=3)
    if lines[0] == b"SOF\n" and lines[1].startswith(b"HDR: "):
        return TextLog(path, None, skip_lines=2)
    raise ValueError(f"{os.fsdecode(path)!r}: not a pymemtrace log (neither binary nor text)")


class _Log:
    """What both kinds of log share: a path, a header mapping, closing."""
    format = ""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False

    def __repr__(self):
        return f"<{type(self).__name__} {self.path!r}>"


class BinaryLog(_Log):
    """A binary log. Iterating gives its events; `header` is the file's header (and summary,
    present when the writer closed the log: events_seen, events_written, peak_rss, ...)."""
    format = "binary"

    def __init__(self, path):
        self.path = os.fsdecode(path)
        self._reader = _pymemtrace.LogReader(path)
        self.header = MappingProxyType(self._reader.info)

    def __iter__(self):
        return self._reader  # the C reader's own iteration: no Python call per event

    def __next__(self):
        return next(self._reader)

    def status(self):
        """(state, offset, reason) once iteration ended; state: complete, truncated, damaged."""
        return self._reader.status()

    def call_stats(self):
        """The call aggregation the tracer recorded at stop (Profile.call_stats()'s rows): it
        follows the events, so the events not read yet are read (and skipped) first. [] for a
        log without one (a killed writer, a library before it)."""
        for _ in self._reader:
            pass
        return self._reader.call_stats()

    def seek_seq(self, seq):
        """The next event becomes the first with seq >= `seq`."""
        self._reader.seek_seq(seq)

    def seek_time(self, time_ns):
        """The next event becomes the first with time_ns >= `time_ns`."""
        self._reader.seek_time(time_ns)

    def close(self):
        self._reader.close()


class TextLog(_Log):
    """A text log read as events: one Event per row, the MSG rows of one message joined (with
    newlines) into one MARK event as a binary log holds it. Seeking reads from the start."""
    format = "text"

    def __init__(self, path, message, skip_lines):
        self.path = os.fsdecode(path)
        self._file = open(path, "rb")
        for _ in range(skip_lines):
            self._file.readline(_MAX_LINE)
        # A run with filter stages names them on a FLT line under the header.
        line, filters = self._file.readline(_MAX_LINE), ""
        if line.startswith(b"FLT:  ") and line.endswith(b"\n"):
            filters = line[6:-1].decode("utf-8", "backslashreplace")
            skip_lines += 1
        self.header = MappingProxyType({"message": message, "filters": filters})
        self._skip_lines = skip_lines
        self._rewind()

    def _rewind(self):
        self._file.seek(0)
        self._status = ("complete", 0, "reading")  # as the binary reader says until the end
        self._pending = None
        self._events = self._read_events()

    def __iter__(self):
        return self

    def __next__(self):
        if self._pending is not None:
            event, self._pending = self._pending, None
            return event
        return next(self._events)

    def status(self):
        return self._status

    def _seek(self, field, target):
        self._rewind()
        for event in self._events:
            if getattr(event, field) >= target:
                self._pending = event
                return

    def seek_seq(self, seq):
        self._seek("seq", seq)

    def seek_time(self, time_ns):
        self._seek("time_ns", time_ns)

    def call_stats(self):
        """[]: the text log keeps pymemtrace's rows only (write a binary log, or read
        Profile.call_stats(), for the call aggregation)."""
        return []

    def close(self):
        self._file.close()

    def _read_events(self):
        offset = 0
        message = []  # the MSG rows of a message whose next line may still follow
        for number, line in enumerate(self._file):
            at, offset = offset, offset + len(line)
            if number < self._skip_lines:
                continue
            if line == b"EOF\n":
                self._status = ("complete", at, "end of log")
                break
            if not line.endswith(b"\n"):  # the writer was killed in the middle of a row
                self._status = ("truncated", at, f"row at {at} cut short")
                break
            try:
                row = parse_row(line.decode("utf-8", "backslashreplace"))
            except ValueError:  # a number column that is not one
                row = None
            if row is None:
                self._status = ("damaged", at, f"line at {at} is not a row of the text log")
                break
            if message and (row.tag != "MSG" or row.event != message[0].event):
                yield _mark_event(message)
                message = []
            if row.tag == "MSG":
                message.append(row)
            else:
                yield _row_event(row)
        else:
            self._status = ("truncated", offset, f"log ends at {offset} without its EOF line")
        if message:
            yield _mark_event(message)


def _time_ns(row):
    return round(row.clock * 1_000_000) * 1000  # the Clock column has six decimals


def _row_event(row):
    fields = (row.what, row.tag, row.event, _time_ns(row), None, None, row.file, row.line,
              row.function, row.rss, row.d_rss, None)
    if row.tag == "GC":
        return Event(fields, row.gc)
    if row.tag == "OBJ":
        return Event(fields, row.objects)
    if row.tag == "SMPL":  # the text log keeps no sample number nor wall clock
        fields = fields[:11] + (row.message,)
        values = dict(row.sample)
        values["time_ns"] = round(values.pop("taken") * 1_000_000) * 1000
        sample = Sample((None, values["time_ns"], None, row.rss, values["peak_rss"],
                         values["minor_faults"], values["major_faults"], values["user_cpu_ns"],
                         values["system_cpu_ns"], values["rss_anon"], values["rss_file"],
                         values["rss_shmem"], values["cgroup_current"], values["cgroup_max"],
                         row.message))
        return Event(fields, {"sample": sample})
    if row.tag != "ALOC":
        return Event(fields)
    return Event(fields, {"allocator": row.allocator, "address": row.address, "size": row.size,
                          "old_address": row.old_address, "old_size": row.old_size})


def _mark_event(rows):
    text = "\n".join(row.message for row in rows)
    return Event(("MARK", "MSG", rows[0].event, _time_ns(rows[0]), None, None, None, None, None,
                  None, None, text))
