#!/usr/bin/env bash
# Installing with pip, offline (doc/installing.md): `pip wheel .` from the source tree with Debian's
# pip and no index gives one cp310-abi3 wheel whose name, metadata, tags, contents and RECORD
# hashes are checked; the wheel installs into a fresh venv of every CPython >= 3.10 here and passes
# a smoke test there (import, a Profile, an allocation, `python -m pymemtrace` and the
# `pymemtrace` command); and `pip install .` builds and installs in a fresh venv.
#   check_wheel.sh SOURCE_DIR WORK_DIR
set -euo pipefail
src=$(cd "$1" && pwd)
work=$2
rm -rf "$work"
mkdir -p "$work/dist"
note() { echo "check_wheel: $*"; }
die() {
    echo "check_wheel: FAIL: $*" >&2
    exit 1
}

# The interpreters: Debian's python3 and pyenv's CPython >= 3.10.
pythons=(/usr/bin/python3)
root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
for p in "$root"/versions/3.*/bin/python3; do
    [ -x "$p" ] || continue
    "$p" -c 'import sys; sys.exit(sys.version_info < (3, 10))' && pythons+=("$p")
done

version=$(sed -n 's/^project(pymemtrace VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
/usr/bin/python3 -m pip wheel "$src" --no-deps --no-index -w "$work/dist" >"$work/wheel.out" 2>&1 ||
    { cat "$work/wheel.out" >&2; die "pip wheel failed"; }
wheel=("$work"/dist/*.whl)
[ ${#wheel[@]} -eq 1 ] || die "expected one wheel, found ${#wheel[@]}"
name=$(basename "${wheel[0]}")
case "$name" in
"pymemtrace-$version-cp310-abi3-linux_$(uname -m).whl") note "built $name" ;;
*) die "the wheel is named $name, not pymemtrace-$version-cp310-abi3-linux_$(uname -m).whl" ;;
esac

/usr/bin/python3 - "${wheel[0]}" "$version" <<'PY' || die "the wheel's contents"
import base64, hashlib, sys, zipfile
path, version = sys.argv[1:]
whl = zipfile.ZipFile(path)
names = set(whl.namelist())
info = f"pymemtrace-{version}.dist-info"
need = {"pymemtrace/__init__.py", "pymemtrace/_pymemtrace.abi3.so",
        "pymemtrace/libpymemtrace_native.so", "pymemtrace/cli/__init__.py",
        "pymemtrace/cli/leaks.py", "pymemtrace/testing.py", "pymemtrace/_follow/sitecustomize.py",
        "pymemtrace/pytest_plugin.py",
        f"{info}/METADATA", f"{info}/WHEEL", f"{info}/RECORD", f"{info}/entry_points.txt"}
missing = need - names
assert not missing, f"missing {sorted(missing)}"
assert not [n for n in names if n.endswith(".pyc") or "tests/" in n], "stray files"
meta = whl.read(f"{info}/METADATA").decode()
for line in ("Name: pymemtrace", f"Version: {version}", "Requires-Python: >=3.10"):
    assert line in meta.splitlines(), line
wheel = whl.read(f"{info}/WHEEL").decode().splitlines()
assert "Root-Is-Purelib: false" in wheel and any(l.startswith("Tag: cp310-abi3-") for l in wheel), wheel
records = {}
for line in whl.read(f"{info}/RECORD").decode().splitlines():
    file, digest, size = line.rsplit(",", 2)
    records[file] = (digest, size)
assert set(records) == names, "RECORD does not list exactly the files"
entry_points = whl.read(f"{info}/entry_points.txt").decode()
assert "pymemtrace = pymemtrace.cli:main" in entry_points, entry_points
assert "[pytest11]" in entry_points and "pymemtrace = pymemtrace.pytest_plugin" in entry_points
for file, (digest, size) in records.items():
    if file.endswith("RECORD"):
        continue
    data = whl.read(file)
    want = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    assert digest == want and int(size) == len(data), f"{file}: RECORD's hash or size"
print(f"check_wheel: {len(names)} files, METADATA, WHEEL and RECORD agree")
PY

smoke='
import os, sys, tempfile, pymemtrace
from pymemtrace import testing
assert os.path.dirname(pymemtrace.__file__).startswith(sys.prefix), pymemtrace.__file__
def grow():
    return [0] * 100000
with tempfile.TemporaryDirectory() as d:
    with pymemtrace.Profile(0, filepath=os.path.join(d, "p.log")) as p:
        x = grow()
    with pymemtrace.Allocations(filepath=os.path.join(d, "a.pmt")) as a:
        block = testing.PyMalloc(4321)
    assert p.events_written > 2 and a.allocation_stats["seen"] > 0
print("smoke:", sys.version.split()[0], pymemtrace.__version__)
'
for python in "${pythons[@]}"; do
    venv="$work/venv-$(basename "$(dirname "$(dirname "$python")")")-$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    "$python" -m venv "$venv" || die "$python cannot make a venv"
    "$venv/bin/pip" install -q --no-index "${wheel[0]}" || die "$python: pip install the wheel"
    (cd "$work" && "$venv/bin/python" -c "$smoke") || die "$python: smoke test of the wheel"
    (cd "$work" && "$venv/bin/python" -m pymemtrace --help >/dev/null) || die "$python: -m pymemtrace"
    "$venv/bin/pymemtrace" leaks --help >/dev/null || die "$python: the pymemtrace command"
done

venv="$work/venv-source"
/usr/bin/python3 -m venv "$venv"
"$venv/bin/pip" install -q --no-index "$src" >"$work/install.out" 2>&1 ||
    { cat "$work/install.out" >&2; die "pip install . failed"; }
(cd "$work" && "$venv/bin/python" -c "$smoke") || die "smoke test after pip install ."
note "passed: the wheel in ${#pythons[@]} interpreters, and pip install ."
rm -rf "$work"
