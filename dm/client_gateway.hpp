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

/// Spawns a node's client gateway: a TCP listener on `cfg.address` and
/// every client connection in one thread (standalone Asio), speaking
/// dm/client_protocol.hpp to clients and logging each user in at
/// `dm_service` with the connection as the user's sink (user_sink.hpp), so
/// a connected user costs its session. That thread is the actor system's
/// worker if `sys` runs the I/O scheduler (transport/io_scheduler.hpp): a
/// client's frame then reaches its session without a hand-over between
/// threads. Otherwise it is a thread of the gateway's own, and a frame for
/// a client whose socket has nothing queued is written at once by the
/// thread that has it (the DM service's), without waking the gateway's. Bad frames get an error
/// frame and close their connection only. The gateway ends with the DM
/// service. Returns the gateway's actor and the port it listens on; throws
/// std::runtime_error if no port is free.
///
/// - (gateway_stats_atom) -> std::string: connections open and accepted,
///   logins, closes by reason, as one JSON object.
std::pair<caf::actor, uint16_t> spawn_client_gateway(caf::actor_system& sys, caf::actor dm_service,
                                                     const client_gateway_config& cfg);

} // namespace meshrt
