"""tree: the call tree of the user's code with total and own growth, or collapsed stacks, from
the call aggregation a binary log holds."""
import sys

from .. import callstats
from .common import CliError, finish, log_command, mib, open_or_fail
from .common import shown as text


def print_tree(nodes, out=None, max_depth=None, limit=None):
    """(depth, node, total, own) rows as an indented tree: total MiB, own MiB, the function."""
    out = out or sys.stdout
    print("Call tree of the user's code (total MiB, own MiB):", file=out)
    shown = 0
    for depth, node, total, own in nodes:
        if max_depth is not None and depth > max_depth:
            continue
        print(f"{mib(total)} {mib(own)}  {'  ' * depth}{text(node.function)} "
              f"({text(node.file)}:{node.line})", file=out)
        shown += 1
        if limit and shown >= limit:
            break


def tree(args):
    with open_or_fail(args.log) as log:
        allocating = None
        if args.collapsed and args.weight == "allocated":  # the events first: then the summary
            allocating = [e for e in log if e.kind in ("ALLOC", "REALLOC")]
        rows = log.call_stats()
        if not rows and not (args.collapsed and args.weight == "allocated"):
            raise CliError(f"{args.log} holds no call aggregation (a text log, or a writer "
                           "that did not stop): write a binary log (run --binary)")
        if args.collapsed and args.weight == "allocated":
            lines = callstats.collapsed_allocations(allocating, rows, user=not args.all)
            if not lines:
                raise CliError(f"{args.log} holds no allocation (trace them: run --allocations, "
                               "with --call-paths for whole stacks)")
            for line in lines:
                print(line)
        elif args.collapsed:
            for line in callstats.collapsed(rows, user=not args.all):
                print(line)
        else:
            print_tree(callstats.tree(rows, user=not args.all), max_depth=args.depth)
        return finish(log)


def register(commands):
    command = log_command(commands, "tree", tree, "the call tree of the user's code with total "
                          "and own growth, from a binary log's call aggregation")
    command.add_argument("--depth", type=int, metavar="N", help="down to depth N only")
    command.add_argument("--all", action="store_true",
                         help="every function, library code included")
    command.add_argument("--collapsed", action="store_true",
                         help="collapsed stacks weighted by own growth in bytes, one per line "
                              "(flamegraph.pl's input)")
    command.add_argument("--weight", choices=("growth", "allocated"), default="growth",
                         help="with --collapsed: growth (own RSS growth, default) or allocated "
                              "(bytes the log's ALLOC/REALLOC events allocated, by their call "
                              "paths when the log has them: run --allocations --call-paths)")
