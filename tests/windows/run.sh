#!/usr/bin/env bash
# Builds the Windows port with mingw-w64 and runs check_windows.exe under Wine, headless, in a
# Wine prefix of its own. Exit 0 when it printed "N passed, 0 failed"; 77 (skipped) with the
# reason when the cross compiler or Wine is missing; 1 otherwise.
#   tests/windows/run.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
top=$1
build=$2
if ! command -v x86_64-w64-mingw32-gcc >/dev/null; then
    echo "skipped: no mingw-w64 cross compiler (Debian: gcc-mingw-w64-x86-64)"
    exit 77
fi
wine=$(command -v wine64 || command -v wine || true)
[ -n "$wine" ] || [ ! -x /usr/lib/wine/wine64 ] || wine=/usr/lib/wine/wine64
if [ -z "$wine" ]; then
    echo "skipped: no Wine (Debian: wine64)"
    exit 77
fi
cmake -S "$top/tests/windows" -B "$build" \
    -DCMAKE_TOOLCHAIN_FILE="$top/cmake/mingw-w64-x86_64.cmake" >/dev/null
cmake --build "$build" -j2 >/dev/null
export WINEPREFIX="$build/wineprefix" WINEDEBUG=-all DISPLAY=
mkdir -p "$WINEPREFIX"
status=0
out=$("$wine" "$build/check_windows.exe" 2>"$build/wine.stderr") || status=$?
echo "$out"
if [ "$status" -ne 0 ] || ! grep -Eq '^[0-9]+ passed, 0 failed' <<<"$out"; then
    echo "check_windows.exe failed under Wine (status $status); Wine said:" >&2
    tail -20 "$build/wine.stderr" >&2
    exit 1
fi
