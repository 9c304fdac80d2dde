#pragma once

// Runs a load scenario (benchmarks/scenario.hpp) against a real cluster:
// MARS and the nodes on loopback UDP, in this process or each a child
// process (cluster mode "processes", driven from two guest nodes of this
// one; "namespaces": each in a network namespace of its own, on a bridge,
// benchmarks/netns_lab.hpp), the workload offered at its rates by one driver actor per
// operation (open loop: an operation is
// issued when it is due, whether or not earlier ones were answered), the
// faults applied at their times, live progress on a stream, and at the end
// every figure: latency percentiles per operation, throughput, errors by
// kind, lost and duplicated one-way messages, and what each fault did (time
// to detect, time to heal, operations failed meanwhile).

#include <cstdio>
#include <string>

#include "benchmarks/scenario.hpp"

namespace meshrt::bench {

/// How a run reports while it runs.
struct scenario_run_options {
  /// Where progress goes (stderr); nullptr: nowhere.
  std::FILE* progress = stderr;
  /// One line redrawn in place (a terminal), else a plain line every
  /// `plain_every_s` seconds.
  bool redraw = false;
  double plain_every_s = 2;
  /// MARS's port (nodes scan upward from the next); 0: a free one.
  uint16_t base_port = 0;
};

/// What a run measured.
struct scenario_result {
  /// The tables printed at the end.
  std::string text;
  /// Every figure, the latency histograms, the per-second timeline and the
  /// faults, in the shape `meshrt bench report` reads.
  std::string json;
  /// Reliable one-way messages neither delivered nor reported failed, and
  /// reliable deliveries seen twice: both must be 0.
  uint64_t lost = 0;
  uint64_t duplicated = 0;
  /// Reliable messages to a node killed or leaving that neither arrived
  /// nor failed: in flight at the crash, allowed.
  uint64_t at_crash = 0;
  /// Cluster mode "namespaces": the datagrams the drop faults' nftables
  /// rules dropped.
  uint64_t dropped_by_nftables = 0;
  /// With `resources`: the long-lived nodes whose memory grew past its
  /// margin, or whose descriptors, actors or links did not come back.
  uint64_t resource_failures = 0;
};

/// Runs `s`. Throws std::runtime_error when the cluster cannot start.
scenario_result run_scenario(const scenario& s, const scenario_run_options& opts);

} // namespace meshrt::bench
