"""top: the places where RSS grew most."""
import sys
from collections import defaultdict

from .common import finish, log_command, mib, open_or_fail


def growth_by_place(log):
    """Total positive dRSS and number of triggering rows per (file, line, function)."""
    grown = defaultdict(lambda: [0, 0])
    peak = 0
    for event in log:
        if event.kind == "MARK":  # a message: no RSS in a text log, no place of its own
            continue
        peak = max(peak, event.rss)
        if event.reason == "NEXT" and event.d_rss > 0:
            place = grown[(event.file, event.line, event.function)]
            place[0] += event.d_rss
            place[1] += 1
    return grown, peak


def print_top(log, count, out=None):
    out = out or sys.stdout
    grown, peak = growth_by_place(log)
    rows = sorted(grown.items(), key=lambda kv: kv[1][0], reverse=True)[:count]
    print(f"Where RSS grew ({log.path}; peak RSS {mib(peak).strip()} MiB):", file=out)
    print(f"{'MiB':>10} {'rows':>6}  place", file=out)
    for (file, line, function), (total, times) in rows:
        print(f"{mib(total)} {times:6d}  {file}:{line} {function}", file=out)
    if not rows:
        print("   (no row with a positive dRSS)", file=out)


def top(args):
    with open_or_fail(args.log) as log:
        print_top(log, args.n)
        return finish(log)


def register(commands):
    log_command(commands, "top", top, "the places where RSS grew most", count_option=True)
