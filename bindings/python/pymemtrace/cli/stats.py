"""stats: events by kind, peak RSS, duration and the functions where RSS grew most."""
from collections import Counter

from .common import finish, log_command, mib, open_or_fail, place, shown


def stats(args):
    with open_or_fail(args.log) as log:
        kinds = Counter()
        growth = Counter()  # place -> total positive dRSS
        triggers = Counter()  # place -> NEXT events
        count, peak, first_time, last_time, last_seq = 0, 0, None, None, -1
        for event in log:
            count += 1
            kinds[event.kind] += 1
            first_time = event.time_ns if first_time is None else first_time
            last_time, last_seq = event.time_ns, event.seq
            if event.kind == "MARK":
                continue
            peak = max(peak, event.rss)
            # The first event's dRSS is the whole RSS at start, not growth.
            if event.reason != "FRST" and event.d_rss > 0:
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
        return finish(log)


def register(commands):
    log_command(commands, "stats", stats, "events by kind, peak RSS, duration and the functions "
                "where RSS grew most", count_option=True)
