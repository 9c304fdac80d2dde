#pragma once

// What the client commands (ping, store, dm where) share: the --mars and
// --cluster-key-file flags, and joining the cluster as a guest node.

#include <memory>
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

/// What a client command runs on: an actor system of its own and a guest
/// node of `app`, started with `cfg` under the `--mars` and
/// `--cluster-key-file` flags (which throw std::invalid_argument as the
/// apply_* functions do), after waiting up to 2 s for MARS to answer, as
/// the reference's Guest does. The node ends with it.
class guest_node {
public:
  guest_node(config cfg, const std::string& mars, const std::string& cluster_key_file,
             const std::string& app);
  ~guest_node();

  guest_node(const guest_node&) = delete;
  guest_node& operator=(const guest_node&) = delete;

  caf::actor_system& system();

  const node& get() const;

  /// Whether MARS answered within 2 s.
  bool member() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace meshrt::cli
