#!/usr/bin/env bash
# Runs one libFuzzer target (clang, ASan + UBSan) for a bounded time.
# Usage: run.sh SOURCE_DIR WORK_DIR SECONDS [TARGET]
# TARGET is one of tests/fuzz/targets.cmake's, each with what it decodes
# (default session). WORK_DIR is a build directory of tests/fuzz/: configured
# here when it is new, and the target built (nothing to do when the suite's
# build made it, which is how the smoke tests run).
# Seeds and every input that once crashed a target are in
# tests/corpus/TARGET/, which the test suite replays (fuzz.corpus).
# FUZZ_SEED set: libFuzzer's random choices start from it, so a fresh
# build directory makes the same inputs in the same order (the suite's
# smoke runs, which must not fail CI on a finding unrelated to a change);
# unset, each run explores anew (`make fuzz`).
set -euo pipefail
src=$1 work=$2 seconds=$3 target=${4:-session}
if [[ ! -f "$src/tests/fuzz/${target}_fuzz.cpp" ]]; then
  echo "run.sh: unknown fuzz target '$target' (tests/fuzz/targets.cmake lists them)" >&2
  exit 2
fi
if [[ ! -f "$work/CMakeCache.txt" ]]; then
  generator=()
  command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
  cmake -S "$src/tests/fuzz" -B "$work" "${generator[@]}" -DCMAKE_CXX_COMPILER=clang++ >/dev/null
fi
if ! out=$(cmake --build "$work" --target "${target}_fuzz" 2>&1); then
  printf '%s\n' "$out" >&2
  exit 1
fi
mkdir -p "$work/$target-corpus"
# New inputs go to WORK_DIR's corpus; tests/corpus/TARGET/ is read only.
# A crashing input lands in WORK_DIR: once fixed, copy it into
# tests/corpus/TARGET/ so the suite replays it.
seed=()
[[ -n "${FUZZ_SEED:-}" ]] && seed=(-seed="$FUZZ_SEED")
"$work/${target}_fuzz" "${seed[@]}" -max_total_time="$seconds" -rss_limit_mb=4096 -print_final_stats=1 \
  -artifact_prefix="$work/$target-" "$work/$target-corpus" "$src/tests/corpus/$target" 2>&1 |
  tail -n 15
