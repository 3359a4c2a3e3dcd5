#!/bin/sh
# The native interposer's cost per malloc/free pair (bench/native_loop.c), three ways, side by
# side: libc alone, the interposer without a hook, the interposer with a counting hook.
#   bench/native.sh [BUILD_DIR]
set -eu
build=${1:-build}
loop="$build/bench/pmt_native_loop"
lib="$build/src/libpymemtrace_native.so"
"$loop"
LD_PRELOAD="$lib" "$loop"
LD_PRELOAD="$lib" "$loop" --hook
