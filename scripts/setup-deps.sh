#!/usr/bin/env bash
# Installs every Debian package that building and testing libpymemtrace needs. Idempotent: when
# all of them are installed already, it does nothing (no apt-get update, no network).
# Runs as root, or through sudo when it is there. --build: only what building the library and
# the module needs (scripts/demo.sh), not the tools the tests drive (bpftrace, Wine, Chromium...).
#   scripts/setup-deps.sh [--build]
set -euo pipefail

packages=(
    build-essential # gcc, g++ (the C++ ABI tests), make, libc6-dev
    cmake
    pkg-config      # the embed test builds through pymemtrace.pc and python3-embed.pc
    python3         # the interpreter the Python tests run (the module is abi3)
    python3-dev     # Python.h, libpython3.x and python3-embed.pc
    check           # unit tests
    libsubunit-dev  # check's pkg-config file needs it
    doxygen         # the 'doc' target and its warnings test
    clang-format    # style of the C sources
    binutils        # nm, readelf: the ABI tests
    file
    libzstd-dev     # zstd compression of binary log chunks
    liblz4-dev      # lz4 compression of binary log chunks
    clang           # the libFuzzer target for the binary log reader
    libclang-rt-14-dev # libFuzzer and sanitizer runtimes for clang
    valgrind        # the sub-interpreter embedding test: no leak over 1000 start/stop cycles
    systemtap-sdt-dev # sys/sdt.h: the library's USDT probes (doc/probes.md)
)
# What only the tests need.
test_packages=(
    abigail-tools   # abidw, abidiff: the ABI gate against tests/abi/libpymemtrace.abi
    python3-pip     # pip wheel . / pip install . (tests/install), offline
    python3-venv    # the venvs the wheel is installed into
    bpftrace        # the toolkit's scripts, run for real by test_probes.py (as root)
    gcc-mingw-w64-x86-64 # the Windows port, cross-built (tests/windows)
    wine64          # ... and run: check_windows.exe under Wine, headless
    sqlite3         # test_exports.py reads the sqlite export with Debian's sqlite3 too
    python3-pytest  # the pytest plugin, run for real (test_pytest_plugin.py)
    chromium        # the HTML report opened headless (test_report.py)
)

if [ "${1:-}" != --build ]; then
    packages+=("${test_packages[@]}")
fi

missing=()
for p in "${packages[@]}"; do
    if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" != installed ]; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "setup-deps: all ${#packages[@]} packages are installed"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "setup-deps: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
fi

echo "setup-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
