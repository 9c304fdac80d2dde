#!/usr/bin/env bash
# Builds one libFuzzer target with clang (ASan + UBSan) and runs it for a
# bounded time. Usage: run.sh SOURCE_DIR WORK_DIR SECONDS [TARGET]
#   session  the packet decoder and the RUDP session core (default)
#   mars     MARS's message decoder
#   mesh     the mesh envelope decoder (messages between nodes)
set -euo pipefail
src=$1 work=$2 seconds=$3 target=${4:-session}
case "$target" in
  session) sources=("$src/transport/session.cpp" "$src/transport/wire.cpp"
                   "$src/transport/packed_messages.cpp")
           seeds=("$src/tests/fuzz/regressions") ;;
  mars)    sources=("$src/actors/mars_protocol.cpp" "$src/actors/node_record.cpp"
                    "$src/actors/mesh_envelope.cpp"
                    "$src/actors/msgpack_codec.cpp")
           seeds=() ;;
  mesh)    sources=("$src/actors/mesh_envelope.cpp")
           seeds=() ;;
  *) echo "run.sh: unknown fuzz target '$target' (session, mars, mesh)" >&2; exit 2 ;;
esac
mkdir -p "$work/$target-corpus"
clang++ -std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$src" "$src/tests/fuzz/${target}_fuzz.cpp" "${sources[@]}" -o "$work/${target}_fuzz"
# Crashing inputs land in WORK_DIR; copy one into tests/fuzz/regressions/ (the
# session target's) to keep it replayed by the test suite once fixed.
"$work/${target}_fuzz" -max_total_time="$seconds" -rss_limit_mb=4096 -print_final_stats=1 \
  -artifact_prefix="$work/" "$work/$target-corpus" "${seeds[@]}" 2>&1 | tail -n 15
