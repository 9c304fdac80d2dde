#pragma once

#include <string>

#include "benchmarks/bench_report.hpp"
#include "runtime/system_config.hpp"

namespace meshrt::bench {

/// Sizes of the `meshrt bench transport` scenario.
struct transport_bench_options {
  int pingpong_rounds = 5000;     // 64-byte round trips per system
  int small_messages = 3'000'000; // 64-byte reliable messages, pipelined (twice)
  int bulk_messages = 3;          // 10 MB messages
  int bulk_small_messages = 20;   // 1 MB messages
  int streamed_messages = 10;     // 10 MB messages, at most streamed_window unanswered
  int streamed_window = 2;
  int lossy_messages = 2; // 10 MB messages through 10% drop, then 1%, 5% and 20%
  /// Run only this system ("meshrt", "raw_udp", "enet"); empty runs all.
  std::string only;
  /// How the nodes' CAF workers wait (runtime/system_config.hpp): the
  /// bench puts all its nodes on this machine's cores, where efficiency
  /// is the rule.
  scheduling mode = scheduling::efficiency;
};

/// Runs raw UDP, ENet and meshrt side by side on loopback and returns the
/// figures: rtt_p50_us, rtt_p99_us, bulk_goodput_mbps (10 MB messages),
/// bulk1m_goodput_mbps, bulk_streamed_mbps (10 MB messages, at most two
/// unanswered), small_msg_rate (meshrt: 256 messages packed into one
/// buffer per actor message; ENet: one enet_peer_send each),
/// small_msg_rate_vector (meshrt: 256 buffers per actor message),
/// small_msg_rate_single (meshrt: one actor message per message, a third
/// as many),
/// core_msg_rate (meshrt's session core alone, two sessions in one thread),
/// lossy_goodput_mbps (10% of packets dropped) and lossy_goodput_mbps_N (N%
/// dropped, N = 1, 5, 20), and the round trips' histograms (rtt_us).
bench_report run_transport_bench(const transport_bench_options& opts);

} // namespace meshrt::bench
