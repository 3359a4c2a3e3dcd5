"""RSS growth per function in the user's terms, from a tracer's call aggregation.

The tracer keeps one node per call path (a function reached through a chain of callers) with the
calls that returned, their total growth (RSS at return minus RSS at entry) and their own growth
(total minus the callees' totals). This module turns those nodes into the tables people read:

- per function (or per file, or per function and line): total, own, calls, largest call, peak;
  a recursive function's total counts its outermost calls only, so nothing is counted twice;
- in the user's terms (user=True): the own growth of code that is not the user's (the standard
  library, installed packages, generated code) is charged to the nearest caller that is, so the
  row to change is the user's function that called into json, csv or a dataclass's __init__.

Rows are dicts with file, line, function, qualname, user, total, own, calls, largest, peak_rss.
"""
from dataclasses import dataclass, field

USER_CODE = 1


@dataclass
class Node:
    """One call path, as pmt_call_stats gives it."""
    node: int
    parent: int
    flags: int
    file: str
    function: str
    line: int
    calls: int
    total: int
    own: int
    largest: int
    peak_rss: int
    children: list = field(default_factory=list, repr=False)

    @property
    def user(self):
        return bool(self.flags & USER_CODE)


def nodes_of(rows):
    """Nodes by id from call_stats() tuples (node, parent, flags, file, function, line, calls,
    total, own, largest, peak_rss), children linked."""
    nodes = {row[0]: Node(*row) for row in rows}
    for n in nodes.values():
        if n.parent in nodes:
            nodes[n.parent].children.append(n)
    return nodes


def _ancestors(nodes, n):
    while n.parent in nodes:
        n = nodes[n.parent]
        yield n


def charged_to(nodes, n):
    """The node whose row n's own growth belongs to in the user's terms: n if it is the user's
    code, else its nearest caller that is; n itself when no caller is (all of it library code)."""
    if n.user:
        return n
    return next((a for a in _ancestors(nodes, n) if a.user), n)


def _key(n, by):
    """A row's identity: a function is its file, first line and name (so is "line": the
    aggregation knows a function's first line; the rows of a log know each event's), a file
    its name."""
    if by == "file":
        return (n.file, 0, "")
    return (n.file, n.line, n.function)


def table(rows, by="function", user=False):
    """Rows per function (by="function"), per file or per function and line, sorted by own then
    total growth, largest first. With user=True the own growth of code that is not the user's is
    charged to its nearest user caller."""
    nodes = nodes_of(rows)
    out = {}

    def row_for(n):
        key = _key(n, by)
        if key not in out:
            out[key] = {"file": n.file, "line": key[1], "function": key[2],
                        "qualname": key[2], "user": n.user, "total": 0, "own": 0, "calls": 0,
                        "largest": 0, "peak_rss": 0}
        return out[key]

    for n in nodes.values():
        row = row_for(n)
        # A recursive call's total is inside its outer call's: count the outermost only.
        if not any(_key(a, by) == _key(n, by) for a in _ancestors(nodes, n)):
            row["total"] += n.total
        row["calls"] += n.calls
        row["largest"] = max(row["largest"], n.largest)
        row["peak_rss"] = max(row["peak_rss"], n.peak_rss)
        owner = charged_to(nodes, n) if user else n
        row_for(owner)["own"] += n.own
    result = [r for r in out.values() if r["calls"] or r["own"]]
    # Largest own growth first; on a tie the user's code before the rest.
    result.sort(key=lambda r: (r["own"], r["total"], user and r["user"]), reverse=True)
    return result


def tree(rows, user=True):
    """The call tree as (depth, node, total, own) in depth-first order. With user=True only the
    user's code is shown: a library node's own growth goes to its user caller, and its user
    callees hang below that caller."""
    nodes = nodes_of(rows)
    shown_own = {}
    for n in nodes.values():
        owner = charged_to(nodes, n) if user else n
        shown_own[owner.node] = shown_own.get(owner.node, 0) + n.own

    def visible_children(n):
        for c in n.children:
            if not user or c.user:
                yield c
            else:
                yield from visible_children(c)

    roots = [n for n in nodes.values() if n.parent not in nodes]
    out = []

    def walk(n, depth):
        out.append((depth, n, n.total, shown_own.get(n.node, 0)))
        for c in sorted(visible_children(n), key=lambda c: c.total, reverse=True):
            walk(c, depth + 1)

    for root in sorted(roots, key=lambda n: n.total, reverse=True):
        if not user or root.user:
            walk(root, 0)
        else:
            for c in visible_children(root):
                walk(c, 0)
            if shown_own.get(root.node):
                out.append((0, root, root.total, shown_own[root.node]))
    return out


def _frame(function, file, line):
    return f"{function} ({file}:{line})"


def collapsed(rows, user=True, weight="own"):
    """Collapsed stacks (flamegraph.pl's input): "root;caller;callee value" per path, the value
    the path's own growth in bytes (positive only), user frames only when user=True."""
    nodes = nodes_of(rows)
    out = {}
    for n in nodes.values():
        owner = charged_to(nodes, n) if user else n
        value = n.own if weight == "own" else n.total
        if value <= 0:
            continue
        path = [owner] + [a for a in _ancestors(nodes, owner) if not user or a.user]
        stack = ";".join(_frame(a.function, a.file, a.line) for a in reversed(path))
        out[stack] = out.get(stack, 0) + value
    return [f"{stack} {value}" for stack, value in sorted(out.items())]


_ALLOCATING = ("ALLOC", "REALLOC")


def collapsed_allocations(events, rows, user=True):
    """Collapsed stacks weighted by the bytes allocated (flamegraph.pl's input): "a;b;c BYTES"
    per call path, from a log's ALLOC and REALLOC events (a realloc counts what it grew by).
    An event with a call path (run --call-paths, calls="paths") is charged to that path, user
    frames only when user=True (library code's allocations go to its nearest user caller); one
    without is charged to its user site as a one-frame stack (its own place when it has none)."""
    nodes = nodes_of(rows) if rows else {}
    out = {}
    for e in events:
        if e.kind not in _ALLOCATING:
            continue
        size = e.size if e.kind == "ALLOC" else max(e.size - e.old_size, 0)
        if size <= 0:
            continue
        node = nodes.get(e.call_node or 0)
        if node is not None:
            owner = charged_to(nodes, node) if user else node
            path = [owner] + [a for a in _ancestors(nodes, owner) if not user or a.user]
            stack = ";".join(_frame(a.function, a.file, a.line) for a in reversed(path))
        elif e.user_function and e.user_file:
            stack = _frame(e.user_function, e.user_file, e.user_line)
        else:
            stack = _frame(e.function or "?", e.file or "?", e.line or 0)
        out[stack] = out.get(stack, 0) + size
    return [f"{stack} {value}" for stack, value in sorted(out.items())]

