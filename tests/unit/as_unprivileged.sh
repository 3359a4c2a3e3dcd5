#!/usr/bin/env bash
# Runs a unit suite as the unprivileged user "nobody", so that the providers' fallback for an
# ordinary process is tested for real (no CAP_PERFMON, no tracefs access): as root only, with
# runuser; anywhere else the test is skipped (exit 77).
#   as_unprivileged.sh UNIT_TEST_BINARY SUITE
set -eu
[ "$(id -u)" -eq 0 ] || { echo "not root: skipped"; exit 77; }
command -v runuser >/dev/null || { echo "no runuser: skipped"; exit 77; }
id nobody >/dev/null 2>&1 || { echo "no user nobody: skipped"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 0777 "$work"
cd "$work"
exec runuser -u nobody -- env TMPDIR="$work" "$1" "$2"
