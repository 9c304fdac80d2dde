#pragma once

// What the client commands (ping, store) share: the --mars flag, and
// joining the cluster as a guest node.

#include <string>

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

/// Starts a guest node of `app` with `cfg` and waits up to 2 s for MARS to
/// answer, as the reference's Guest does; `member` says whether it did.
node join_as_guest(caf::actor_system& sys, const config& cfg, const std::string& app, bool& member);

} // namespace meshrt::cli
