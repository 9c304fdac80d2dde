#pragma once

#include <string>

#include "benchmarks/bench_report.hpp"

namespace meshrt::bench {

/// Sizes of the `meshrt bench dm` scenario.
struct dm_bench_options {
  int first = 300;        // first messages, each from a user that never wrote before
  int cached = 2000;      // messages over one cached channel
  int rpc = 2000;         // node-to-node RPC round trips (the baseline)
  int users = 10000;      // connected users, for memory and healing
  std::string meshrt_exe; // the program for MARS and the nodes; empty: this one
};

/// Direct messages, client to client through two gateways on different node
/// processes (MARS, two storage nodes, two UDP nodes with client ports):
/// the latency of a first message to a user (one store lookup, then the
/// delivery) and of a message over a cached channel, each from the send
/// until the recipient's client has it, beside the node-to-node RPC round
/// trip of the same run (a node in this process asking a UDP node); the
/// memory per connected user (RSS growth of the gateway nodes and of the
/// storage nodes when `users` users log in); and the time from a kill -9 of
/// a storage node until every user's location resolves again.
bench_report run_dm_bench(const dm_bench_options& opts);

} // namespace meshrt::bench
