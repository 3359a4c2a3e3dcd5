#!/usr/bin/env bash
# ELF-level ABI checks of the built library and Python module.
#   check_elf.sh exports NM LIBRARY EXPORTED_SYMBOLS_TXT PUBLIC_HEADER...
#       The library exports only pmt_ symbols (no pmt__ internals), each under a version node,
#       each declared PMT_API in a public header, and exactly the set in EXPORTED_SYMBOLS_TXT
#       (name@@VERSION_NODE, one per line, '#' comments): a new export is a deliberate diff.
#   check_elf.sh module NM READELF MODULE
#       The Python extension exports only PyInit__pymemtrace and does not link libpython.
#   check_elf.sh soname READELF LIBRARY SONAME_LINK EXPECTED_SONAME VERSION_H
#       The SONAME is EXPECTED_SONAME, matches PMT_ABI_VERSION in version.h and the SONAME
#       symlink the build made, and the library does not link libpython.
set -eu
export LC_ALL=C

fail() {
    echo "check_elf.sh $mode: FAIL: $*" >&2
    exit 1
}

# Defined dynamic symbols as name[@@version], version-node definitions (type A, no '@') left out.
defined_symbols() {
    "$1" -D --defined-only --with-symbol-versions "$2" |
        awk 'NF >= 3 && !($2 == "A" && index($3, "@") == 0) { print $3 }' | sort -u
}

needed_libraries() {
    "$1" -d "$2" | sed -n 's/.*(NEEDED).*\[\(.*\)\].*/\1/p'
}

mode=${1:-}
[ $# -ge 1 ] && shift
case "$mode" in
exports)
    [ $# -ge 4 ] || fail "usage: exports NM LIBRARY EXPORTED_SYMBOLS_TXT PUBLIC_HEADER..."
    nm=$1 lib=$2 list=$3
    shift 3
    [ -f "$lib" ] || fail "no library at $lib"
    actual=$(defined_symbols "$nm" "$lib")
    [ -n "$actual" ] || fail "$lib exports nothing"
    bad=$(printf '%s\n' "$actual" | grep -v '^pmt_' || true)
    [ -z "$bad" ] || fail "$lib exports symbols without the pmt_ prefix:"$'\n'"$bad"
    bad=$(printf '%s\n' "$actual" | grep '^pmt__' || true)
    [ -z "$bad" ] || fail "$lib exports internal pmt__ symbols:"$'\n'"$bad"
    bad=$(printf '%s\n' "$actual" | grep -v '@' || true)
    [ -z "$bad" ] || fail "$lib exports symbols without a version node:"$'\n'"$bad"
    declared=$(cat "$@" | sed -n 's/^PMT_API .*[ *]\(pmt_[a-z0-9_]*\)(.*/\1/p' | sort -u)
    undeclared=$(printf '%s\n' "$actual" | sed 's/@.*//' | sort -u |
        comm -23 - <(printf '%s\n' "$declared"))
    [ -z "$undeclared" ] || fail "exported but declared PMT_API in no public header:"$'\n'"$undeclared"
    expected=$(grep -v -e '^#' -e '^[[:space:]]*$' "$list" | sort -u)
    if [ "$actual" != "$expected" ]; then
        echo "Exported symbols differ from $list (- listed, + exported):" >&2
        diff -u <(printf '%s\n' "$expected") <(printf '%s\n' "$actual") | tail -n +3 >&2 || true
        fail "update $list only for a deliberate ABI change (see doc/abi-policy.md)"
    fi
    echo "check_elf.sh exports: OK: $(printf '%s\n' "$actual" | wc -l) pmt_ symbols, as listed"
    ;;
module)
    [ $# -eq 3 ] || fail "usage: module NM READELF MODULE"
    nm=$1 readelf=$2 module=$3
    [ -f "$module" ] || fail "no module at $module"
    actual=$(defined_symbols "$nm" "$module" | sed 's/@.*//')
    [ "$actual" = "PyInit__pymemtrace" ] ||
        fail "$module must export PyInit__pymemtrace only; it exports:"$'\n'"$actual"
    bad=$(needed_libraries "$readelf" "$module" | grep '^libpython' || true)
    [ -z "$bad" ] || fail "$module links $bad: an abi3 module must not link libpython"
    echo "check_elf.sh module: OK: exports PyInit__pymemtrace only, no libpython"
    ;;
soname)
    [ $# -eq 5 ] || fail "usage: soname READELF LIBRARY SONAME_LINK EXPECTED_SONAME VERSION_H"
    readelf=$1 lib=$2 link=$3 expected=$4 version_h=$5
    soname=$("$readelf" -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
    [ "$soname" = "$expected" ] || fail "$lib has SONAME '$soname', expected '$expected'"
    abi=$(sed -n 's/^#define PMT_ABI_VERSION \([0-9]*\).*/\1/p' "$version_h")
    [ "$soname" = "libpymemtrace.so.$abi" ] ||
        fail "SONAME $soname does not end in PMT_ABI_VERSION $abi of $version_h"
    if [ "$(basename "$link")" != "$soname" ] || [ ! -e "$link" ]; then
        fail "the build's SONAME link is $link, expected a $soname beside the library"
    fi
    bad=$(needed_libraries "$readelf" "$lib" | grep '^libpython' || true)
    [ -z "$bad" ] || fail "$lib links $bad: the embedding application provides libpython"
    echo "check_elf.sh soname: OK: $soname, no libpython"
    ;;
*)
    fail "unknown mode '$mode' (exports, module or soname)"
    ;;
esac
