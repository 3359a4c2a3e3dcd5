#!/usr/bin/env bash
# An application built against the INSTALLED library through pkg-config, embedding Debian's
# python3 (python3-embed.pc), found at run time through its RPATH.
#   pkgconfig_build.sh BUILD_DIR SOURCE_DIR INSTALL_PREFIX     (CC: the C compiler, default cc)
# INSTALL_PREFIX is (re)created by the test and removed at its end.
set -eu
test_name=embed_pkgconfig
[ $# -eq 3 ] || {
    echo "usage: $0 BUILD_DIR SOURCE_DIR INSTALL_PREFIX" >&2
    exit 2
}
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
# shellcheck source=tests/embed/lib.sh
. "$src/tests/embed/lib.sh"

install_into "$build" "$3"

# Only the installed tree and the system's .pc files: never a pymemtrace.pc from elsewhere.
PKG_CONFIG_PATH=$(dirname "$pc_file")
export PKG_CONFIG_PATH
pkg-config --exists pymemtrace || die "pkg-config cannot read $pc_file"
pkg-config --exists python3-embed ||
    die "pkg-config finds no python3-embed (install python3-dev: scripts/setup-deps.sh)"

# The .pc must describe the tree it was installed into.
want_version=$(sed -n 's/^#define PMT_VERSION_STRING "\(.*\)"$/\1/p' "$build/include/pymemtrace/version.h")
[ "$(pkg-config --modversion pymemtrace)" = "$want_version" ] ||
    die "pymemtrace.pc says version $(pkg-config --modversion pymemtrace), version.h $want_version"
real_prefix=$(cd "$prefix" && pwd -P)
for var in includedir libdir; do
    value=$(pkg-config --variable="$var" pymemtrace)
    real=$(cd "$value" 2>/dev/null && pwd -P) || real=""
    case "$real/" in
    "$real_prefix"/*) ;;
    *)
        die "pymemtrace.pc's $var is '$value', not inside the prefix it was installed into" \
            "($prefix): its prefix= must follow the install prefix, e.g. prefix=\${pcfiledir}/../.."
        ;;
    esac
done
libdir=$(pkg-config --variable=libdir pymemtrace)
py_version=$(pkg-config --modversion python3-embed)
py_libdir=$(pkg-config --variable=libdir python3-embed)
note "pymemtrace $want_version from $PKG_CONFIG_PATH, python3-embed $py_version"

# shellcheck disable=SC2046 # word splitting of pkg-config's flags is intended
"${CC:-cc}" -std=c11 -Wall -Wextra -Werror -o "$work/embed_trace" \
    "$src/examples/embed/embed_trace.c" \
    $(pkg-config --cflags pymemtrace python3-embed) \
    $(pkg-config --libs pymemtrace python3-embed) \
    "-Wl,-rpath,$libdir" ||
    die "cannot build embed_trace.c with pkg-config's flags"
check_links "$work/embed_trace" libpymemtrace.so.0 "$libdir"
check_links "$work/embed_trace" "libpython$py_version.so.1.0" "$py_libdir"
note "built $(env -u LD_LIBRARY_PATH ldd "$work/embed_trace" | awk '/libpython|libpymemtrace/ { printf "%s ", $3 }')"

run_embed_checks "$work/embed_trace" "$py_version"

# Allocation tracing from an embedding application (doc/allocations.md).
# shellcheck disable=SC2046 # word splitting of pkg-config's flags is intended
"${CC:-cc}" -std=c11 -Wall -Wextra -Werror -o "$work/embed_allocations" \
    "$src/examples/embed/embed_allocations.c" \
    $(pkg-config --cflags pymemtrace python3-embed) \
    $(pkg-config --libs pymemtrace python3-embed) \
    "-Wl,-rpath,$libdir" ||
    die "cannot build embed_allocations.c with pkg-config's flags"
mkdir -p "$work/logs"
env -u LD_LIBRARY_PATH "$work/embed_allocations" "$work/logs/allocations.pmt" ||
    die "embed_allocations failed"
note "passed"
