#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actors/mesh_config.hpp"
#include "dm/dm_config.hpp"

namespace meshrt {

/// The effective configuration of one meshrt process: each room's own
/// settings (actors/mesh_config.hpp, dm/dm_config.hpp), read from one file.
struct config {
  mesh_config mesh;
  dm_config dm;
  /// metricsPort (meshrt's own): the port of the Prometheus endpoint
  /// (runtime/metrics_server.hpp) on the mesh address; 0, the default: none.
  uint16_t metrics_port = 0;
  /// Adjustments made while loading (e.g. sendInterval raised to 17), one
  /// line each, for the caller to log.
  std::vector<std::string> warnings;
};

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
