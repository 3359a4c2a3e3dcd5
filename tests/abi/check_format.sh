#!/usr/bin/env bash
# Fails when clang-format would change any tracked C source or header.
#   check_format.sh CLANG_FORMAT SOURCE_DIR
set -euo pipefail
clang_format=$1
cd "$2"
mapfile -t files < <(git ls-files '*.c' '*.h' 2>/dev/null || find include src bindings tests examples bench -name '*.[ch]')
"$clang_format" --dry-run -Werror "${files[@]}"
echo "clang-format: ${#files[@]} files formatted"
