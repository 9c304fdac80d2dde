#pragma once

#include <cstdint>
#include <string>

#include "benchmarks/bench_report.hpp"
#include "runtime/system_config.hpp"

namespace meshrt::bench {

/// Sizes of the `meshrt bench rpc` scenario.
struct rpc_bench_options {
  int rounds = 3000;     // sequential 64-byte requests per system (round trips)
  int pipelined = 20000; // requests per throughput run with 1 and 16 outstanding
  /// Requests of the run with 256 outstanding: at a few hundred thousand
  /// per second it must last long enough not to measure the warm-up.
  int pipelined_wide = 200000;
  /// Run only this system ("meshrt", "raw_udp", "caf_remote"); empty runs all.
  std::string only;
  std::string meshrt_exe; // the program for the peer process; empty: this one
  /// How the nodes' CAF workers wait (runtime/system_config.hpp): the
  /// bench puts all its nodes on this machine's cores, where efficiency
  /// is the rule.
  scheduling mode = scheduling::efficiency;
};

/// Request/response between two processes on loopback, side by side: raw
/// UDP ping-pong (the floor), CAF's remote actors (BASP over TCP: publish /
/// remote_actor) and meshrt RPC (a node in this process calling an echo
/// handler on a node in the peer process). Figures: rtt_p50_us, rtt_p99_us,
/// throughput_rps (256 outstanding), throughput_rps_1, throughput_rps_16.
bench_report run_rpc_bench(const rpc_bench_options& opts);

/// Sizes of the `meshrt bench fanout` scenario.
struct fanout_bench_options {
  int nodes = 64;
  int rounds = 20; // SendMany calls per limit
  /// How the nodes' CAF workers wait (runtime/system_config.hpp): the
  /// bench puts all its nodes on this machine's cores, where efficiency
  /// is the rule.
  scheduling mode = scheduling::efficiency;
};

/// SendMany from one node to `nodes` in-process nodes, each acknowledging
/// with a Send back to the caller: the time until every acknowledgement is
/// in (fanout64_ms with limit 4; fanout64_ms_limit1, _2, _8, _64), beside
/// one UDP socket sending to `nodes` echo sockets (raw_udp fanout64_ms).
bench_report run_fanout_bench(const fanout_bench_options& opts);

/// The peer process of `meshrt bench rpc` (`meshrt bench-peer`): "mesh"
/// runs a node with an echo handler for command 1 joined to MARS at `mars`;
/// "caf" publishes a string echo actor with CAF's middleman. Prints "ready
/// <address or port>" on stdout once serving, then serves until killed (or
/// until its parent dies). With `key_file` the node seals its packets with
/// that cluster key; its workers wait as `mode` says.
int run_bench_peer(const std::string& kind, uint16_t port, const std::string& mars,
                   const std::string& key_file = "", scheduling mode = scheduling::efficiency);

} // namespace meshrt::bench
