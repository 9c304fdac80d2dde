#pragma once

#include <memory>

#include "transport/endpoint.hpp"
#include "transport/fault_injector.hpp"
#include "transport/session.hpp"

namespace caf {
class actor;
class event_based_actor;
} // namespace caf

namespace meshrt::transport {

class udp_socket;

/// Spawns the peer link for one remote address, linked to `self` (the
/// transport actor), so that it ends with the transport. The peer link owns
/// the RUDP session with that peer and runs its timers.
///
/// Handles: (datagram_atom, packed_messages datagrams) from the receive
/// thread; (mesh_send_atom, byte_buffer, bool reliable [, uint64_t tag]),
/// (mesh_send_atom, std::vector<byte_buffer>, bool reliable) and
/// (mesh_send_atom, packed_messages, bool reliable) from senders;
/// (stats_atom) -> std::string, the session's counters as a JSON object.
caf::actor spawn_peer_link(caf::event_based_actor* self, endpoint peer,
                           std::shared_ptr<udp_socket> sock, caf::actor receiver,
                           session_options opts, fault_options faults);

} // namespace meshrt::transport
