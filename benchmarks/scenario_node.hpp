#pragma once

// What every node of a load scenario runs (benchmarks/scenario_runner.hpp),
// in the runner's process or as a child process of its own (`meshrt
// scenario-node`, the cluster mode "processes"): an echo for rpc, and a sink
// for one-way messages that tells each message's sender it arrived and how
// long it took. Messages carry their send time on the machine's monotonic
// clock (CLOCK_MONOTONIC, the same in every process), so the node that
// receives computes the latency.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "transport/byte_buffer.hpp"

namespace caf {
class actor_system;
} // namespace caf

namespace meshrt {
class node;
} // namespace meshrt

namespace meshrt::bench {

/// rpc: answered with the request's bytes.
constexpr uint16_t scenario_echo = 900;
/// send, usend, fanout: counted where they arrive, reported to the sender.
constexpr uint16_t scenario_sink = 901;
/// The report of one arrival, a Send to the message's sender.
constexpr uint16_t scenario_arrival = 903;
/// What the node's process holds, answered as JSON: {"rss_kb", "fds",
/// "actors", "links"} (resident memory, open descriptors, running actors,
/// peer links alive).
constexpr uint16_t scenario_probe = 904;

/// This process's figures as scenario_probe answers them.
std::string probe_process(caf::actor_system& sys);

/// Microseconds on the machine's monotonic clock.
uint64_t monotonic_us();

/// What a one-way message of a scenario carries first.
struct message_stamp {
  uint8_t op = 0; // 1 send, 2 usend, 3 fanout, 4 dm
  uint64_t seq = 0;
  uint64_t sent_us = 0; // monotonic_us() at the send
};

/// A message of `size` bytes (at least the stamp's 17) that starts with `s`.
byte_buffer stamped(const message_stamp& s, size_t size);

/// The stamp at the start of `bytes`, nullopt if it is too short.
std::optional<message_stamp> read_stamp(const byte_buffer& bytes);

/// One arrival: which message, where, after how long.
struct arrival {
  message_stamp stamp;
  uint64_t latency_us = 0;
  std::string at; // the receiving node's mesh address
};

byte_buffer encode(const arrival& a);

std::optional<arrival> decode_arrival(const byte_buffer& bytes);

/// Registers the echo and the sink on `n` (at mesh address `address`).
void install_scenario_handlers(caf::actor_system& sys, const node& n, const std::string& address);

} // namespace meshrt::bench
