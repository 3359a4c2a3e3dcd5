"""report, plot: a one-file HTML report of a log; its RSS timeline as SVG, or as gnuplot files
(doc/reports.md)."""
import os
import shutil
import signal
import subprocess
import tempfile

from .. import report as report_module
from .common import CliError, finish, open_or_fail, private_file


def _write(path, text):
    try:
        with private_file(path) as out:
            out.write(text)
    except OSError as error:
        raise CliError(f"cannot write {path}: {error}") from None


def _png(svg, path):
    """The SVG rendered to a PNG by headless Chromium, the renderer Debian has."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise CliError("plot -o FILE.png needs Chromium to render it (Debian: chromium); "
                       "write .svg instead")
    with tempfile.TemporaryDirectory(prefix="pmt-plot-") as work:
        page = os.path.join(work, "plot.html")
        with open(page, "w", encoding="utf-8") as f:
            f.write(f'<!DOCTYPE html><html><body style="margin:0">{svg}</body></html>')
        shot = os.path.join(work, "plot.png")
        # Without what was preloaded into us (the native interposer, a sanitizer's runtime):
        # the renderer is a program of its own.
        env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
        # In a session of its own: on a timeout its helper processes go with it (a kill of
        # the browser alone leaves them running).
        browser = subprocess.Popen([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                                    f"--user-data-dir={os.path.join(work, 'profile')}",
                                    "--hide-scrollbars", f"--screenshot={shot}",
                                    "--window-size=960,320", "file://" + page],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   env=env, start_new_session=True)
        try:
            _, stderr = browser.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(browser.pid, signal.SIGKILL)
            browser.communicate()
            raise CliError("Chromium did not render the plot within 120 s") from None
        finally:
            try:  # helpers that outlive a browser that exited
                os.killpg(browser.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if browser.returncode != 0 or not os.path.exists(shot):
            raise CliError(f"Chromium could not render the plot: {stderr.strip()[-300:]}")
        try:
            shutil.copyfile(shot, path)
        except OSError as error:
            raise CliError(f"cannot write {path}: {error.strerror or error}") from None


def report(args):
    with open_or_fail(args.log) as log:
        summary = report_module.summarize(log, points=args.points)
        _write(args.output, report_module.render(log, summary, top=args.n))
        return finish(log, summary["status"])


def plot(args):
    with open_or_fail(args.log) as log:
        summary = report_module.summarize(log, points=args.points)
        name = os.path.basename(args.log)
        if args.gnuplot:
            stem = os.path.join(args.gnuplot, os.path.splitext(name)[0])
            data, script = report_module.gnuplot(summary, os.path.basename(stem))
            os.makedirs(args.gnuplot, exist_ok=True)
            _write(stem + ".dat", data)
            _write(stem + ".plt", script)
        if args.output:
            svg = summary["timeline"].svg(title=f"RSS over time: {name}")
            if args.output.endswith(".svg"):
                _write(args.output, svg + "\n")
            elif args.output.endswith(".png"):
                _png(svg, args.output)
            else:
                raise CliError("plot -o writes .svg, or .png where Chromium is installed")
        if not args.output and not args.gnuplot:
            raise CliError("plot needs -o FILE.svg and/or --gnuplot DIR")
        return finish(log, summary["status"])


def register(commands):
    summary = "a one-file HTML report: RSS timeline with marks and GC, top functions, allocations"
    command = commands.add_parser(
        "report", help=summary, description=summary + ", objects. Self-contained (no script, "
        "no network); its size is bounded whatever the log's.",
        epilog="example: python -m pymemtrace report run.pmt -o report.html")
    command.add_argument("log", help="a binary or text log")
    command.add_argument("-o", "--output", required=True, metavar="HTML", help="the report")
    command.add_argument("-n", type=int, default=report_module.TOP, metavar="N",
                         help=f"rows per table (default {report_module.TOP})")
    command.add_argument("--points", type=int, default=report_module.POINTS, metavar="N",
                         help=f"timeline buckets (default {report_module.POINTS})")
    command.set_defaults(handler=report)
    summary = "the RSS timeline as SVG, or as gnuplot files (.dat and .plt)"
    command = commands.add_parser(
        "plot", help=summary, description=summary + ", with the marks.",
        epilog="example: python -m pymemtrace plot run.pmt -o rss.svg --gnuplot plots/")
    command.add_argument("log", help="a binary or text log")
    command.add_argument("-o", "--output", metavar="FILE",
                         help="the plot: FILE.svg, or FILE.png (rendered by Chromium)")
    command.add_argument("--gnuplot", metavar="DIR",
                         help="write NAME.dat and NAME.plt there (gnuplot NAME.plt: NAME.svg)")
    command.add_argument("--points", type=int, default=report_module.POINTS, metavar="N",
                         help=f"timeline buckets (default {report_module.POINTS})")
    command.set_defaults(handler=plot)
