#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "transport/transport_actor.hpp"

namespace meshrt {

/// A node's mesh settings; names and defaults are those of mesh-api.txt
/// ("Configuration Values"). The JSON key of each field is in its comment;
/// runtime/config.hpp reads them from a file.
struct mesh_config {
  /// `address`: the address the mesh socket binds to.
  std::string address = "127.0.0.1";
  /// `nic`: interface whose IPv4 address replaces `address` when the file
  /// names `nic` but not `address` (the reference: "either address or nic").
  std::string nic = "eth0";
  /// `port`: first port tried; binding scans upward to the first free one.
  uint16_t port = 8000;
  /// `marsAddress` (env MESH_MARS_ADDR or DIARKIS_MARS_ADDR): host of MARS.
  std::string mars_address = "127.0.0.1";
  /// `marsPort` (env MESH_MARS_PORT or DIARKIS_MARS_PORT).
  uint16_t mars_port = 6789;
  /// `marsAddressCacheTTL`, seconds: how long a resolved MARS address is kept.
  std::chrono::seconds mars_address_cache_ttl{60};
  /// `retryInterval`, ms: upper bound of the RUDP retransmission timeout.
  std::chrono::milliseconds retry_interval{1000};
  /// `retryTimeout`, ms: a reliable message unacknowledged this long fails.
  std::chrono::milliseconds retry_timeout{3000};
  /// `strictCheckForExternal`: drop mesh messages from non-members.
  bool strict_check_for_external = false;
  /// `linkIdleTimeout`, ms (meshrt's own): a peer link quiet and untouched
  /// this long ends (the next contact starts a new one), so links to peers
  /// that died or left do not pile up; 0: never.
  std::chrono::milliseconds link_idle_timeout{30000};
  /// `sendInterval`, ms: 0 sends at once, >= 17 buffers outgoing messages.
  std::chrono::milliseconds send_interval{0};
  /// `clusterKeyFile` (meshrt's own; flag --cluster-key-file): every mesh
  /// and MARS packet carries a MAC under this key and a packet number
  /// (transport/packet_guard.hpp); nodes without it cannot join. None: an
  /// open cluster, as the reference.
  std::optional<secret_key> cluster_key;
  /// The file cluster_key came from (shown by `meshrt config check`).
  std::string cluster_key_file;
};

/// The smallest buffering interval; sendInterval 1-16 is raised to this.
constexpr std::chrono::milliseconds min_send_interval{17};

/// What a node's transport gets of its mesh settings: `address` and `port`
/// to bind, `retryInterval`, `retryTimeout` and `sendInterval` for every
/// peer session, and the cluster key.
transport::transport_config transport_config_of(const mesh_config& mesh);

} // namespace meshrt
