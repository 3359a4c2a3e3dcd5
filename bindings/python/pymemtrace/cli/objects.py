"""objects: object lifetimes per type (CPython 3.13+ logs of Objects or objects=...): types by
live count at the end, their growth between two marks, and where the live ones were made."""
import json
import os

from .. import objects as object_report
from .common import CliError, finish, open_or_fail, output, shown


def objects(args):
    with open_or_fail(args.log) as log, output(args) as out:
        try:
            report = object_report.summary(log, args.since, args.until)
        except ValueError as error:
            raise CliError(str(error)) from None
        n = args.n or None
        if args.json:
            json.dump({**report, "types": report["types"][:n], "growth": report["growth"][:n],
                       "sites": report["sites"][:n]}, out, indent=1)
            out.write("\n")
            out.flush()
            return finish(log)
        if not report["labels"]:
            out.write("No object counts in this log (trace with pymemtrace.Objects, "
                      "objects=True or run --objects, on CPython 3.13+).\n")
            out.flush()
            return finish(log)
        out.write("Objects by type at the end (made and destroyed while traced; live = made - "
                  "destroyed):\n")
        out.write(f"{'live':>10} {'made':>10} {'destroyed':>10}  type\n")
        for row in report["types"][:n]:
            out.write(f"{row['live']:>10} {row['created']:>10} {row['destroyed']:>10}  "
                      f"{shown(row['type'])}\n")
        out.write(f"\nGrowth from {report['from']!r} to {report['to']!r} (marks: "
                  f"{', '.join(repr(label) for label in report['labels'])}):\n")
        out.write(f"{'growth':>10} {'live then':>10} {'live now':>10}  type\n")
        for row in [r for r in report["growth"] if r["growth"]][:n]:
            out.write(f"{row['growth']:>+10} {row['live_before']:>10} {row['live_after']:>10}  "
                      f"{shown(row['type'])}\n")
        if report["sites"]:
            out.write("\nLive objects by the code that made them:\n")
            out.write(f"{'live':>10} {'first seq':>10}  site\n")
            for row in report["sites"][:n]:
                file = row["file"] if args.full_path else os.path.basename(row["file"])
                where = f"{file}:{row['line']} {row['function']}" if file else "(no Python code)"
                out.write(f"{row['live']:>10} {row['first_seq']:>10}  {shown(row['type'])} at "
                          f"{shown(where)}\n")
        out.flush()
        return finish(log)


def register(commands):
    summary = "objects per type: live counts, growth between two marks, where live ones were made"
    command = commands.add_parser(
        "objects", help=summary,
        description=summary + " (logs of pymemtrace.Objects, Profile(objects=True) or run "
        "--objects; CPython 3.13+). The counts are written at every mark and at the end.",
        epilog="example: python -m pymemtrace objects run.pmt --since 'warm' --until 'done' -n 20")
    command.add_argument("log", help="a binary or text log")
    command.add_argument("-o", "--output", metavar="OUT", help="write here, not stdout")
    command.add_argument("--since", metavar="MARK",
                         help="growth from the counts at this mark (its text, or part of it; "
                              "'start': nothing made yet, the default)")
    command.add_argument("--until", metavar="MARK",
                         help="growth to the counts at this mark ('end', the default: the last)")
    command.add_argument("--full-path", action="store_true", help="full file names")
    command.add_argument("-n", type=int, default=0, metavar="N", help="only the first N rows")
    command.add_argument("--json", action="store_true", help="JSON instead of text")
    command.set_defaults(handler=objects)
