#!/usr/bin/env bash
# Runs bench.py with the built abi3 module under every CPython >= 3.10 found, then the C
# microbenchmarks: the sinks (pmt_sink_cost) on a synthesized event stream and on the binary log
# of a real Profile(0) run of the workload (kept by the first bench.py run), and each filter
# stage (pmt_filter_cost).
#   bench/run.sh [build-dir] [bench.py options]
# As root, it then runs bench.py once more as the unprivileged user "nobody" (Debian's python3),
# to show which RSS tier an ordinary process gets.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
shift || true
pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
logs=$(mktemp -d "${TMPDIR:-/tmp}/pmt-bench.XXXXXX")
trap 'rm -rf "$logs"' EXIT
keep=(--keep-logs "$logs")
for python in /usr/bin/python3 "$pyenv_root"/versions/3.*/bin/python3; do
  [ -x "$python" ] || continue
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null || continue
  echo "== $python"
  PYTHONPATH="$build/python:$top/bench" "$python" "$top/bench/bench.py" "${keep[@]}" "$@"
  keep=()
done

if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1 && command -v runuser >/dev/null; then
  echo "== /usr/bin/python3 as nobody (unprivileged)"
  runuser -u nobody -- env PYTHONPATH="$build/python:$top/bench" TMPDIR=/tmp \
    /usr/bin/python3 "$top/bench/bench.py" "$@" || echo "(the unprivileged run failed)"
fi

sink_cost=$build/bench/pmt_sink_cost
if [ ! -x "$sink_cost" ]; then
  echo "== $sink_cost is not built (PMT_BUILD_BENCH=ON, then cmake --build $build)" >&2
  exit 1
fi
status=0
echo "== pmt_sink_cost: synthesized stream"
"$sink_cost" || status=$?
if [ -f "$logs/profile0-none.pmt" ]; then
  echo "== pmt_sink_cost: the workload's Profile(0) events"
  "$sink_cost" "$logs/profile0-none.pmt" || status=$?
fi
filter_cost=$build/bench/pmt_filter_cost
if [ -x "$filter_cost" ]; then
  echo "== pmt_filter_cost: each filter stage's cost per event"
  "$filter_cost" || status=$?
fi
exit "$status"
