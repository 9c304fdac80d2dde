#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "actors/mars_protocol.hpp"
#include "transport/secret_key.hpp"

namespace caf {
class actor_system;
} // namespace caf

namespace meshrt {

/// Asks MARS at `mars` ("a.b.c.d:port") for the nodes and shared data of
/// `app` from a transport of its own on any free port; registers nothing.
/// Throws std::invalid_argument for a malformed address and
/// std::runtime_error when MARS cannot be reached or does not answer within
/// `limit`. With `cluster_key` its packets are sealed with it (a keyed MARS
/// takes no others).
mars_status query_mars_status(caf::actor_system& sys, const std::string& mars,
                              const std::string& app,
                              std::chrono::milliseconds limit = std::chrono::seconds{3},
                              const std::optional<secret_key>& cluster_key = std::nullopt);

} // namespace meshrt
