#pragma once

#include <chrono>
#include <memory>

#include "transport/endpoint.hpp"
#include "transport/fault_injector.hpp"
#include "transport/session.hpp"

namespace caf {
class actor;
class event_based_actor;
} // namespace caf

namespace meshrt::transport {

class delivery_routes;
class packet_guard;
class udp_socket;

/// Spawns the peer link for one remote address, linked to `self` (the
/// transport actor), so that it ends with the transport. The peer link owns
/// the RUDP session with that peer and runs its timers.
///
/// Handles: (datagram_atom, packed_messages datagrams) from the receive
/// thread; (mesh_send_atom, byte_buffer, bool reliable [, uint64_t tag]),
/// (mesh_send_atom, std::vector<byte_buffer>, bool reliable) and
/// (mesh_send_atom, packed_messages, bool reliable) from senders;
/// (route_atom, uint8_t kind, caf::actor to) from the transport;
/// (stats_atom) -> std::string, the session's counters as a JSON object.
/// What arrives goes out by `routes`. Every packet leaves sealed by
/// `guard` when it has the cluster key. Quiet (nothing to send, resend or
/// acknowledge) and untouched for `idle_timeout` (0: never), it tells the
/// transport (link_idle_atom, address, port), which forgets it, and from
/// then on forwards whatever still reaches it to the transport; it ends
/// when nobody holds its handle (hold a peer link's handle weakly).
caf::actor spawn_peer_link(caf::event_based_actor* self, endpoint peer,
                           std::shared_ptr<udp_socket> sock, std::shared_ptr<packet_guard> guard,
                           const delivery_routes& routes, session_options opts,
                           fault_options faults, std::chrono::milliseconds idle_timeout);

/// Peer links of this process that have not ended (every transport's):
/// what a soak watches to see links of departed peers go.
size_t peer_links_alive();

} // namespace meshrt::transport
