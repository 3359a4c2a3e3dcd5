#!/usr/bin/env bash
# Runs bench.py with the built abi3 module under every CPython >= 3.10 found.
#   bench/run.sh [build-dir] [bench.py options]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
shift || true
pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
for python in /usr/bin/python3 "$pyenv_root"/versions/3.*/bin/python3; do
  [ -x "$python" ] || continue
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null || continue
  echo "== $python"
  PYTHONPATH="$build/python:$top/bench" "$python" "$top/bench/bench.py" "$@"
done
