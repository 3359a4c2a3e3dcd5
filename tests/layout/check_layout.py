#!/usr/bin/env python3
"""The source tree's shape, as ARCHITECTURE.md states it:

- every #include of a project header is written from src/ ("core/pipeline.h"), never with ../;
- folders depend one way only: common <- platform <- core <- log, cpython (see LAYERS): the core
  never uses a log format, the platform never uses the core;
- no include cycle among files, and no call cycle among them (from the objects' symbols: file A
  calls file B when A's object needs a symbol B's object defines);
- no folder holds more than 30% of the library's lines.

    check_layout.py SRC_DIR OBJECT_DIR   (OBJECT_DIR: the build tree's src/, searched for *.o)
Exit status 0 when all hold, 1 with every violation printed otherwise.
"""
import os
import re
import subprocess
import sys

# What each folder may use besides itself.
LAYERS = {
    "common": set(),
    "platform": {"common"},
    "core": {"common", "platform"},
    "log": {"common", "platform", "core"},
    "cpython": {"common", "platform", "core"},
    # The native-allocation interposer: a library of its own, public headers only.
    "native": set(),
}
MAX_SHARE = 0.30
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def sources(src):
    for root, _, names in os.walk(src):
        for name in sorted(names):
            if name.endswith((".c", ".h")):
                yield os.path.relpath(os.path.join(root, name), src)


def layer(path):
    return path.split(os.sep)[0]


def find_cycle(graph):
    """One cycle of the directed graph as a list of nodes, or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def check_includes(src, files, errors):
    graph = {}
    for f in files:
        text = open(os.path.join(src, f), encoding="utf-8").read()
        for inc in INCLUDE.findall(text):
            if "/" not in inc:
                continue  # a header beside a test or a system-style name: not a project path
            if ".." in inc.split("/"):
                errors.append(f"{f}: includes {inc} with ../ (write it from src/)")
                continue
            if not os.path.exists(os.path.join(src, inc)):
                errors.append(f"{f}: includes {inc}, which is not under src/")
                continue
            graph.setdefault(f, set()).add(inc)
            a, b = layer(f), layer(inc)
            if a != b and b not in LAYERS.get(a, set()):
                errors.append(f"{f}: {a}/ may not include {inc} ({b}/)")
    cycle = find_cycle(graph)
    if cycle:
        errors.append("include cycle: " + " -> ".join(cycle))
    return graph


def symbols(obj):
    out = subprocess.run(["nm", "--defined-only", "-g", obj], capture_output=True, text=True,
                         check=True).stdout
    defined = {line.split()[-1] for line in out.splitlines() if line.strip()}
    out = subprocess.run(["nm", "-u", obj], capture_output=True, text=True, check=True).stdout
    needed = {line.split()[-1] for line in out.splitlines() if line.strip()}
    return defined, needed


def check_calls(src, objdir, errors):
    objects = {}
    for root, _, names in os.walk(objdir):
        for name in names:
            if name.endswith(".c.o") and "pmt_" in root:
                # .../pmt_core.dir/core/pipeline.c.o -> core/pipeline.c
                rel = os.path.join(root, name)[: -len(".o")]
                part = rel.split(".dir" + os.sep, 1)
                if len(part) == 2 and os.path.exists(os.path.join(src, part[1])):
                    objects[part[1]] = os.path.join(root, name)
    if not objects:
        errors.append(f"no object files of the library under {objdir}")
        return
    defined_in, needs = {}, {}
    for f, obj in objects.items():
        defined, needed = symbols(obj)
        for sym in defined:
            defined_in[sym] = f
        needs[f] = needed
    graph = {f: {defined_in[s] for s in needed if s in defined_in and defined_in[s] != f}
             for f, needed in needs.items()}
    for f, callees in graph.items():
        for g in callees:
            a, b = layer(f), layer(g)
            if a != b and b not in LAYERS.get(a, set()):
                errors.append(f"{f} calls into {g}: {a}/ may not use {b}/")
    cycle = find_cycle(graph)
    if cycle:
        errors.append("call cycle: " + " -> ".join(cycle))
    print(f"check_layout: {len(objects)} objects, "
          f"{sum(len(v) for v in graph.values())} calls between files")


def check_sizes(src, files, errors):
    lines = {}
    for f in files:
        with open(os.path.join(src, f), encoding="utf-8") as fh:
            lines[f] = sum(1 for _ in fh)
    total = sum(lines.values())
    folders = {}
    for f, n in lines.items():
        folders[os.path.dirname(f)] = folders.get(os.path.dirname(f), 0) + n
    for folder, n in sorted(folders.items()):
        share = n / total
        print(f"check_layout: {folder or '.':22} {n:6} lines {share:6.1%}")
        if share > MAX_SHARE:
            errors.append(f"{folder}/ holds {share:.1%} of the library's {total} lines "
                          f"(at most {MAX_SHARE:.0%})")


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    src, objdir = argv[1], argv[2]
    files = list(sources(src))
    errors = []
    for f in files:
        if layer(f) not in LAYERS and os.sep in f:
            errors.append(f"{f}: folder {layer(f)}/ is not in the layer table")
    check_includes(src, files, errors)
    check_calls(src, objdir, errors)
    check_sizes(src, files, errors)
    for e in errors:
        print("check_layout: " + e)
    print(f"check_layout: {len(files)} files, {len(errors)} violations")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
