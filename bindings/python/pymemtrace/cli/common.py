"""What every command of the command line shares: errors, opening logs, output files, the exit
status of a log read to its end or not, and number formats."""
import argparse
import contextlib
import os
import sys

from ..logs import open_log

EXIT_BROKEN_PIPE = 128 + 13


class CliError(Exception):
    """A problem of the user's (a missing file, a file that is not a log): a message for stderr
    and exit status 2, never a traceback."""


def open_or_fail(path):
    try:
        return open_log(path)
    except OSError as error:
        raise CliError(f"cannot read {path}: {error.strerror or error}") from None
    except ValueError as error:  # not a log: the message names the file
        raise CliError(str(error)) from None


@contextlib.contextmanager
def output(args, mode="w"):
    """stdout, or the file -o names (created or replaced; never the log being read)."""
    path = args.output
    if path is None:
        yield sys.stdout
        return
    if os.path.exists(path) and os.path.samefile(path, args.log):
        raise CliError(f"{path} is the log itself: choose another output")
    with private_file(path, mode) as file:
        yield file


def private_file(path, mode="w"):
    """An output file of ours: created 0600 whatever the umask (a log's names are the program's
    business), replaced if it is a file, refused if it is a symbolic link (one planted at the name
    would have us write through it) or a directory."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as error:
        if os.path.islink(path):
            raise CliError(f"cannot write {path}: it is a symbolic link; name the file "
                           "itself") from None
        raise CliError(f"cannot write {path}: {error.strerror or error}") from None
    return os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8", "newline": ""}))


# C0 and C1 control characters and DEL: what a log's author could use to move, retitle or clear
# the terminal of whoever reads the log.
_CONTROLS = {c: f"\\x{c:02x}" for c in list(range(0x20)) + list(range(0x7F, 0xA0))}


def shown(text):
    """text from a log as printed in a table: control characters as \\xNN."""
    return text.translate(_CONTROLS) if isinstance(text, str) else text


def finish(log, status=None):
    """0 if the log was read to its end; else a warning on stderr and 1."""
    state, offset, reason = status or log.status()
    if state == "complete":
        return 0
    sys.stdout.flush()  # what was readable first, then the warning
    print(f"pymemtrace: warning: {log.path} is {state}: reading stopped at byte {offset} "
          f"({reason}); the events before it were used", file=sys.stderr)
    return 1


def mib(n):
    return f"{n / (1 << 20):10.2f}"


def place(event):
    return f"{event.file}:{event.function}"


def count(text):
    """An argparse type: an int >= 0."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, not {value}")
    return value


def log_command(commands, name, handler, summary, output=False, count_option=False):
    """A command that reads one log: LOG, and -o OUT and/or -n N when asked."""
    extra = []
    if output:
        extra.append("-o OUT")
    if count_option:
        extra.append("-n 20")
    example = " ".join(["python -m pymemtrace", name, "run.pmt"] + extra)
    command = commands.add_parser(name, help=summary, description=summary,
                                  epilog=f"example: {example}")
    command.add_argument("log", help="a binary or text log")
    if output:
        command.add_argument("-o", "--output", metavar="OUT", help="write here, not stdout")
    if count_option:
        command.add_argument("-n", type=count, default=10, metavar="N",
                             help="how many places (default 10)")
    command.set_defaults(handler=handler)
    return command
