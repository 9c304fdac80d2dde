#pragma once

#include <string>

#include "benchmarks/bench_report.hpp"
#include "benchmarks/pubsub_driver.hpp"
#include "runtime/system_config.hpp"

namespace meshrt::bench {

/// Sizes of the `meshrt bench dm` scenario.
struct dm_bench_options {
  int first = 300;       // first messages, each from a user that never wrote before
  int cached = 2000;     // messages over one cached channel
  int rpc = 2000;        // node-to-node RPC round trips (the baseline)
  pubsub_options pubsub; // the users of the many-users part
  /// The one-at-a-time passes of the many-users part, split into rounds
  /// that take turns between the systems (every system's servers run
  /// meanwhile): what else this shared machine does falls on all alike.
  int latency_rounds = 4;
  /// Unrecorded messages before each round's passes (pubsub_options::
  /// latency_warmup): past the ~2,000 after which the kernel stops keeping
  /// the driver and a server that just talked a lot on one CPU.
  int latency_warmup = 3000;
  std::string meshrt_exe; // the program for MARS and the nodes; empty: this one
  std::string only;       // meshrt, nats, nats_cluster, redis, floor, floor_cluster; empty: all
  /// How the nodes' CAF workers wait (runtime/system_config.hpp): five
  /// processes share this machine's cores, where efficiency is the rule.
  scheduling mode = scheduling::efficiency;
  /// dmLocationHints of the nodes: off, every first message takes its
  /// lookup through the storage node that owns the recipient's location.
  bool location_hints = true;
};

/// Direct messages, client to client through the gateways of node processes
/// (MARS, two storage nodes and two UDP nodes, each with a client port):
/// the latency of a first message to a user (straight to the node a
/// location hint names, or with `location_hints` off one store lookup, then
/// the delivery) and of a message over a cached channel, each from the send
/// until the recipient's client has it, beside the node-to-node RPC round
/// trip of the same run (a node in this process asking a UDP node). Then
/// `pubsub.users` users spread over the four nodes: memory per user (RSS
/// growth of the nodes), latency one message at a time and messages per
/// second with a window in flight, and the time from a kill -9 of a
/// storage node until every user still connected resolves again. The same
/// users and messages against NATS and Redis pub/sub (each user subscribed
/// to its own subject or channel), servers the bench starts on loopback,
/// and against floor servers in one process and in four (the least a
/// server can do, in the shapes of NATS and of meshrt: floor_server.hpp).
/// Every system's servers run throughout; the one-at-a-time passes take
/// turns between them in `latency_rounds` rounds (each a new connect of
/// the users, with pairs of its own), then each system's load runs follow.
bench_report run_dm_bench(const dm_bench_options& opts);

} // namespace meshrt::bench
