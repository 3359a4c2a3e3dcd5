# Shared by the embed tests; sourced by them, not run. Expects $test_name and $src (the source
# tree) to be set.
# shellcheck shell=bash disable=SC2154

die() {
    echo "$test_name: FAIL: $*" >&2
    exit 1
}

note() {
    echo "$test_name: $*"
}

# A private work directory, removed on exit together with the install prefix (set later).
work=$(mktemp -d "${TMPDIR:-/tmp}/pmt-$test_name.XXXXXX")
prefix=""
cleanup() {
    rm -rf "$work"
    if [ -n "$prefix" ]; then
        rm -rf "$prefix"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# install_into BUILD_DIR PREFIX: a fresh `cmake --install` of the build tree into PREFIX, then
# checks that every public header, the library, the CMake package and the .pc file are there.
# PREFIX is wiped first, but only when it is empty or was made by this function.
install_into() {
    local build=$1
    prefix=$2
    if [ -e "$prefix" ] && [ ! -e "$prefix/.pmt-test-prefix" ] && [ -n "$(ls -A "$prefix")" ]; then
        local keep=$prefix
        prefix=""
        die "refusing to wipe $keep: it is not empty and was not made by this test"
    fi
    rm -rf "$prefix"
    mkdir -p "$prefix"
    : >"$prefix/.pmt-test-prefix"
    if ! cmake --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1; then
        cat "$work/install.log" >&2
        die "cmake --install $build --prefix $prefix failed"
    fi

    local header name
    for header in "$src"/include/pymemtrace/*.h "$build"/include/pymemtrace/version.h; do
        name=$(basename "$header")
        [ -f "$prefix/include/pymemtrace/$name" ] || die "pymemtrace/$name is not installed"
    done
    pc_file=$(find "$prefix" -name pymemtrace.pc -path '*/pkgconfig/*' | head -n 1)
    [ -n "$pc_file" ] || die "pymemtrace.pc is not installed under $prefix"
    installed_libdir=$(cd "$(dirname "$pc_file")/.." && pwd -P)
    [ -f "$installed_libdir/libpymemtrace.so.0" ] ||
        die "libpymemtrace.so.0 is not installed in $installed_libdir"
    [ -f "$installed_libdir/cmake/pymemtrace/pymemtraceConfig.cmake" ] ||
        die "the CMake package is not installed in $installed_libdir/cmake/pymemtrace"
    note "installed into $prefix (libdir $installed_libdir)"
}

# check_links BINARY LIBRARY_FILE_NAME EXPECTED_DIR: the dynamic loader resolves the library
# to EXPECTED_DIR, without LD_LIBRARY_PATH (from the binary's RUNPATH).
check_links() {
    local binary=$1 library=$2 dir=$3 resolved
    resolved=$(env -u LD_LIBRARY_PATH ldd "$binary" | awk -v lib="$library" '$1 == lib { print $3 }')
    [ -n "$resolved" ] || die "$binary does not load $library: $(env -u LD_LIBRARY_PATH ldd "$binary")"
    [ "$(cd "$(dirname "$resolved")" && pwd -P)" = "$(cd "$dir" && pwd -P)" ] ||
        die "$binary loads $library from $resolved, expected from $dir"
}

# run_embed_checks BINARY PYTHON_MAJOR.MINOR: runs the built example in all its modes and checks
# that it ran under that Python with the hook the library uses there. The binary must find its
# libraries by itself: LD_LIBRARY_PATH is removed.
run_embed_checks() {
    local bin=$1 version=$2 hook=sys.setprofile out rc
    case "$version" in
    3.10 | 3.11) ;;
    *) hook=sys.monitoring ;;
    esac
    mkdir -p "$work/logs"

    # 1. The built-in snippet: log complete, embed_alloc() grew RSS by >= 4 MiB.
    if ! out=$(env -u LD_LIBRARY_PATH "$bin" "$work/logs/builtin.log" 2>&1); then
        printf '%s\n' "$out" >&2
        [ -f "$work/logs/builtin.log" ] && cut -c1-200 "$work/logs/builtin.log" >&2
        die "embed_trace failed on the built-in snippet"
    fi
    printf '%s\n' "$out"
    case "$out" in
    *"embed_trace: OK: Python $version."*" ($hook), "*) ;;
    *) die "expected a run under Python $version with $hook" ;;
    esac

    # 2. A script with arguments: sys.argv, its directory on sys.path, a clean exit.
    mkdir -p "$work/scripts"
    cat >"$work/scripts/helper_mod.py" <<'EOF'
def grow(mib):
    return bytearray(b"\x02") * (mib << 20)
EOF
    cat >"$work/scripts/grow.py" <<'EOF'
import sys

import helper_mod

assert sys.argv[1:] == ["one", "two words"], sys.argv
assert __name__ == "__main__" and __file__.endswith("grow.py"), (__name__, __file__)


def main():
    kept = helper_mod.grow(8)
    return len(kept)


main()
sys.exit(0)
EOF
    if ! out=$(env -u LD_LIBRARY_PATH "$bin" "$work/logs/script.log" "$work/scripts/grow.py" \
        one "two words" 2>&1); then
        printf '%s\n' "$out" >&2
        die "embed_trace failed on a script"
    fi
    printf '%s\n' "$out"
    case "$out" in
    *"embed_trace: OK: $work/scripts/grow.py under Python $version."*" ($hook), "*"in grow; log:"*) ;;
    *) die "the script run does not report its largest growth in grow()" ;;
    esac

    # 3. A script that exits non-zero or raises: reported, exit status 1, the log still complete
    #    (the only failed check is the script's status).
    printf 'import sys\nsys.exit(3)\n' >"$work/scripts/exit3.py"
    printf 'def f():\n    raise ValueError("expected by the test")\nf()\n' >"$work/scripts/raises.py"
    local script expect
    for script in exit3 raises; do
        [ "$script" = exit3 ] && expect="exited with status 3" || expect="exited with status 1"
        rc=0
        out=$(env -u LD_LIBRARY_PATH "$bin" "$work/logs/$script.log" \
            "$work/scripts/$script.py" 2>&1) || rc=$?
        if [ "$rc" -ne 1 ] || [[ "$out" != *"$expect"* ]] ||
            [[ "$out" != *"embed_trace: 1 check(s) failed"* ]]; then
            printf '%s\n' "$out" >&2
            die "$script.py: expected exit status 1, '$expect' and exactly one failed check (got $rc)"
        fi
    done
    note "a failing script is reported and its log is still complete"

    # 4. Usage errors.
    rc=0
    env -u LD_LIBRARY_PATH "$bin" >/dev/null 2>&1 || rc=$?
    [ "$rc" -eq 2 ] || die "embed_trace without arguments exited with $rc, expected 2"
}
