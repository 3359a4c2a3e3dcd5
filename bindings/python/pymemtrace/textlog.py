"""Reading the text log that Profile and Trace write (pymemtrace's format).

Each row is a :class:`Row`; ``read_rows(path)`` yields them in file order. Columns have fixed
minimum widths and longer values are written whole, so a row is split from the right (dRSS, RSS,
Function, #line) and the file name is everything between the What column and #line.
"""
from dataclasses import dataclass
from typing import Iterator, Optional

# Where the File column starts: tag(6) Event(12) ' +' dEvent(6) ' ' Clock(12) ' ' What(8) ' '.
_FILE_COLUMN = 6 + 12 + 2 + 6 + 1 + 12 + 1 + 8 + 1
_EVENT_TAGS = ("FRST:", "NEXT:", "PREV:", "LAST:", "ALOC:", "GC:", "OBJ:", "SMPL:")
# SMPL rows' fields after " @ ", as the text sink writes them, and the Event fields they fill.
_SAMPLE_FIELDS = {"peak": "peak_rss", "minflt": "minor_faults", "majflt": "major_faults",
                  "user_ns": "user_cpu_ns", "system_ns": "system_cpu_ns", "anon": "rss_anon",
                  "file": "rss_file", "shmem": "rss_shmem", "cgroup": "cgroup_current",
                  "max": "cgroup_max"}


@dataclass(frozen=True)
class Row:
    tag: str                 # FRST, NEXT, PREV, MSG, LAST
    event: int
    d_event: int
    clock: float
    what: str = ""           # CALL, RETURN, C_CALL, ... (empty for MSG)
    file: str = ""
    line: int = 0
    function: str = ""
    rss: int = 0
    d_rss: int = 0
    message: Optional[str] = None
    # ALOC rows (allocations): "... dRSS @ OBJ 177 0x55d0 [from 0x55c0 64]"
    allocator: str = ""
    size: int = 0
    address: int = 0
    old_address: int = 0
    old_size: int = 0
    # GC rows: "... dRSS @ gen 2 [collected 12 uncollectable 0 ns 183042]"
    gc: Optional[dict] = None
    # OBJ rows: "... dRSS @ Node 0x7f3a live 12" or "... dRSS @ Node created 9 destroyed 2 live 7"
    objects: Optional[dict] = None
    # SMPL rows (a monitor's samples): "... dRSS @ taken CLOCK peak N ... max N|none [# label]"
    sample: Optional[dict] = None


def parse_row(text: str) -> Optional[Row]:
    """The Row of one line of a log, or None for a line that is not an event or message row."""
    text = text.rstrip("\n")
    head = text.split(None, 4)
    if len(head) < 4 or not head[0].endswith(":"):
        return None
    tag = head[0][:-1]
    if tag == "MSG":
        _, _, message = text.partition(" # ")
        return Row(tag, int(head[1]), int(head[2].lstrip("+")), float(head[3]), message=message)
    if head[0] not in _EVENT_TAGS:
        return None
    block = {}
    if tag == "ALOC":
        text, _, tail = text.rpartition(" @ ")
        parts = tail.split()
        block = {"allocator": parts[0], "size": int(parts[1]), "address": int(parts[2], 16)}
        if len(parts) >= 6 and parts[3] == "from":
            block.update(old_address=int(parts[4], 16), old_size=int(parts[5]))
    if tag == "GC":
        text, _, tail = text.rpartition(" @ ")
        parts = tail.split()
        values = dict(zip(parts[0::2], parts[1::2]))
        block = {"gc": {"gc_generation": int(values.get("gen", 0)),
                        "gc_collected": int(values.get("collected", 0)),
                        "gc_uncollectable": int(values.get("uncollectable", 0)),
                        "gc_duration_ns": int(values.get("ns", 0))}}
    if tag == "OBJ":
        text, _, tail = text.rpartition(" @ ")
        name, _, live = tail.rpartition(" live ")
        values = {"type_live": int(live), "type_created": 0, "type_destroyed": 0, "address": 0}
        if " created " in name:
            name, _, counts = name.rpartition(" created ")
            created, _, destroyed = counts.partition(" destroyed ")
            values.update(type_created=int(created), type_destroyed=int(destroyed))
        else:
            name, _, address = name.rpartition(" ")
            values["address"] = int(address, 16)
        values["type_name"] = name
        block = {"objects": values}
    if tag == "SMPL":
        text, _, tail = text.partition(" @ taken ")
        tail, _, label = tail.partition(" # ")
        parts = ["taken"] + tail.split()
        values = {_SAMPLE_FIELDS[k]: (None if v == "none" else int(v))
                  for k, v in zip(parts[0::2], parts[1::2]) if k in _SAMPLE_FIELDS}
        values["taken"] = float(parts[1])
        block = {"sample": values, "message": label or None}
    left, line, function, rss, d_rss = text.rsplit(None, 4)
    what = text[_FILE_COLUMN - 9:_FILE_COLUMN].strip()
    file = left[_FILE_COLUMN:].rstrip()
    return Row(tag, int(head[1]), int(head[2].lstrip("+")), float(head[3]), what, file,
               int(line), function, int(rss), int(d_rss), **block)


def read_rows(path) -> Iterator[Row]:
    """Every event and message row of the log at `path`, in order."""
    with open(path, encoding="utf-8", errors="backslashreplace") as log:
        for text in log:
            row = parse_row(text)
            if row is not None:
                yield row
