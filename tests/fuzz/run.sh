#!/usr/bin/env bash
# Builds one libFuzzer target with clang (ASan + UBSan) and runs it for a
# bounded time. Usage: run.sh SOURCE_DIR WORK_DIR SECONDS [TARGET]
#   session   the packet decoder and the RUDP session core (default)
#   mars      MARS's message decoder
#   mesh      the mesh envelope decoder (messages between nodes)
#   store     the store's requests, responses and migration messages
#   dm        the DM service's deliveries, answers and closed notices
#   client    the client gateway's frame reader (end-user connections)
#   command   typed command payloads (request_data, TransportData, msgpack)
#   config    the node config parser
#   scenario  the bench scenario parser
#   report    the bench results reader of `meshrt bench report`
# Seeds and every input that once crashed a target are in
# tests/corpus/TARGET/, which the test suite replays (fuzz.corpus).
# FUZZ_SEED set: libFuzzer's random choices start from it, so a fresh
# build directory makes the same inputs in the same order (the suite's
# smoke runs, which must not fail CI on a finding unrelated to a change);
# unset, each run explores anew (`make fuzz`).
set -euo pipefail
src=$1 work=$2 seconds=$3 target=${4:-session}
libs=()
case "$target" in
  session)  sources=(transport/session.cpp transport/wire.cpp transport/packed_messages.cpp) ;;
  mars)     sources=(actors/mars_protocol.cpp actors/node_record.cpp actors/mesh_envelope.cpp
                     actors/msgpack_codec.cpp) ;;
  mesh)     sources=(actors/mesh_envelope.cpp) ;;
  store)    sources=(dm/store_wire.cpp) ;;
  dm)       sources=(dm/dm_wire.cpp) ;;
  client)   sources=(dm/client_protocol.cpp) ;;
  command)  sources=(runtime/request_data.cpp runtime/transport_data.cpp actors/mesh_error.cpp
                     actors/msgpack_codec.cpp transport/context_error.cpp transport/send_error.cpp)
            libs=(-lcaf_core) ;;
  config)   sources=(runtime/config.cpp runtime/config_error.cpp actors/mesh_config.cpp
                     dm/store_wire.cpp transport/secret_key.cpp)
            libs=(-lsodium) ;;
  scenario) sources=(benchmarks/scenario.cpp) ;;
  report)   sources=(benchmarks/bench_charts.cpp benchmarks/bench_report.cpp
                     benchmarks/child_process.cpp benchmarks/latency_histogram.cpp) ;;
  *) echo "run.sh: unknown fuzz target '$target'" \
          "(session, mars, mesh, store, dm, client, command, config, scenario, report)" >&2
     exit 2 ;;
esac
mkdir -p "$work/$target-corpus"
clang++ -std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$src" -I"$src/tests" "$src/tests/fuzz/${target}_fuzz.cpp" "${sources[@]/#/$src/}" "${libs[@]}" \
  -o "$work/${target}_fuzz"
# New inputs go to WORK_DIR's corpus; tests/corpus/TARGET/ is read only.
# A crashing input lands in WORK_DIR: once fixed, copy it into
# tests/corpus/TARGET/ so the suite replays it.
seed=()
[[ -n "${FUZZ_SEED:-}" ]] && seed=(-seed="$FUZZ_SEED")
"$work/${target}_fuzz" "${seed[@]}" -max_total_time="$seconds" -rss_limit_mb=4096 -print_final_stats=1 \
  -artifact_prefix="$work/$target-" "$work/$target-corpus" "$src/tests/corpus/$target" 2>&1 |
  tail -n 15
