"""hist: power-of-two size histograms of the allocations, in DTrace's quantize layout."""
import json
import os

from .. import allocations
from .common import finish, open_or_fail, output, shown


def _title(group, full_path):
    parts = []
    for key, value in group.items():
        if key == "file" and not full_path:
            value = os.path.basename(value) or "(no Python code)"
        parts.append(str(value))
    return ", ".join(parts)


def hist(args):
    with open_or_fail(args.log) as log, output(args) as out:
        rows = allocations.histograms(log, by=args.by, user=not args.all)
        if args.n:
            rows = rows[:args.n]
        if args.json:
            json.dump({"by": args.by, "groups": [
                {**row, "buckets": [{"value": v, "count": c} for v, c in row["buckets"].items()]}
                for row in rows]}, out, indent=1)
            out.write("\n")
        else:
            out.write(f"Allocation size distributions by {args.by}:\n\n")
            for row in rows:
                out.write(f"   {shown(_title(row['group'], args.full_path))}, bytes total = "
                          f"{row['bytes']}, allocations = {row['count']}\n")
                for line in allocations.quantize(row["buckets"]):
                    out.write(line + "\n")
                out.write("\n")
        out.flush()
        return finish(log)


def register(commands):
    summary = "allocation size histograms (DTrace's quantize) per function, file or allocator"
    command = commands.add_parser("hist", help=summary, description=summary + ".",
                                  epilog="example: python -m pymemtrace hist run.pmt --by allocator")
    command.add_argument("log", help="a binary or text log")
    command.add_argument("-o", "--output", metavar="OUT", help="write here, not stdout")
    command.add_argument("--by", choices=allocations.GROUPINGS, default="function",
                         help="one histogram per function (default), file, line or allocator")
    command.add_argument("--all", action="store_true",
                         help="charge to the code that ran, not to the user's code that called it")
    command.add_argument("--full-path", action="store_true", help="full file names")
    command.add_argument("-n", type=int, default=0, metavar="N", help="only the N largest groups")
    command.add_argument("--json", action="store_true", help="JSON instead of text")
    command.set_defaults(handler=hist)
