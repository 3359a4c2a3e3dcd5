#!/usr/bin/env bash
# The main job: set up, build, trace an example program and show where its RSS grew.
#   scripts/demo.sh [script.py [args...]]     (default: examples/grow.py)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/setup-deps.sh" --build  # what building needs: the tests' tools are not
cmake -S "$top" -B "$top/build-demo" -DPMT_BUILD_TESTS=OFF >/dev/null
cmake --build "$top/build-demo" -j"$(nproc)" >/dev/null
python=/usr/bin/python3            # Debian's; the module is abi3, any CPython >= 3.10 works
logdir=$(mktemp -d)
script=${1:-$top/examples/grow.py}
shift || true
PYTHONPATH="$top/build-demo/python" "$python" -m pymemtrace run -o "$logdir/grow.log" "$script" "$@"
echo
echo "The log's rows for $(basename "$script") (NEXT: RSS moved by a page or more; PREV: the event before):"
grep -E '^(NEXT|PREV):' "$logdir/grow.log" | grep -F "$script" | head -n 12 | cut -c1-220
