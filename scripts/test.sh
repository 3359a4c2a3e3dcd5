#!/usr/bin/env bash
# The one command that sets up and runs every test:
#   1. scripts/setup-deps.sh (Debian packages)
#   2. build/       warnings as errors, Python module and docs: every ctest test
#   3. build-asan/  AddressSanitizer + UndefinedBehaviorSanitizer: the unit tests (ctest -R unit)
#                   and the Python suite on the sanitized module (Debian's python3)
#   4. build-tsan/  ThreadSanitizer: threaded embedding programs (tests/embed/threads_tsan.sh)
#   5. build-fuzz/  clang, libFuzzer: the binary log reader fuzzed from tests/fuzz/corpus for a
#                   minute (ctest -R fuzz; PMT_FUZZ_SECONDS=N to change it)
# Every step runs even when an earlier one failed (a failed configure or build skips its own
# tests); the exit status is non-zero when anything failed.
#   scripts/test.sh            (CTEST_PARALLEL_LEVEL=N to run tests in parallel)
set -uo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top" || exit 1
jobs=$(nproc 2>/dev/null || echo 2)
failed=()

# step NAME COMMAND...: runs the command, records NAME when it fails.
step() {
    local name=$1
    shift
    echo
    echo "==== test.sh: $name"
    if "$@"; then
        return 0
    fi
    echo "==== test.sh: FAILED: $name" >&2
    failed+=("$name")
    return 1
}

step "setup-deps" bash "$top/scripts/setup-deps.sh" || {
    echo "test.sh: cannot install the dependencies" >&2
    exit 1
}

if step "configure build" cmake -S "$top" -B "$top/build" -DPMT_WERROR=ON \
    -DPMT_BUILD_PYTHON=ON -DPMT_BUILD_DOCS=ON -DPMT_BUILD_TESTS=ON -DPMT_SANITIZE=; then
    if step "build build" cmake --build "$top/build" -j"$jobs"; then
        step "ctest build" ctest --test-dir "$top/build" --output-on-failure --no-tests=error
    fi
fi

export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
if step "configure build-asan" cmake -S "$top" -B "$top/build-asan" -DPMT_WERROR=ON \
    -DPMT_SANITIZE="address;undefined" -DPMT_BUILD_PYTHON=ON -DPMT_BUILD_DOCS=OFF \
    -DPMT_BUILD_TESTS=ON -DPMT_BUILD_BENCH=OFF; then
    if step "build build-asan" cmake --build "$top/build-asan" -j"$jobs"; then
        step "ctest build-asan (unit)" ctest --test-dir "$top/build-asan" -R unit \
            --output-on-failure --no-tests=error
        # The Python suite on the sanitized module, under Debian's python3 (not built with the
        # sanitizers: their runtimes are preloaded; leaks are CPython's to report, not checked).
        asan_run="$top/build-asan/python-suite"
        mkdir -p "$asan_run"
        step "python suite on build-asan" env -C "$asan_run" \
            LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)" \
            ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
            PMT_SANITIZED=1 PYTHONPATH="$top/build-asan/python" PYTHONDONTWRITEBYTECODE=1 \
            PYTHONNOUSERSITE=1 /usr/bin/python3 -m unittest discover \
            -s "$top/bindings/python/tests"
    fi
fi

# ThreadSanitizer: the library alone, then embedding programs built with it on Debian's Python
# (Python threads and foreign threads marking one tracer, pause/resume and start/stop storms).
# Built without the USDT probes, so that the probe seam's fallback compiles under -Werror too.
if step "configure build-tsan" cmake -S "$top" -B "$top/build-tsan" -DPMT_WERROR=ON \
    -DPMT_SANITIZE=thread -DPMT_BUILD_PYTHON=OFF -DPMT_BUILD_DOCS=OFF -DPMT_BUILD_TESTS=OFF \
    -DPMT_BUILD_BENCH=OFF -DPMT_USDT=OFF; then
    if step "build build-tsan" cmake --build "$top/build-tsan" -j"$jobs" --target pymemtrace; then
        step "threads under tsan" bash "$top/tests/embed/threads_tsan.sh" "$top/build-tsan" \
            "$top" "$top/build-tsan/threads-work"
    fi
fi

# The fuzzer needs clang (libFuzzer and its sanitizers); only the fuzz targets are built.
if step "configure build-fuzz" env CC=clang cmake -S "$top" -B "$top/build-fuzz" \
    -DPMT_BUILD_FUZZERS=ON -DPMT_BUILD_PYTHON=OFF -DPMT_BUILD_DOCS=OFF -DPMT_BUILD_TESTS=ON \
    -DPMT_BUILD_BENCH=OFF -DPMT_FUZZ_SECONDS="${PMT_FUZZ_SECONDS:-60}"; then
    if step "build build-fuzz" cmake --build "$top/build-fuzz" -j"$jobs" --target fuzz_reader; then
        step "ctest build-fuzz (fuzz)" ctest --test-dir "$top/build-fuzz" -R fuzz \
            --output-on-failure --no-tests=error
    fi
fi

echo
if [ ${#failed[@]} -ne 0 ]; then
    echo "test.sh: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "test.sh: every step passed"
