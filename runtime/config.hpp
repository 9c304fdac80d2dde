#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace meshrt {

/// Mesh settings; names and defaults are those of mesh-api.txt
/// ("Configuration Values"). The JSON key of each field is in its comment.
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
  /// `sendInterval`, ms: 0 sends at once, >= 17 buffers outgoing messages.
  std::chrono::milliseconds send_interval{0};
};

/// Direct-message settings; names and defaults are those of dm-api.txt.
struct dm_config {
  /// `storageTargetNodeType`: node type that hosts user-location shards.
  std::string storage_target_node_type = "HTTP";
  /// `storageRingSize`: slots of the hash ring (must exceed the node count).
  uint32_t storage_ring_size = 300;
  /// `storageMigration`: move keys when storage nodes join or leave.
  bool storage_migration = true;
  /// `storageMigrationBatchSize`: keys per migration message.
  uint32_t storage_migration_batch_size = 10;
  /// `storageMigrationInterval`, ms: pause between migration batches.
  std::chrono::milliseconds storage_migration_interval{1};
};

/// The effective configuration of one meshrt process.
struct config {
  mesh_config mesh;
  dm_config dm;
  /// Adjustments made while loading (e.g. sendInterval raised to 17), one
  /// line each, for the caller to log.
  std::vector<std::string> warnings;
};

/// The smallest buffering interval; sendInterval 1-16 is raised to this.
constexpr std::chrono::milliseconds min_send_interval{17};

/// Reads one environment variable; returns nullopt when unset or empty.
using env_lookup = std::function<std::optional<std::string>(const std::string&)>;

/// The process environment (getenv).
env_lookup process_environment();

/// Loads a JSON config file (an empty path means defaults only), then applies
/// the MARS environment overrides and resolves `nic`. The file is one flat
/// object holding any mesh and DM keys, so the reference's separate mesh.json
/// and dm.json files load as they are. Throws config_error on any bad input.
config load_config(const std::string& path, const env_lookup& env = process_environment());

/// Same as load_config for JSON text already in memory; `source` names it in
/// error messages.
config parse_config(std::string_view json_text, const std::string& source,
                    const env_lookup& env = process_environment());

/// The effective configuration as pretty JSON with the reference's key names.
std::string to_json(const config& cfg);

/// The first IPv4 address of a network interface, or nullopt if the
/// interface does not exist or has none.
std::optional<std::string> interface_ipv4(const std::string& nic);

} // namespace meshrt
