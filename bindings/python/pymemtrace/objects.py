"""Object lifetimes from any log's events (Objects, or Profile(objects=...): doc/objects.md).

    from pymemtrace import objects, open_log
    with open_log("run.pmt") as log:
        report = objects.summary(log)

The tracer writes each counted type's counts (OBJ_CNT: made, destroyed, live) after every mark
and before the last row; with object_events=True also an OBJ_NEW / OBJ_DEL row per object.
"""


def snapshots(events):
    """The counts the log holds, in order: [(label, {type: (created, destroyed, live)})], where
    label is the text of the mark the counts follow, or "end" for those written at stop.
    Also returns the per-site table of live objects when the log has OBJ_NEW / OBJ_DEL rows:
    {(file, line, function, type): [objects, first seq]} of the objects made and not destroyed.
    """
    taken, current, label = [], None, "start"
    live = {}  # address -> (site, seq) of an object made while traced and not yet destroyed
    sites = {}
    for event in events:
        kind = event.kind
        if kind == "MARK":
            if current is not None:
                taken.append((label, current))
                current = None
            label = event.message or ""
        elif kind == "STOP":
            if current is not None:
                taken.append((label, current))
                current = None
            label = "end"
        elif kind == "OBJ_CNT":
            if current is None:
                current = {}
                if label == "start":  # counts before the stop row: the run's end
                    label = "end"
            current[event.type_name] = (event.type_created, event.type_destroyed,
                                        event.type_live)
        elif kind == "OBJ_NEW":
            site = (event.file, event.line, event.function, event.type_name)
            live[event.address] = (site, event.seq)
            entry = sites.setdefault(site, [0, event.seq])
            entry[0] += 1
        elif kind == "OBJ_DEL":
            made = live.pop(event.address, None)
            if made is not None:
                sites[made[0]][0] -= 1
    if current is not None:
        taken.append(("end" if label == "start" else label, current))
    return taken, {site: entry for site, entry in sites.items() if entry[0] > 0}


def summary(events, start=None, end=None):
    """The object report: the counts at the end (the last counts in the log), the growth
    between two labels (start, end: mark texts, or substrings of them; "start" for nothing
    made yet, "end" for the last counts; by default the whole run), and the live objects by the
    site that made them (object_events logs)."""
    taken, sites = snapshots(events)
    if not taken:
        return {"types": [], "growth": [], "sites": [], "labels": [], "from": None, "to": None}
    labels = [label for label, _ in taken]

    def find(wanted, default):
        if wanted is None:
            return default
        if wanted == "start":
            return ("start", {})
        for label, counts in taken:
            if label == wanted:
                return label, counts
        for label, counts in taken:
            if wanted in label:
                return label, counts
        raise ValueError(f"no counts after a mark matching {wanted!r} (marks: "
                         f"{', '.join(repr(label) for label in labels)})")

    last_label, last = taken[-1]
    first_label, first = find(start, ("start", {}))
    second_label, second = find(end, (last_label, last))
    types = sorted(({"type": name, "created": c, "destroyed": d, "live": live}
                    for name, (c, d, live) in last.items()),
                   key=lambda row: (-row["live"], row["type"]))
    growth = []
    for name in set(first) | set(second):
        before = first.get(name, (0, 0, 0))
        after = second.get(name, (0, 0, 0))
        growth.append({"type": name, "live_before": before[2], "live_after": after[2],
                       "growth": after[2] - before[2], "created": after[0] - before[0],
                       "destroyed": after[1] - before[1]})
    growth.sort(key=lambda row: (-row["growth"], row["type"]))
    by_site = sorted(({"file": file, "line": line, "function": function, "type": type_name,
                       "live": entry[0], "first_seq": entry[1]}
                      for (file, line, function, type_name), entry in sites.items()),
                     key=lambda row: (-row["live"], row["first_seq"]))
    return {"types": types, "growth": growth, "sites": by_site, "labels": labels,
            "from": first_label, "to": second_label}
