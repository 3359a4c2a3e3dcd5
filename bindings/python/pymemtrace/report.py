"""A one-file HTML report of a log, and its RSS timeline as SVG (doc/reports.md).

The report is self-contained (inline CSS and SVG; no script, no network): the run's header, the
RSS timeline with the marks and collections, the functions where RSS grew (in the user's terms
when the log has the call aggregation), allocations by function and their size histogram when
the log has them, object counts when it has them. Its size is bounded whatever the log's: the
timeline keeps at most `points` time buckets, each drawn with its lowest and highest RSS (so a
spike survives the downsampling), and the tables their first rows.
"""
import html
import os
from collections import Counter, defaultdict

from . import callstats

POINTS = 2000  # timeline buckets: ~2 x 2000 points whatever the log's length
TOP = 25


def _mib(n):
    return n / (1 << 20)


class Timeline:
    """RSS over time in at most `points` buckets of equal duration (min and max RSS in each),
    kept while reading: buckets merge pairwise when the run outgrows them."""

    def __init__(self, points=POINTS):
        self.points = points
        self.origin = None
        self.width = 1000  # ns per bucket; doubles as needed
        self.buckets = {}  # index -> [min, max, first seq]
        self.marks = []  # (time_ns, text)
        self.gcs = []  # (time_ns, generation, duration_ns)
        self.end = 0

    def add(self, time_ns, rss, seq):
        if self.origin is None:
            self.origin = time_ns
        t = time_ns - self.origin
        t = max(t, 0)
        self.end = max(self.end, t)
        while t // self.width >= self.points:
            merged = {}
            for index, (low, high, first) in self.buckets.items():
                b = merged.setdefault(index // 2, [low, high, first])
                b[0], b[1], b[2] = min(b[0], low), max(b[1], high), min(b[2], first)
            self.buckets, self.width = merged, self.width * 2
        b = self.buckets.get(t // self.width)
        if b is None:
            self.buckets[t // self.width] = [rss, rss, seq]
        else:
            b[0], b[1] = min(b[0], rss), max(b[1], rss)

    def rel(self, time_ns):
        return time_ns - (self.origin or time_ns)

    def svg(self, width=960, height=320, title="RSS over time"):
        """The timeline as an SVG element (a string)."""
        pad_l, pad_r, pad_t, pad_b = 64, 16, 24, 36
        w, h = width - pad_l - pad_r, height - pad_t - pad_b
        if not self.buckets:
            return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">'
                    f'<text x="20" y="40">no RSS in this log</text></svg>')
        lows = [b[0] for b in self.buckets.values()]
        highs = [b[1] for b in self.buckets.values()]
        y_min, y_max = min(lows), max(highs)
        if y_max == y_min:
            y_max = y_min + 1
        span = max(self.end, 1)

        def x(t):
            return pad_l + w * t / span

        def y(v):
            return pad_t + h - h * (v - y_min) / (y_max - y_min)

        points = []
        for index in sorted(self.buckets):
            low, high, _ = self.buckets[index]
            t = index * self.width
            points.append(f"{x(t):.1f},{y(low):.1f}")
            if high != low:
                points.append(f"{x(t):.1f},{y(high):.1f}")
        parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{width}" '
                 f'height="{height}" viewBox="0 0 {width} {height}" role="img">',
                 f"<title>{html.escape(title)}</title>",
                 f'<rect x="{pad_l}" y="{pad_t}" width="{w}" height="{h}" fill="#fafafa" '
                 f'stroke="#ccc"/>']
        for i in range(5):  # the RSS axis
            v = y_min + (y_max - y_min) * i / 4
            parts.append(f'<text x="{pad_l - 6}" y="{y(v) + 4:.1f}" text-anchor="end" '
                         f'font-size="11">{_mib(v):.1f}</text>')
            parts.append(f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
                         f'stroke="#eee"/>')
        parts.append(f'<text x="12" y="{pad_t + h / 2:.0f}" font-size="11" '
                     f'transform="rotate(-90 12 {pad_t + h / 2:.0f})" text-anchor="middle">'
                     f'RSS (MiB)</text>')
        for i in range(5):  # the time axis
            t = span * i / 4
            parts.append(f'<text x="{x(t):.1f}" y="{pad_t + h + 16}" text-anchor="middle" '
                         f'font-size="11">{t / 1e9:.3g} s</text>')
        for t, generation, duration in self.gcs:
            parts.append(f'<line class="gc" x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{pad_t + h}" '
                         f'y2="{pad_t + h - 8}" stroke="#2a7"><title>gc generation {generation}, '
                         f'{duration / 1e6:.3f} ms</title></line>')
        for t, text in self.marks:
            parts.append(f'<line class="mark" x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{pad_t}" '
                         f'y2="{pad_t + h}" stroke="#c33" stroke-dasharray="4 3">'
                         f'<title>{html.escape(text)}</title></line>')
            parts.append(f'<text x="{x(t) + 3:.1f}" y="{pad_t + 12}" font-size="11" '
                         f'fill="#c33">{html.escape(text[:40])}</text>')
        parts.append(f'<polyline class="rss" fill="none" stroke="#246" stroke-width="1.5" '
                     f'points="{" ".join(points)}"/>')
        parts.append("</svg>")
        return "".join(parts)


def _where(file, function):
    return f"{os.path.basename(file or '')}:{function}" if function else "?"


def summarize(log, points=POINTS, in_c=True):
    """One pass over a log: what the report shows. A binary log is read by the C pass
    (LogReader.summarize: no Python object per event); in_c=False, and text logs, in Python."""
    if in_c and getattr(log, "format", None) == "binary":
        return _summarize_in_c(log, points)
    timeline = Timeline(points)
    growth = Counter()  # function -> positive dRSS (the event's own place)
    allocated = Counter()  # function -> bytes allocated
    sizes = Counter()  # power of two -> allocations
    kinds = Counter()
    objects = {}
    monitor = {}  # the last sample of a monitor, and the highest peak RSS the samples saw
    for event in log:
        kinds[event.kind] += 1
        if event.kind == "SAMPLE":  # at the time it was taken: between the events, not at one
            sample = event.sample
            timeline.add(sample.time_ns, event.rss, event.seq)
            monitor = {"last": event, "peak": max(monitor.get("peak", 0), sample.peak_rss),
                       "count": monitor.get("count", 0) + 1}
            continue
        if event.rss is not None:
            timeline.add(event.time_ns, event.rss, event.seq)
        where = _where(event.file, event.function)
        if event.kind == "MARK":
            timeline.marks.append((timeline.rel(event.time_ns), event.message or ""))
        elif event.kind == "GC_DONE":
            timeline.gcs.append((timeline.rel(event.time_ns), event.gc_generation,
                                 event.gc_duration_ns))
        elif event.kind in ("ALLOC", "REALLOC"):
            allocated[where] += event.size
            sizes[1 << max(event.size - 1, 0).bit_length() if event.size else 0] += 1
        elif event.kind == "OBJ_CNT":
            objects[event.type_name] = (event.type_created, event.type_destroyed,
                                        event.type_live)
        if event.reason not in ("FRST", "MSG") and event.d_rss and event.d_rss > 0:
            growth[where] += event.d_rss
    users = []
    rows = log.call_stats()
    if rows:
        users = callstats.table(rows, user=True)
    return {"timeline": timeline, "growth": growth, "allocated": allocated, "sizes": sizes,
            "kinds": kinds, "objects": objects, "users": users, "monitor": monitor,
            "status": log.status()}


def _summarize_in_c(log, points):
    c = log._reader.summarize(points)
    timeline = Timeline(points)
    timeline.origin, timeline.width, timeline.end = c["origin"], c["width"], c["end"]
    timeline.buckets = {index: [low, high, first] for index, low, high, first in c["buckets"]}
    if not timeline.buckets:
        timeline.origin = None
    timeline.marks = [(timeline.rel(t), text) for t, text in c["marks"]]
    timeline.gcs = [(timeline.rel(t), generation, duration) for t, generation, duration in c["gcs"]]
    growth, allocated = Counter(), Counter()
    for file, function, n in c["growth"]:
        growth[_where(file, function)] += n
    for file, function, n in c["allocated"]:
        allocated[_where(file, function)] += n
    monitor = ({"last": c["last_sample"], "peak": c["sample_peak"], "count": c["samples"]}
               if c["samples"] else {})
    rows = log.call_stats()
    return {"timeline": timeline, "growth": growth, "allocated": allocated,
            "sizes": Counter(c["sizes"]), "kinds": Counter(c["kinds"]), "objects": c["objects"],
            "users": callstats.table(rows, user=True) if rows else [], "monitor": monitor,
            "status": log.status()}


_CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1000px; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; } td, th { padding: 2px 10px; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr:nth-child(even) { background: #f4f6f8; } .warn { color: #a40; }
.bar { fill: #468; }
"""


def _table(headers, rows, numeric=()):
    out = ["<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in headers) + "</tr>"]
    for row in rows:
        out.append("<tr>" + "".join(
            f'<td class="n">{html.escape(str(v))}</td>' if i in numeric
            else f"<td>{html.escape(str(v))}</td>" for i, v in enumerate(row)) + "</tr>")
    out.append("</table>")
    return "".join(out)


def _histogram_svg(sizes):
    bars = sorted(sizes.items())
    if not bars:
        return ""
    most = max(n for _, n in bars)
    width, bar_h = 560, 16
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="histogram" width="{width + 200}" '
             f'height="{bar_h * len(bars) + 8}">']
    for i, (size, n) in enumerate(bars):
        y = 4 + i * bar_h
        label = f"<= {size} B" if size else "0 B"
        parts.append(f'<text x="0" y="{y + 12}" font-size="11">{label}</text>')
        parts.append(f'<rect class="bar" x="110" y="{y + 2}" width="{width * n / most:.1f}" '
                     f'height="{bar_h - 4}"><title>{n} allocations</title></rect>')
        parts.append(f'<text x="{114 + width * n / most:.1f}" y="{y + 12}" font-size="11">'
                     f'{n}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render(log, summary, top=TOP):
    """The report as one HTML string."""
    name = os.path.basename(log.path)
    header = dict(log.header)
    s = summary
    out = ["<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
           f"<title>pymemtrace report: {html.escape(name)}</title>",
           f"<style>{_CSS}</style></head><body>",
           f"<h1>pymemtrace report: {html.escape(name)}</h1>"]
    state, offset, reason = s["status"]
    if state != "complete":
        out.append(f'<p class="warn">The log is {html.escape(state)}: reading stopped at byte '
                   f'{offset} ({html.escape(reason)}); the report shows what was readable.</p>')
    timeline = s["timeline"]
    peak = max((b[1] for b in timeline.buckets.values()), default=0)
    out.append(f'<p class="summary">{sum(s["kinds"].values())} events over '
               f'{timeline.end / 1e9:.3f} s; peak RSS {_mib(peak):.2f} MiB; '
               f'{html.escape(str(header.get("runtime") or ""))}</p>')
    out.append("<h2>RSS over time</h2>")
    monitor = s.get("monitor")
    sampled = (f" The monitor's {monitor['count']} samples fill the time between events."
               if monitor else "")
    out.append("<p>Dashed red lines: marks; green ticks: garbage collections. Each point is the "
               f"lowest and highest RSS of a time bucket.{sampled}</p>")
    out.append(s["timeline"].svg(title=f"RSS over time: {name}"))
    if s["users"]:
        out.append("<h2>Where RSS grew, by the user's functions</h2>")
        out.append(_table(("total MiB", "own MiB", "calls", "function", "place"),
                          [(f"{_mib(r['total']):.2f}", f"{_mib(r['own']):.2f}", r["calls"],
                            r["function"], f"{os.path.basename(r['file'])}:{r['line']}")
                           for r in s["users"][:top]], numeric=(0, 1, 2)))
    out.append("<h2>Where RSS grew, by the events' own functions</h2>")
    out.append(_table(("MiB", "function"), [(f"{_mib(n):.2f}", where)
                                            for where, n in s["growth"].most_common(top)],
                      numeric=(0,)))
    if s["allocated"]:
        out.append("<h2>Bytes allocated, by function</h2>")
        out.append(_table(("MiB", "function"), [(f"{_mib(n):.2f}", where)
                                                for where, n in s["allocated"].most_common(top)],
                          numeric=(0,)))
        out.append("<h2>Allocation sizes</h2>" + _histogram_svg(s["sizes"]))
    if s["objects"]:
        out.append("<h2>Objects by type at the end</h2>")
        rows = sorted(s["objects"].items(), key=lambda item: -item[1][2])[:top]
        out.append(_table(("live", "made", "destroyed", "type"),
                          [(live, c, d, t) for t, (c, d, live) in rows], numeric=(0, 1, 2)))
    if monitor:
        last = monitor["last"].sample
        cgroup = "no limit" if last.cgroup_max is None else f"{_mib(last.cgroup_max):.1f} MiB"
        out.append("<h2>The monitor's last sample</h2>")
        out.append(_table(("", ""), [
            ("samples", monitor["count"]),
            ("peak RSS", f"{_mib(monitor['peak']):.2f} MiB"),
            ("RSS: anonymous / file / shared", f"{_mib(last.rss_anon):.2f} / "
             f"{_mib(last.rss_file):.2f} / {_mib(last.rss_shmem):.2f} MiB"),
            ("page faults: minor / major", f"{last.minor_faults} / {last.major_faults}"),
            ("CPU: user / system", f"{last.user_cpu_ns / 1e9:.3f} / "
             f"{last.system_cpu_ns / 1e9:.3f} s"),
            ("cgroup memory", f"{_mib(last.cgroup_current):.1f} MiB of {cgroup}")]))
    facts = [(k, v) for k, v in header.items() if v not in (None, "")]
    facts.append(("events read", sum(s["kinds"].values())))
    facts.append(("events by kind", ", ".join(f"{k} {n}" for k, n in s["kinds"].most_common())))
    out.append("<h2>The run</h2>" + _table(("", ""), facts))
    out.append("<p><small>Made by pymemtrace from a log; self-contained, no script.</small></p>")
    out.append("</body></html>")
    return "".join(out)


def gnuplot(summary, name):
    """(rss.dat, rss.plt) texts: RSS in MiB over seconds, and a script that plots it with the
    marks as labelled lines (as pymemtrace's process.py wrote them for gnuplot)."""
    timeline = summary["timeline"]
    data = ["# seconds  rss_mib_min  rss_mib_max"]
    for index in sorted(timeline.buckets):
        low, high, _ = timeline.buckets[index]
        data.append(f"{index * timeline.width / 1e9:.6f} {_mib(low):.3f} {_mib(high):.3f}")
    script = ["set terminal svg size 960,480", f'set output "{name}.svg"',
              f'set title "RSS over time: {name}"', 'set xlabel "seconds"',
              'set ylabel "RSS (MiB)"', "set grid"]
    for i, (t, text) in enumerate(timeline.marks, 1):
        label = text.replace('"', "'")[:40]
        script.append(f'set arrow {i} from {t / 1e9:.6f}, graph 0 to {t / 1e9:.6f}, graph 1 '
                      f'nohead dashtype 2 lc rgb "#cc3333"')
        script.append(f'set label {i} "{label}" at {t / 1e9:.6f}, graph 0.95 tc rgb "#cc3333"')
    script.append(f'plot "{name}.dat" using 1:3 with lines title "RSS (max)", '
                  f'"" using 1:2 with lines title "RSS (min)"')
    return "\n".join(data) + "\n", "\n".join(script) + "\n"
