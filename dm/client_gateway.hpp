#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include <caf/actor.hpp>

#include "dm/dm_config.hpp"

namespace caf {
class actor_system;
} // namespace caf

namespace meshrt {

/// Spawns a node's client gateway (CAF's middleman brokers, so the actor
/// system must load caf::io::middleman: apply_meshrt_defaults does): a TCP
/// listener on `cfg.address`, one broker per connection, speaking
/// dm/client_protocol.hpp to clients and logging each user in at
/// `dm_service` (the broker is the user's receiver). Bad frames get an
/// error frame and close their connection only. Returns the gateway and the
/// port it listens on; throws std::runtime_error if no port is free.
///
/// - (gateway_stats_atom) -> std::string: connections open and accepted,
///   logins, closes by reason, as one JSON object.
std::pair<caf::actor, uint16_t> spawn_client_gateway(caf::actor_system& sys, caf::actor dm_service,
                                                     const client_gateway_config& cfg);

} // namespace meshrt
