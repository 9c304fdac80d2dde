#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "benchmarks/bench_report.hpp"
#include "runtime/system_config.hpp"

namespace meshrt::bench {

/// Sizes of the `meshrt bench membership` scenario.
struct membership_bench_options {
  /// Cluster sizes whose convergence is timed; the largest also gives the
  /// steady-state, failure and MARS restart figures.
  std::vector<int> sizes{8, 32, 128};
  /// How long steady-state MARS traffic and CPU are measured.
  int steady_seconds = 5;
  /// MARS runs as its own process (`meshrt mars`) from this program, so that
  /// its CPU is its own; empty: this very executable.
  std::string meshrt_exe;
  /// MARS's port for the first size (the next sizes take the next ports);
  /// nodes bind from node_port upward.
  uint16_t mars_port = 46500;
  uint16_t node_port = 50000;
  /// How the nodes' CAF workers wait (runtime/system_config.hpp): the
  /// bench puts all its nodes on this machine's cores, where efficiency
  /// is the rule.
  scheduling mode = scheduling::efficiency;
};

/// Runs MARS as a process and N in-process nodes over real loopback sockets,
/// and returns, for meshrt: converge_ms_N (spawn to every view whole) for
/// each size; for the largest: failure_seen_ms (a node killed without
/// goodbye until every view lost it), heal_member_ms (MARS killed with
/// SIGKILL and restarted until every node is part of the cluster again),
/// heal_synced_ms (until every view is synced with the new MARS),
/// mars_cpu_pct and mars_bytes_per_node_s / mars_msgs_per_node_s at steady
/// state. Baseline, in the same run (raw_udp): one heartbeat round of the
/// same N over plain UDP sockets to an echo thread with meshrt's heartbeat
/// and answer sizes, and the bytes per node per second such heartbeats take
/// without any protocol around them.
bench_report run_membership_bench(const membership_bench_options& opts);

} // namespace meshrt::bench
