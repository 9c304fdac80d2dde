#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "transport/secret_key.hpp"

namespace caf {
class actor;
class actor_system;
} // namespace caf

namespace meshrt {

/// Settings of `meshrt mars`.
struct mars_config {
  /// Address and port of MARS's mesh socket (exactly that port: nodes are
  /// configured with it).
  std::string address = "127.0.0.1";
  uint16_t port = 6789;
  /// A node silent this long is removed (3 heartbeats of 500 ms).
  uint64_t expiry_us = 1'500'000;
  /// After a start, how long nodes holding a view of an earlier MARS keep it
  /// (registry::options::warmup_until_us); one expiry period by default.
  uint64_t warmup_us = 1'500'000;
  /// How often silent nodes are looked for.
  uint64_t sweep_interval_us = 100'000;
  /// Seconds between metrics lines on the "mars" logger; 0: none.
  uint32_t metrics_interval_s = 0;
  /// The cluster key (--cluster-key-file): MARS takes only packets sealed
  /// with it, as every node of the cluster must (mesh_config::cluster_key).
  std::optional<secret_key> cluster_key;
};

/// Spawns MARS: the registry actor with a transport of its own. Nodes
/// announce themselves (mars_announce) and get back what changed in their
/// app's view since the version they hold (view_delta); silent nodes expire.
/// A node reported with a closed port (mars_suspect) is probed and, when
/// the probe bounces off the closed port too, removed at once, every member
/// told unasked. Throws std::runtime_error if no port can be bound.
///
/// The registry actor answers (transport::port_atom) -> uint16_t, the bound
/// port, and (transport::stats_atom) -> std::string, its counters as JSON
/// (apps with their nodes and shared keys, messages and payload bytes,
/// members removed because their port closed, its transport's under
/// "transport"). Exiting it stops its transport.
caf::actor spawn_mars(caf::actor_system& sys, const mars_config& cfg);

} // namespace meshrt
