#!/usr/bin/env bash
# The hot path's bench, one command: builds what it needs, then bench/instructions.py under every
# CPython >= 3.10 found (Debian's python3 and the pyenv builds), on the dense and the sparse
# workload, and writes the tables to bench/results/instructions-<date>.md as well as stdout.
#   scripts/bench.sh [build-dir] [instructions.py options, e.g. --pairs 15]
# Needs valgrind (instructions per event); a shared, noisy VM moves the ratios +-20% run to run,
# the instruction counts by a few per event.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$top/build}
shift || true
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$top" -B "$build" -DPMT_BUILD_PYTHON=ON -DPMT_BUILD_BENCH=ON >/dev/null
fi
cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" --target _pymemtrace _pmt_floor >/dev/null
command -v valgrind >/dev/null || { echo "bench.sh: valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
pythons=()
for python in /usr/bin/python3 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.*/bin/python3; do
  [ -x "$python" ] || continue
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null || continue
  pythons+=(--python "$python")
done
mkdir -p "$top/bench/results"
out="$top/bench/results/instructions-$(date -u +%Y-%m-%d).md"
{
  echo "# bench/instructions.py, $(date -u +%Y-%m-%dT%H:%MZ), $(git -C "$top" rev-parse --short HEAD)"
  echo
  echo "Machine: $(nproc) CPUs, $(uname -r). Ratios: median [quartiles] of ABBA pairs (noisy);"
  echo "instructions per hook event: callgrind over one iteration (stable). Floor: a C callable"
  echo "that only counts, for the same events. Gap: what the library adds above it."
  echo
} >"$out.tmp"
PYTHONPATH="$build/python" python3 "$top/bench/instructions.py" "${pythons[@]}" \
  --markdown "$out.body" "$@"
cat "$out.body" >>"$out.tmp"
rm -f "$out.body"
mv "$out.tmp" "$out"
echo "bench.sh: wrote $out"
