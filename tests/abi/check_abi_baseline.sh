#!/bin/sh
# The ABI gate (doc/abi-policy.md): libpymemtrace's ABI against the committed baseline. Passes when
# the only differences are additions (new functions, new enumerators, structs grown at their end),
# or when the SONAME's major changed (an incompatible release, on purpose). Fails on anything
# else, printing abidiff's report. Exit 77 (skipped, with the reason) without libabigail.
#   check_abi_baseline.sh BASELINE LIBRARY SUPPRESSIONS HEADERS_DIR...
set -u
baseline=$1 library=$2 suppressions=$3
shift 3
if ! command -v abidw >/dev/null || ! command -v abidiff >/dev/null; then
    echo "check_abi_baseline: SKIP: abidw/abidiff not found (Debian: abigail-tools," \
        "installed by scripts/setup-deps.sh)"
    exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
headers=""
for dir in "$@"; do headers="$headers --headers-dir $dir"; done
# shellcheck disable=SC2086 # one word per option and directory
abidw --no-corpus-path $headers --drop-private-types --out-file "$work/current.abi" "$library" ||
    { echo "check_abi_baseline: FAIL: abidw could not read $library"; exit 1; }
soname_of() { sed -n "s/.*soname='\([^']*\)'.*/\1/p" "$1" | head -1; }
old=$(soname_of "$baseline") new=$(soname_of "$work/current.abi")
if [ "$old" != "$new" ]; then
    echo "check_abi_baseline: OK: SONAME $old -> $new: an incompatible release; update the" \
        "baseline (doc/abi-policy.md)"
    exit 0
fi
abidiff --suppressions "$suppressions" "$baseline" "$work/current.abi" >"$work/report.txt"
rc=$?
if [ $((rc & 3)) -ne 0 ]; then
    cat "$work/report.txt"
    echo "check_abi_baseline: FAIL: abidiff could not compare (exit $rc)"
    exit 1
fi
removed_or_changed=$(sed -n 's/^\(Functions\|Variables\) changes summary: \([0-9]*\) Removed, \([0-9]*\) Changed.*/\2 \3/p' \
    "$work/report.txt" | tr ' ' '\n' | awk '{ s += $1 } END { print s + 0 }')
if [ $((rc & 8)) -ne 0 ] || [ "$removed_or_changed" -ne 0 ]; then
    cat "$work/report.txt"
    echo "check_abi_baseline: FAIL: the ABI changed other than by additions (SONAME $new);" \
        "see doc/abi-policy.md"
    exit 1
fi
added=$(grep -c "^  \[A\]" "$work/report.txt")
echo "check_abi_baseline: OK: $new, $added addition(s) since the baseline"
exit 0
