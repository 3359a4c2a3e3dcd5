#!/usr/bin/env bash
# What the USDT probes cost (doc/probes.md):
#  1. nobody listening: instructions per event (callgrind, bench/instructions.py) of the same
#     modes with the library built with its probes (BUILD) and without them (PMT_USDT=OFF, built
#     here into BUILD-noprobes), under each CPython given; the difference is the probes' cost;
#  2. bpftrace attached and counting every event (bench/probes_attached.py; needs root).
#   bench/probes.sh [BUILD] [PYTHON...]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
shift || true
pythons=("$@")
if [ ${#pythons[@]} -eq 0 ]; then
  pythons=(/usr/bin/python3 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13.*/bin/python3)
fi
off=$build-noprobes
cmake -S "$top" -B "$off" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPMT_USDT=OFF \
  -DPMT_BUILD_TESTS=OFF >/dev/null
cmake --build "$off" -j2 --target _pymemtrace _pmt_floor >/dev/null
modes="hook only,Profile(-1) bin,Profile(0) bin"
for python in "${pythons[@]}"; do
  [ -x "$python" ] || continue
  for variant in "$build" "$off"; do
    echo "== $python, $(basename "$variant"): probes $(PYTHONPATH=$variant/python "$python" -c \
      'import pymemtrace; print(pymemtrace.probes_available())')"
    PYTHONPATH="$variant/python:$top/bench" "$python" "$top/bench/instructions.py" \
      --python "$python" --workload dense --modes "$modes" --pairs 3
  done
  if [ "$(id -u)" -eq 0 ] && command -v bpftrace >/dev/null; then
    echo "== $python: bpftrace attached"
    PYTHONPATH="$build/python" "$python" "$top/bench/probes_attached.py" --python "$python"
  fi
done
