"""Summaries of a log's allocation events (ALLOC, REALLOC, FREE): what DTrace's allocation
scripts printed, from any source of events (open_log(), a Tracer's sink, a list).

    with pymemtrace.open_log("run.pmt") as log:
        report = pymemtrace.allocations.leaks(log)
    for row in report["sites"][:10]:
        print(row["bytes"], row["file"], row["line"], row["function"])

flow() gives DTrace's malloc/free flow lines, histograms() its ``quantize`` size distributions,
leaks() the blocks still allocated at the end, grouped by site. A site is the user's code that
made the allocation (Event.user_file/user_line/user_function, as ``top --user`` charges growth)
when the log has user sites, else the event's own file, line and function.
"""
import os
from collections import defaultdict

KINDS = ("ALLOC", "REALLOC", "FREE")

# What each allocator's calls are named in a flow.
_CALLS = {
    "NATIVE": ("malloc", "realloc", "free"),
    "MMAP": ("mmap", "mremap", "munmap"),
    "RAW": ("PyMem_RawMalloc", "PyMem_RawRealloc", "PyMem_RawFree"),
    "MEM": ("PyMem_Malloc", "PyMem_Realloc", "PyMem_Free"),
    "OBJ": ("PyObject_Malloc", "PyObject_Realloc", "PyObject_Free"),
}

SUMMARY_MARK = "pymemtrace allocations:"


def is_allocation(event):
    return event.kind in KINDS


def call_name(event):
    names = _CALLS.get(event.allocator, ("alloc", "realloc", "free"))
    return names[KINDS.index(event.kind)]


def site(event, user=True):
    """(file, line, function) an allocation is charged to: its user site when it has one."""
    if user and getattr(event, "user_file", ""):
        return event.user_file, event.user_line, event.user_function
    return event.file or "", event.line or 0, event.function or ""


def flow(events, pid=0, call_stack=False, full_path=False):
    """DTrace's py_flow_malloc_free.d lines: pid, file:line, '->' indented by the call depth,
    the function, then ``malloc(size) pntr 0x...`` / ``free(0x...)`` (named after the
    allocator: PyObject_Malloc, PyMem_RawFree, mmap, ...); with call_stack the CALL and RETURN
    events too (a log records them when its trigger writes them: d_rss_trigger=0)."""
    for event in events:
        if is_allocation(event):
            action = _flow_action(event)
            arrow = "->"
        elif call_stack and event.kind in ("CALL", "RETURN"):
            action = ""
            arrow = "->" if event.kind == "CALL" else "<-"
        else:
            continue
        file = event.file if full_path else os.path.basename(event.file or "")
        indent = "  " * max((event.depth or 1) - 1, 0)
        where = f"{file}:{event.line}"
        text = f"{pid:>6}     {where:<20} {indent}{arrow} {event.function}"
        yield f"{text} {action}" if action else text


def _flow_action(event):
    name = call_name(event)
    if event.kind == "ALLOC":
        return f"{name}({event.size}) pntr 0x{event.address:x}"
    if event.kind == "REALLOC":
        return f"{name}(0x{event.old_address:x}, {event.size}) pntr 0x{event.address:x}"
    return f"{name}(0x{event.address:x})"


def flow_records(events, pid=0):
    """The flow as dicts (for JSON lines): one per allocation event."""
    for event in events:
        if is_allocation(event):
            yield {"pid": pid, "seq": event.seq, "time_ns": event.time_ns,
                   "thread_id": event.thread_id, "depth": event.depth, "kind": event.kind,
                   "allocator": event.allocator, "call": call_name(event), "size": event.size,
                   "address": event.address, "old_address": event.old_address,
                   "file": event.file, "line": event.line, "function": event.function,
                   "user_file": getattr(event, "user_file", ""),
                   "user_line": getattr(event, "user_line", 0),
                   "user_function": getattr(event, "user_function", "")}


def bucket(size):
    """DTrace quantize's bucket: 0, or the largest power of two not above size."""
    return 0 if size <= 0 else 1 << (size.bit_length() - 1)


GROUPINGS = ("function", "file", "allocator", "line")


def histograms(events, by="function", user=True):
    """Power-of-two size histograms of the allocations (ALLOC and REALLOC sizes), one per
    group: by "function" (file and function), "file", "line" or "allocator". A list of dicts
    {group, count, bytes, buckets: {value: count}}, the most bytes first."""
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {', '.join(GROUPINGS)}, not {by!r}")
    groups = defaultdict(lambda: {"count": 0, "bytes": 0, "buckets": defaultdict(int)})
    for event in events:
        if event.kind not in ("ALLOC", "REALLOC"):
            continue
        file, line, function = site(event, user)
        key = {"function": (file, function), "file": (file,), "line": (file, line, function),
               "allocator": (event.allocator,)}[by]
        g = groups[key]
        g["count"] += 1
        g["bytes"] += event.size
        g["buckets"][bucket(event.size)] += 1
    names = {"function": ("file", "function"), "file": ("file",),
             "line": ("file", "line", "function"), "allocator": ("allocator",)}[by]
    rows = [{"group": dict(zip(names, key)), "count": g["count"], "bytes": g["bytes"],
             "buckets": dict(sorted(g["buckets"].items()))} for key, g in groups.items()]
    rows.sort(key=lambda r: (-r["bytes"], str(r["group"])))
    return rows


def quantize(buckets, width=40):
    """DTrace's quantize layout of {value: count}: a header and one row per bucket, from the
    bucket below the smallest to the one above the largest, zero rows included."""
    lines = ["               value  ------------- Distribution ------------- count"]
    if not buckets:
        return lines
    total = sum(buckets.values())
    values = sorted(buckets)
    low = values[0] // 2 if values[0] > 1 else 0
    high = values[-1] * 2 if values[-1] else 1
    value = low
    while True:
        n = buckets.get(value, 0)
        bar = "@" * round(width * n / total) if total else ""
        lines.append(f"{value:>20} |{bar:<{width}} {n}")
        if value >= high:
            break
        value = 1 if value == 0 else value * 2
    return lines


def leaks(events, user=True):
    """The blocks allocated and not freed by the end of the events, grouped by site: a dict with
    "sites" (dicts file, line, function, qualname, blocks, bytes, first_seq, last_seq,
    allocators; the most bytes first), "allocators" (per allocator: allocations, frees, bytes
    allocated, blocks and bytes still live), "peak_bytes" (the most bytes live at once, of the
    recorded blocks), "live_blocks", "live_bytes", and "frees_of_null" (from the tracer's
    summary mark, None when the log has none)."""
    live = {}
    per_allocator = defaultdict(lambda: {"allocations": 0, "frees": 0, "bytes_allocated": 0,
                                         "live_blocks": 0, "live_bytes": 0})
    live_bytes = peak = 0
    frees_of_null = None
    for event in events:
        kind = event.kind
        if kind == "MARK" and event.message and event.message.startswith(SUMMARY_MARK):
            frees_of_null = _summary_field(event.message, "free(NULL)", frees_of_null)
            continue
        if kind not in KINDS:
            continue
        a = per_allocator[event.allocator]
        if kind == "FREE" or kind == "REALLOC":
            old = live.pop(event.address if kind == "FREE" else event.old_address, None)
            if old is not None:
                live_bytes -= old[0]
            if kind == "FREE":
                a["frees"] += 1
                continue
        file, line, function = site(event, user)
        live[event.address] = (event.size, event.allocator, file, line, function, event.seq)
        live_bytes += event.size
        peak = max(peak, live_bytes)
        a["allocations"] += 1
        a["bytes_allocated"] += event.size
    sites = {}
    for size, allocator, file, line, function, seq in live.values():
        row = sites.get((file, line, function))
        if row is None:
            row = sites[(file, line, function)] = {
                "file": file, "line": line, "function": short_name(function),
                "qualname": function,
                "blocks": 0, "bytes": 0, "first_seq": seq, "last_seq": seq, "allocators": {}}
        row["blocks"] += 1
        row["bytes"] += size
        row["first_seq"] = min(row["first_seq"], seq)
        row["last_seq"] = max(row["last_seq"], seq)
        row["allocators"][allocator] = row["allocators"].get(allocator, 0) + size
        per_allocator[allocator]["live_blocks"] += 1
        per_allocator[allocator]["live_bytes"] += size
    rows = sorted(sites.values(), key=lambda r: (-r["bytes"], -r["blocks"], r["file"], r["line"]))
    return {"sites": rows, "allocators": dict(sorted(per_allocator.items())),
            "peak_bytes": peak, "live_blocks": len(live), "live_bytes": live_bytes,
            "frees_of_null": frees_of_null}


def short_name(qualname):
    """The last part of a qualified name: "<listcomp>" of "f.<locals>.<listcomp>"."""
    return qualname.rsplit(".", 1)[-1] if qualname else qualname


def _summary_field(message, name, default):
    for part in message[len(SUMMARY_MARK):].split(","):
        key, _, value = part.strip().rpartition(" ")
        if key == name:
            try:
                return int(value)
            except ValueError:
                return default
    return default


def totals_by_function(events, user=True):
    """{(file, function): {allocator: [count, bytes]}} of ALLOC and REALLOC events: what stats
    and top print next to RSS growth."""
    result = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for event in events:
        if event.kind in ("ALLOC", "REALLOC"):
            file, _, function = site(event, user)
            t = result[(file, function)][event.allocator]
            t[0] += 1
            t[1] += event.size
    return result
