#!/usr/bin/env bash
# Builds the libFuzzer target with clang (ASan + UBSan) and runs it for a
# bounded time. Usage: run.sh SOURCE_DIR WORK_DIR SECONDS
set -euo pipefail
src=$1 work=$2 seconds=$3
mkdir -p "$work/corpus"
clang++ -std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$src" "$src/tests/fuzz/session_fuzz.cpp" "$src/transport/session.cpp" \
  "$src/transport/wire.cpp" -o "$work/session_fuzz"
# Crashing inputs land in WORK_DIR; copy one into tests/fuzz/regressions/ to
# keep it replayed by the test suite once fixed.
"$work/session_fuzz" -max_total_time="$seconds" -rss_limit_mb=4096 -print_final_stats=1 \
  -artifact_prefix="$work/" "$work/corpus" "$src/tests/fuzz/regressions" 2>&1 | tail -n 15
