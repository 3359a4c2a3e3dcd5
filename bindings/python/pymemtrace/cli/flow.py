"""flow: every allocation and free with the Python file:line -> function that made it, as
DTrace's py_flow_malloc_free.d printed them."""
import json

from .. import allocations
from .common import finish, open_or_fail, output, shown


def flow(args):
    with open_or_fail(args.log) as log, output(args) as out:
        pid = log.header.get("process_id") or 0
        if args.json:
            for record in allocations.flow_records(log, pid):
                out.write(json.dumps(record) + "\n")
        else:
            for line in allocations.flow(log, pid, call_stack=args.call_stack,
                                         full_path=args.full_path):
                out.write(shown(line) + "\n")
        out.flush()
        return finish(log)


def register(commands):
    summary = "each allocation and free with the Python code that made it"
    command = commands.add_parser(
        "flow", help=summary, description=summary + " (a log written with allocations: "
        "`run --allocations`, Allocations(), Profile(allocations=True)).",
        epilog="example: python -m pymemtrace flow run.pmt --call-stack | less")
    command.add_argument("log", help="a binary or text log")
    command.add_argument("-o", "--output", metavar="OUT", help="write here, not stdout")
    command.add_argument("--call-stack", action="store_true",
                         help="also the CALL and RETURN events the log holds (-> / <-)")
    command.add_argument("--full-path", action="store_true", help="full file names")
    command.add_argument("--json", action="store_true", help="one JSON object per line")
    command.set_defaults(handler=flow)
