#!/usr/bin/env bash
# Fuzzes the binary log reader for a long time (CI fuzzes it for a minute):
#   scripts/fuzz.sh HOURS [build-dir]
# Builds the libFuzzer target with clang (ASan+UBSan), runs it from tests/fuzz/corpus for HOURS
# (fractions allowed: 0.5) on every core but one, keeps new inputs in BUILD/tests/fuzz/long-work
# and any crash in BUILD/tests/fuzz/long-crashes. Exit status: 0 when nothing was found.
# To keep what it learned: merge long-work into tests/fuzz/corpus (tests/fuzz/CMakeLists.txt).
set -euo pipefail
hours=${1:?usage: scripts/fuzz.sh HOURS [build-dir]}
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${2:-$top/build-fuzz}
CC=clang cmake -S "$top" -B "$build" -DPMT_BUILD_FUZZERS=ON >/dev/null
cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" --target fuzz_reader >/dev/null
seconds=$(python3 -c "print(max(1, int(float('$hours') * 3600)))")
jobs=$(( $(nproc 2>/dev/null || echo 2) > 1 ? $(nproc) - 1 : 1 ))
work="$build/tests/fuzz/long-work"
crashes="$build/tests/fuzz/long-crashes"
mkdir -p "$work" "$crashes"
echo "fuzz.sh: fuzzing the reader for $seconds s with $jobs jobs (inputs: $work)"
"$build/tests/fuzz/fuzz_reader" -max_total_time="$seconds" -jobs="$jobs" -workers="$jobs" \
  -artifact_prefix="$crashes/" -print_final_stats=1 "$work" "$top/tests/fuzz/corpus"
if ls "$crashes"/* >/dev/null 2>&1; then
  echo "fuzz.sh: crashes found in $crashes" >&2
  exit 1
fi
echo "fuzz.sh: nothing found"
