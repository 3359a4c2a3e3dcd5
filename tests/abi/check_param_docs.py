#!/usr/bin/env python3
"""tracer.h's prose agrees with the library's parameter table: every pmt_param's documentation
ends with "Default: D. Bounds: [L, H].", and D, L and H are what pmt_param_default() and
pmt_param_bounds() of the built library return.

    check_param_docs.py INCLUDE_DIR LIBRARY
Values may be numbers, INT32_MAX/INT64_MAX, 10^N, 2^NAME - 1 and #NAMEs of the public headers'
enum values and event-mask macros.
"""
import ctypes
import os
import re
import sys

LIMITS = {"INT32_MAX": 2**31 - 1, "INT64_MAX": 2**63 - 1}


def header_names(include_dir):
    """Enum values and PMT_EV_* macros of the public headers, evaluated."""
    names = dict(LIMITS)
    text = ""
    for name in sorted(os.listdir(include_dir)):
        if name.endswith(".h"):
            text += open(os.path.join(include_dir, name), encoding="utf-8").read() + "\n"
    for name, value in re.findall(r"\b(PMT_[A-Z0-9_]+)\s*=\s*(-?\d+)\s*[,}\n/]", text):
        names[name] = int(value)
    macros = {}
    for name, body in re.findall(r"#define\s+(PMT_EV_MASK_[A-Z]+)\s+((?:[^\n]*\\\n)*[^\n]*)", text):
        macros[name] = body.replace("\\\n", " ")

    def evaluate(expr):
        for _ in range(5):  # masks made of masks
            expr = re.sub(r"\bPMT_EV_MASK_[A-Z]+\b", lambda m: f"({macros[m.group(0)]})", expr)
        expr = re.sub(r"PMT_EV_BIT\((\w+)\)", r"(1 << \1)", expr)
        expr = re.sub(r"UINT64_C\((\w+)\)", r"\1", expr)
        expr = re.sub(r"\bPMT_[A-Z0-9_]+\b", lambda m: str(names[m.group(0)]), expr)
        return eval(expr, {"__builtins__": {}})  # only numbers and operators are left

    for name, body in macros.items():
        names[name] = evaluate(body)
    return names


def value_of(text, names):
    text = text.strip().lstrip("#")
    m = re.fullmatch(r"(\d+)\^(\w+)(\s*-\s*1)?", text)
    if m:
        base, exponent = int(m.group(1)), m.group(2)
        power = base ** (int(exponent) if exponent.isdigit() else names[exponent])
        return power - 1 if m.group(3) else power
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return names[text]


def documented_params(tracer_h):
    """{PMT_PARAM_X: (value, doc)} of the pmt_param enum."""
    text = open(tracer_h, encoding="utf-8").read()
    body = text[text.index("typedef enum pmt_param {"):text.index("} pmt_param;")]
    return re.findall(r"/\*\*(.*?)\*/\s*(PMT_PARAM_\w+)\s*=\s*(\d+)", body, re.S)


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    include_dir, library = argv[1], argv[2]
    lib = ctypes.CDLL(library)
    names = header_names(include_dir)
    errors, checked = [], 0
    for doc, name, number in documented_params(os.path.join(include_dir, "tracer.h")):
        prose = " ".join(line.strip().lstrip("*").strip() for line in doc.splitlines())
        m = re.search(r"Default: (.+?)\. Bounds: \[(.+?), (.+?)\]\.\s*$", prose)
        if not m:
            errors.append(f"{name}: its documentation does not end with "
                          f"'Default: D. Bounds: [L, H].'")
            continue
        want = tuple(value_of(t, names) for t in m.groups())
        default, lo, hi = ctypes.c_int64(), ctypes.c_int64(), ctypes.c_int64()
        rc1 = lib.pmt_param_default(int(number), ctypes.byref(default))
        rc2 = lib.pmt_param_bounds(int(number), ctypes.byref(lo), ctypes.byref(hi))
        got = (default.value, lo.value, hi.value)
        if rc1 or rc2 or got != want:
            errors.append(f"{name}: tracer.h says default {want[0]}, bounds [{want[1]}, "
                          f"{want[2]}]; the library says {got} (rc {rc1}, {rc2})")
        checked += 1
    for e in errors:
        print("check_param_docs: " + e)
    print(f"check_param_docs: {checked} parameters checked, {len(errors)} disagree")
    return 1 if errors or not checked else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
