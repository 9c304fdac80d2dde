#!/usr/bin/env bash
# Installs the built meshrt into a scratch prefix, then configures, builds and
# runs tests/consumer against it. Usage: run.sh BUILD_DIR CONSUMER_SRC WORK_DIR
set -euo pipefail
build=$1 src=$2 work=$3
rm -rf "$work"
cmake --install "$build" --prefix "$work/prefix" >/dev/null
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S "$src" -B "$work/build" "${generator[@]}" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/build" >/dev/null
out=$("$work/build/consumer")
echo "$out"
case "$out" in "meshrt "*" port 8123") ;; *) echo "unexpected output" >&2; exit 1 ;; esac
