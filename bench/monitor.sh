#!/usr/bin/env bash
# What an RSS monitor attached to a tracer costs the traced thread (doc/monitor.md): instructions
# per event (callgrind, bench/instructions.py) and side-by-side time ratios of Profile(-1) binary
# without a monitor, with one attached that takes no sample while measuring (the hot path's
# check alone), and with one sampling every 10 ms (its samples written too; callgrind counts the
# monitor thread's instructions as well), under each CPython given.
#   bench/monitor.sh [BUILD] [PYTHON...]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
shift || true
pythons=("$@")
if [ ${#pythons[@]} -eq 0 ]; then
  pythons=(/usr/bin/python3 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13.*/bin/python3)
fi
cmake --build "$build" -j2 --target _pymemtrace _pmt_floor >/dev/null
modes="hook only,Profile(-1) bin,Profile(-1) bin +monitor idle,Profile(-1) bin +monitor 10ms"
for python in "${pythons[@]}"; do
  [ -x "$python" ] || continue
  echo "== $python"
  PYTHONPATH="$build/python:$top/bench" "$python" "$top/bench/instructions.py" \
    --python "$python" --workload dense --modes "$modes" --pairs 5
done
