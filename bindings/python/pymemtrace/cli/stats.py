"""stats: events by kind, peak RSS, duration and the functions where RSS grew most."""
from collections import Counter

from .common import finish, log_command, mib, open_or_fail, place, shown

_ALLOCATING = ("ALLOC", "REALLOC")


def _size(n):
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.1f} {unit}"
    return f"{n} B"


def _count(n):
    return f"{n / 1e6:.1f} M" if n >= 10**6 else f"{n / 1e3:.0f} k" if n >= 10**4 else str(n)


def _allocation_summary(per_allocator):
    """ "200 k OBJ of 64 B-512 B, 4.0 MiB RAW": counts, size ranges and bytes per allocator."""
    parts = []
    for allocator, (n, total, low, high) in sorted(per_allocator.items(),
                                                   key=lambda kv: -kv[1][1]):
        span = _size(low) if low == high else f"{_size(low)}-{_size(high)}"
        parts.append(f"{_count(n)} {allocator} of {span} ({_size(total)})")
    return ", ".join(parts)


def stats(args):
    with open_or_fail(args.log) as log:
        kinds = Counter()
        growth = Counter()  # place -> total positive dRSS
        triggers = Counter()  # place -> NEXT events
        count, peak, first_time, last_time, last_seq = 0, 0, None, None, -1
        allocated = Counter()  # place -> bytes allocated (ALLOC, REALLOC)
        collections = Counter()  # generation -> GC_DONE events
        gc_ns = 0
        gc_returned = 0  # RSS given back by collections: start RSS - end RSS, when it fell
        gc_start_rss = None
        by_allocator = {}  # place -> allocator -> [count, bytes, smallest, largest]
        type_counts = {}  # type name -> (created, destroyed, live) at the last OBJ_CNT rows
        for event in log:
            count += 1
            kinds[event.kind] += 1
            first_time = event.time_ns if first_time is None else first_time
            last_time, last_seq = event.time_ns, event.seq
            if event.kind == "MARK":
                continue
            if event.kind == "OBJ_CNT":
                type_counts[event.type_name] = (event.type_created, event.type_destroyed,
                                                event.type_live)
            if event.kind == "GC_START":
                gc_start_rss = event.rss
            elif event.kind == "GC_DONE":
                collections[event.gc_generation] += 1
                gc_ns += event.gc_duration_ns or 0
                if gc_start_rss is not None and event.rss is not None:
                    gc_returned += max(gc_start_rss - event.rss, 0)
                gc_start_rss = None
            if event.kind in _ALLOCATING:
                where = place(event)
                allocated[where] += event.size
                row = by_allocator.setdefault(where, {}).setdefault(
                    event.allocator, [0, 0, event.size, event.size])
                row[0] += 1
                row[1] += event.size
                row[2] = min(row[2], event.size)
                row[3] = max(row[3], event.size)
            peak = max(peak, event.rss)
            # The first event's dRSS is the whole RSS at start, not growth.
            if event.reason not in ("FRST", "SMPL") and event.d_rss > 0:  # samples: no place
                growth[place(event)] += event.d_rss
            if event.reason == "NEXT":
                triggers[place(event)] += 1
        header = log.header
        if "events_seen" in header:
            seen, written, source = header["events_seen"], header["events_written"], "summary"
        else:  # no summary (a text log, or a killed writer): numbers count every event seen
            seen, written, source = last_seq + 1, count, "counted"
        print(f"log        {log.path} ({log.format})")
        print(f"events     {written} written of {seen} seen ({source})")
        for kind, n in kinds.most_common():
            print(f"  {kind:<10} {n}")
        print(f"peak RSS   {mib(peak).strip()} MiB ({peak} bytes)")
        duration = (last_time - first_time) / 1e9 if count else 0.0
        print(f"duration   {duration:.6f} s")
        print(f"top {args.n} functions by growth (sum of positive dRSS):")
        print(f"{'MiB':>10}  function")
        for where, total in growth.most_common(args.n):
            print(f"{mib(total)}  {shown(where)}")
        print(f"top {args.n} functions by triggering (NEXT) events:")
        print(f"{'events':>10}  function")
        for where, n in triggers.most_common(args.n):
            print(f"{n:10d}  {shown(where)}")
        if collections:
            per = ", ".join(f"generation {g}: {n}" for g, n in sorted(collections.items()))
            print(f"collections {sum(collections.values())} ({per}), {gc_ns / 1e6:.3f} ms in "
                  f"all, RSS given back {mib(gc_returned).strip()} MiB")
        if type_counts:
            made = sum(c for c, _, _ in type_counts.values())
            destroyed = sum(d for _, d, _ in type_counts.values())
            print(f"objects    {made} made, {destroyed} destroyed, net {made - destroyed:+d}, "
                  f"of {len(type_counts)} types; most live at the end:")
            top = sorted(type_counts.items(), key=lambda item: (-item[1][2], item[0]))
            for name, (_, _, live) in top[:args.n]:
                print(f"{live:10d}  {shown(name)}")
        if allocated:
            print(f"top {args.n} functions by bytes allocated (RSS growth beside them):")
            print(f"{'MiB alloc':>10} {'RSS MiB':>10}  function: allocations")
            for where, total in allocated.most_common(args.n):
                print(f"{mib(total)} {mib(growth[where])}  {shown(where)}: "
                      f"{_allocation_summary(by_allocator[where])}")
        return finish(log)


def register(commands):
    log_command(commands, "stats", stats, "events by kind, peak RSS, duration and the functions "
                "where RSS grew most", count_option=True)
