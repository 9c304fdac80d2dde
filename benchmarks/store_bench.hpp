#pragma once

#include <string>

#include "benchmarks/bench_report.hpp"
#include "runtime/system_config.hpp"

namespace meshrt::bench {

/// Sizes of the `meshrt bench store` scenario.
struct store_bench_options {
  int rounds = 20000;       // sequential gets and sets (latency, ops/s at 1 outstanding)
  int ops = 200000;         // gets and sets with 256 outstanding
  int entries = 1000000;    // memory per entry, and the keys a joining node takes over
  bool default_move = true; // also migrate at the default batch settings
  /// storageRingSize of every node (the shard actors per storage node).
  uint32_t ring_size = 300;
  /// Run only this system ("meshrt", "redis"); empty runs both.
  std::string only;
  std::string meshrt_exe; // the program for MARS and the storage nodes; empty: this one
  /// How the nodes' CAF workers wait (runtime/system_config.hpp): the
  /// bench puts all its nodes on this machine's cores, where efficiency
  /// is the rule.
  scheduling mode = scheduling::efficiency;
};

/// The cluster's store beside Redis (Debian's redis-server, started here on a
/// free loopback port without persistence), on the same keys (16 bytes) and
/// values (24 bytes), from one client in this process: get and set ops/s
/// with 1 and 256 outstanding, p50/p99 latency, memory per entry at
/// `entries` entries (meshrt: RSS growth of its three storage node
/// processes; Redis: used_memory growth), and for meshrt the time until a
/// fourth storage node has taken over its share of `entries` entries, at
/// batch 1000 and at the default batch settings (10 keys every 1 ms), with
/// the worst read latency of a client reading throughout the move.
bench_report run_store_bench(const store_bench_options& opts);

} // namespace meshrt::bench
