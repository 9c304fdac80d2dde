#pragma once

#include <cstdint>

#include <caf/atom.hpp>

namespace caf {
class actor;
class actor_system;
} // namespace caf

namespace meshrt {

namespace transport {
struct transport_config;
} // namespace transport

/// What an actor that owns a transport (MARS, a node) receives once the
/// transport is up: (transport_ready_atom, caf::actor transport, uint16_t
/// bound_port).
using transport_ready_atom = caf::atom_constant<caf::atom("transready")>;

/// Spawns a transport delivering to `owner`, waits for its bound port and
/// sends (transport_ready_atom, transport, port) to `owner`. The transport
/// stops when `owner` ends, however it ends. If the socket cannot be bound,
/// `owner` is stopped and the std::runtime_error passes on.
void attach_transport(caf::actor_system& sys, const caf::actor& owner,
                      const transport::transport_config& cfg);

} // namespace meshrt
