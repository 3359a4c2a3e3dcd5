#!/usr/bin/env bash
# The standalone project examples/embed, configured against the INSTALLED library with
# find_package(pymemtrace CONFIG) and find_package(Python3 ... Development.Embed), built and run.
#   findpackage_build.sh BUILD_DIR SOURCE_DIR INSTALL_PREFIX   (CC: the C compiler, default cc)
# The embedded Python is pyenv's 3.13.0 when it is there (so that the sys.monitoring hook runs
# from C), else Debian's /usr/bin/python3; PMT_EMBED_PYTHON=/path/to/pythonX.Y chooses another
# (a shared-library build with headers). INSTALL_PREFIX is (re)created and removed at the end.
set -eu
test_name=embed_find_package
[ $# -eq 3 ] || {
    echo "usage: $0 BUILD_DIR SOURCE_DIR INSTALL_PREFIX" >&2
    exit 2
}
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
# shellcheck source=tests/embed/lib.sh
. "$src/tests/embed/lib.sh"

# The Python to embed.
python=${PMT_EMBED_PYTHON:-}
if [ -z "$python" ]; then
    pyenv_root=${PYENV_ROOT:-}
    if [ -z "$pyenv_root" ] && command -v pyenv >/dev/null 2>&1; then
        pyenv_root=$(pyenv root 2>/dev/null || true)
    fi
    pyenv_root=${pyenv_root:-${HOME:-}/.pyenv}
    candidate=$pyenv_root/versions/3.13.0
    if [ -x "$candidate/bin/python3.13" ] && [ -f "$candidate/include/python3.13/Python.h" ] &&
        [ -e "$candidate/lib/libpython3.13.so" ]; then
        python=$candidate/bin/python3.13
    else
        note "no pyenv 3.13.0 shared build under $pyenv_root: embedding Debian's python3"
        python=/usr/bin/python3
    fi
fi
[ -x "$python" ] || die "no Python interpreter at $python"
py_root=$("$python" -c 'import sys; print(sys.base_prefix)')
py_version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
py_libdir=$("$python" -c 'import sysconfig; print(sysconfig.get_config_var("LIBDIR"))')
note "embedding Python $py_version from $py_root ($python)"

install_into "$build" "$3"

# Configure with the installed package only: no package registry, the prefix first.
if ! cmake -S "$src/examples/embed" -B "$work/build" \
    -DCMAKE_C_COMPILER="${CC:-cc}" \
    -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
    -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF \
    -DPython3_EXECUTABLE="$python" \
    -DPython3_ROOT_DIR="$py_root" \
    -DPython3_FIND_STRATEGY=LOCATION \
    -DEMBED_TRACE_WERROR=ON >"$work/configure.log" 2>&1; then
    cat "$work/configure.log" >&2
    die "cannot configure examples/embed against $prefix"
fi
grep 'embed_trace:' "$work/configure.log" || true
cache_value() {
    sed -n "s/^$1:[A-Z]*=//p" "$work/build/CMakeCache.txt"
}
pkg_dir=$(cache_value pymemtrace_DIR)
case "$(cd "$pkg_dir" && pwd -P)/" in
"$(cd "$prefix" && pwd -P)"/*) ;;
*) die "find_package(pymemtrace) used $pkg_dir, not the installed tree in $prefix" ;;
esac

if ! cmake --build "$work/build" >"$work/build.log" 2>&1; then
    cat "$work/build.log" >&2
    die "cannot build examples/embed"
fi
bin=$work/build/embed_trace
check_links "$bin" libpymemtrace.so.0 "$installed_libdir"
check_links "$bin" "libpython$py_version.so.1.0" "$py_libdir"
note "built $(env -u LD_LIBRARY_PATH ldd "$bin" | awk '/libpython|libpymemtrace/ { printf "%s ", $3 }')"

run_embed_checks "$bin" "$py_version"
mkdir -p "$work/interpreters"
env -u LD_LIBRARY_PATH "$work/build/embed_interpreters" "$work/interpreters" 1000 ||
    die "embed_interpreters failed"
note "passed"
