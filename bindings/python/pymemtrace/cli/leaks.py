"""leaks: the blocks still allocated when tracing stopped, by site: leak candidates."""
import json
import os

from .. import allocations
from .common import finish, open_or_fail, output, shown


def leaks(args):
    with open_or_fail(args.log) as log, output(args) as out:
        report = allocations.leaks(log, user=not args.all)
        sites = report["sites"][:args.n] if args.n else report["sites"]
        if args.json:
            json.dump({**report, "sites": sites}, out, indent=1)
            out.write("\n")
        else:
            out.write(f"Blocks still allocated at the end: {report['live_blocks']} "
                      f"({report['live_bytes']} bytes); peak {report['peak_bytes']} bytes "
                      "outstanding\n")
            out.write(f"{'bytes':>12} {'blocks':>8} {'first seq':>10} {'last seq':>10}  site\n")
            for row in sites:
                file = row["file"] if args.full_path else os.path.basename(row["file"])
                where = f"{file}:{row['line']} {row['qualname']}" if file else "(no Python code)"
                out.write(f"{row['bytes']:>12} {row['blocks']:>8} {row['first_seq']:>10} "
                          f"{row['last_seq']:>10}  {shown(where)}\n")
            out.write("\nBy allocator:\n")
            out.write(f"{'allocator':<10} {'allocations':>12} {'frees':>10} "
                      f"{'bytes allocated':>16} {'live blocks':>12} {'live bytes':>12}\n")
            for name, a in report["allocators"].items():
                out.write(f"{name:<10} {a['allocations']:>12} {a['frees']:>10} "
                          f"{a['bytes_allocated']:>16} {a['live_blocks']:>12} "
                          f"{a['live_bytes']:>12}\n")
            nulls = report["frees_of_null"]
            out.write(f"free(NULL) calls: {'not recorded' if nulls is None else nulls}\n")
        out.flush()
        return finish(log)


def register(commands):
    summary = "blocks allocated and never freed, grouped by the code that made them"
    command = commands.add_parser(
        "leaks", help=summary, description=summary + ": leak candidates (a block the program "
        "keeps on purpose is one too; compare two runs, or two marks).",
        epilog="example: python -m pymemtrace leaks run.pmt -n 20 --json")
    command.add_argument("log", help="a binary or text log")
    command.add_argument("-o", "--output", metavar="OUT", help="write here, not stdout")
    command.add_argument("--all", action="store_true",
                         help="charge to the code that ran, not to the user's code that called it")
    command.add_argument("--full-path", action="store_true", help="full file names")
    command.add_argument("-n", type=int, default=0, metavar="N", help="only the N largest sites")
    command.add_argument("--json", action="store_true", help="JSON instead of text")
    command.set_defaults(handler=leaks)
