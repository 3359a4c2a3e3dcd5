#!/usr/bin/env bash
# examples/embed/embed_interpreters.c built against the BUILD tree and Debian's Python, run as is
# and under valgrind: tracers of three interpreters, a mark from a foreign thread, and 1000
# start/stop cycles with no memory definitely lost (the C heap check inside covers the cycles
# too; valgrind also names any block the library leaks or misuses).
#   interpreters_valgrind.sh BUILD_DIR SOURCE_DIR WORK_DIR    (CC: the C compiler, default cc)
set -eu
[ $# -eq 3 ] || {
    echo "usage: $0 BUILD_DIR SOURCE_DIR WORK_DIR" >&2
    exit 2
}
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
work=$3
rm -rf "$work"
mkdir -p "$work/logs"
trap 'rm -rf "$work"' EXIT
die() {
    echo "embed_interpreters: FAILED: $*" >&2
    exit 1
}
pkg-config --exists python3-embed || die "no python3-embed.pc (install python3-dev)"
lib=$(dirname "$(find "$build/src" -name 'libpymemtrace.so' | head -n1)")
# shellcheck disable=SC2046
"${CC:-cc}" -std=c11 -Wall -Wextra -Werror -g -O1 "$src/examples/embed/embed_interpreters.c" \
    -I"$src/include" -I"$build/include" $(pkg-config --cflags python3-embed) \
    -L"$lib" -lpymemtrace $(pkg-config --libs python3-embed) -lpthread \
    -Wl,-rpath,"$lib" -o "$work/embed_interpreters" || die "cannot build"

"$work/embed_interpreters" "$work/logs" 1000 || die "plain run"
rm -f "$work/logs"/*
command -v valgrind >/dev/null || die "valgrind is not installed (scripts/setup-deps.sh)"
status=0
valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=3 \
    --log-file="$work/valgrind.txt" "$work/embed_interpreters" "$work/logs" 1000 || status=$?
grep -E "definitely lost|ERROR SUMMARY" "$work/valgrind.txt" || true
if [ "$status" -ne 0 ]; then
    cat "$work/valgrind.txt" >&2
    die "under valgrind (exit $status)"
fi
echo "embed_interpreters: valgrind clean over 1000 cycles"
