#!/usr/bin/env bash
# tests/embed/threads_tsan.c and examples/embed/embed_interpreters.c built with ThreadSanitizer
# against a library built with it (PMT_SANITIZE=thread), run on Debian's Python: Python threads
# and foreign C threads marking one tracer, pause/resume and start/stop storms, three
# interpreters. Any data race fails the run (halt_on_error).
#   threads_tsan.sh BUILD_DIR SOURCE_DIR WORK_DIR    (BUILD_DIR: a PMT_SANITIZE=thread build)
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
    echo "threads_tsan: FAILED: $*" >&2
    exit 1
}
pkg-config --exists python3-embed || die "no python3-embed.pc (install python3-dev)"
lib=$(dirname "$(find "$build/src" -name 'libpymemtrace.so' | head -n1)")
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1"
for program in tests/embed/threads_tsan examples/embed/embed_interpreters; do
    name=$(basename "$program")
    # shellcheck disable=SC2046
    "${CC:-cc}" -std=c11 -Wall -Wextra -Werror -g -O1 -fsanitize=thread "$src/$program.c" \
        -I"$src/include" -I"$build/include" $(pkg-config --cflags python3-embed) \
        -L"$lib" -lpymemtrace $(pkg-config --libs python3-embed) -lpthread \
        -Wl,-rpath,"$lib" -o "$work/$name" || die "cannot build $name"
    rm -f "$work/logs"/*
    if [ "$name" = embed_interpreters ]; then
        "$work/$name" "$work/logs" 300 || die "$name"
    else
        "$work/$name" "$work/logs" || die "$name"
    fi
done
echo "threads_tsan: no data race"
