#!/usr/bin/env python3
"""The USDT probes agree everywhere they are named: the built library's stapsdt notes (readelf),
the DTrace provider definition (src/platform/usdt/pymemtrace_provider.d), doc/probes.md, and
the toolkit's bpftrace and D scripts (each probe they attach exists, each argN they read is one
the probe has; bpftrace 0.17 reads at most six on x86_64).

    check_probes.py READELF LIBRARY SOURCE_DIR
"""
import glob
import os
import re
import subprocess
import sys


def notes(readelf, library):
    """{probe: argument count} of provider pymemtrace in the library's notes."""
    text = subprocess.run([readelf, "-n", library], capture_output=True, text=True,
                          check=True).stdout
    found = {}
    for provider, name, arguments in re.findall(
            r"Provider: (\S+)\s+Name: (\S+)\s+Location: [^\n]*\n\s+Arguments:([^\n]*)", text):
        if provider == "pymemtrace":
            found[name] = len(arguments.split())
    return found


def provider(path):
    """{probe: argument count} of the DTrace provider definition."""
    text = re.sub(r"/\*.*?\*/", "", open(path).read(), flags=re.S)
    found = {}
    for name, arguments in re.findall(r"probe\s+(\w+)\s*\(([^)]*)\)\s*;", text):
        found[name] = len([a for a in arguments.split(",") if a.strip()])
    return found


def documented(path):
    """{probe: argument count} of doc/probes.md's table rows: | `name` | `arg0, arg1` |."""
    found = {}
    for name, arguments in re.findall(r"^\| `(\w+)` \| ([^|]*) \|", open(path).read(), re.M):
        found[name] = len(re.findall(r"`arg\d+`", arguments))
    return found


def script_uses(path):
    """[(probe, highest argN read)] per probe clause of a toolkit script."""
    text = open(path).read()
    uses = []
    clauses = re.split(r"(?m)^(usdt::pymemtrace:\w+|pymemtrace\$target:::\w+)\s*$", text)
    for head, body in zip(clauses[1::2], clauses[2::2]):
        probe = re.split(r"[:]", head)[-1]
        body = re.split(r"(?m)^(?:END|dtrace:::END|BEGIN|dtrace:::BEGIN)\s*$", body)[0]
        args = [int(n) for n in re.findall(r"\barg(\d+)\b", body)]
        uses.append((probe, max(args) if args else -1))
    return uses


def main():
    readelf, library, source = sys.argv[1:4]
    problems = []
    built = notes(readelf, library)
    if not built:
        print(f"{library} has no pymemtrace probes (built without sys/sdt.h): nothing to check")
        return 77
    defined = provider(os.path.join(source, "src/platform/usdt/pymemtrace_provider.d"))
    docs = documented(os.path.join(source, "doc/probes.md"))
    for what, table in (("the provider definition", defined), ("doc/probes.md", docs)):
        if table != built:
            problems.append(f"{what} {sorted(table.items())} differs from the library's notes "
                            f"{sorted(built.items())}")
    for name, count in built.items():
        if count > 6:
            problems.append(f"probe {name} has {count} arguments: bpftrace 0.17 reads 6")
    scripts = sorted(glob.glob(os.path.join(source, "toolkit", "*.bt")) +
                     glob.glob(os.path.join(source, "toolkit", "dtrace", "*.d")))
    if len(scripts) < 10:
        problems.append(f"expected the 5 bpftrace and 5 D scripts, found {scripts}")
    for path in scripts:
        head = open(path).read(2000)
        if "Run" not in head and "sudo dtrace" not in head:
            problems.append(f"{path}: its header does not say how to run it")
        for probe, highest in script_uses(path):
            if probe not in built:
                problems.append(f"{path}: probe {probe} does not exist")
            elif highest >= built[probe]:
                problems.append(f"{path}: {probe} has {built[probe]} arguments, reads arg{highest}")
    for problem in problems:
        print("check_probes:", problem)
    print(f"check_probes: {len(built)} probes, {len(scripts)} scripts, "
          f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
