#!/usr/bin/env bash
# The macOS and FreeBSD files of src/platform/ cannot be built on Debian (no Mach or FreeBSD
# headers): this checks their syntax and types with the project's warnings as errors, against
# stand-in declarations of the few system calls they make (tests/platforms/stubs, written from
# the systems' documentation). The Windows files are built and run for real (tests/windows).
#   tests/platforms/check_syntax.sh CC SOURCE_DIR BUILD_DIR
set -euo pipefail
cc=$1
top=$2
build=$3
status=0
for file in "$top"/src/platform/macos/*.c "$top"/src/platform/freebsd/*.c; do
    if "$cc" -fsyntax-only -std=c11 -Wall -Wextra -Werror -Wmissing-prototypes \
        -I"$top/tests/platforms/stubs" -I"$top/src" -I"$top/include" -I"$build/include" \
        -DPMT_BUILDING "$file"; then
        echo "ok: ${file#$top/}"
    else
        echo "FAILED: ${file#$top/}"
        status=1
    fi
done
exit $status
