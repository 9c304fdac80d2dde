#pragma once

// What the client commands (ping, store) share: the --mars and
// --cluster-key-file flags, and joining the cluster as a guest node.

#include <optional>
#include <string>

#include "transport/secret_key.hpp"

namespace caf {
class actor_system;
} // namespace caf

namespace meshrt {
struct config;
struct mesh_config;
class node;
} // namespace meshrt

namespace meshrt::cli {

/// Applies a `--mars HOST:PORT` flag to `mesh` (marsAddress, marsPort).
/// Throws std::invalid_argument naming the flag for anything else.
void apply_mars_flag(const std::string& value, mesh_config& mesh);

/// The key of a `--cluster-key-file FILE` flag (every command that talks to
/// the cluster takes one); nullopt for none. Throws std::invalid_argument
/// naming the flag when the file cannot serve.
std::optional<secret_key> cluster_key_flag(const std::string& path);

/// Applies a `--cluster-key-file` flag over the config's clusterKeyFile.
void apply_cluster_key_flag(const std::string& path, mesh_config& mesh);

/// Starts a guest node of `app` with `cfg` and waits up to 2 s for MARS to
/// answer, as the reference's Guest does; `member` says whether it did.
node join_as_guest(caf::actor_system& sys, const config& cfg, const std::string& app, bool& member);

} // namespace meshrt::cli
