#pragma once

#include "runtime/config.hpp"
#include "transport/transport_actor.hpp"

namespace meshrt {

/// The transport settings of a node's mesh configuration: `address` and
/// `port` to bind, and `retryInterval`, `retryTimeout` and `sendInterval` for
/// every peer session.
transport::transport_config transport_settings(const mesh_config& mesh);

} // namespace meshrt
