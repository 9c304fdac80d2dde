#pragma once

// The atoms of the transport's actor messages. Each handler's message shape
// is documented where the actor is declared (transport_actor.hpp).

#include <cstddef>

#include <caf/atom.hpp>

namespace meshrt::transport {

using mesh_send_atom = caf::atom_constant<caf::atom("mesh_send")>;
using received_atom = caf::atom_constant<caf::atom("received")>;
using send_failed_atom = caf::atom_constant<caf::atom("sendfailed")>;
using datagram_atom = caf::atom_constant<caf::atom("datagram")>;
using peer_atom = caf::atom_constant<caf::atom("peer")>;
using port_atom = caf::atom_constant<caf::atom("port")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using route_atom = caf::atom_constant<caf::atom("route")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;
/// (faults_atom, double drop_percent) to a transport: from now on, every
/// peer link (present and future) drops that share of its outgoing
/// datagrams (0: none), as a lossy network would (bench scenario's drop
/// fault).
using faults_atom = caf::atom_constant<caf::atom("faults")>;
/// (link_idle_atom, uint32_t address, uint16_t port) from a peer link to
/// its transport: nothing moved for transport_config::link_idle_timeout.
using link_idle_atom = caf::atom_constant<caf::atom("linkidle")>;
/// (unreachable_atom, uint32_t address, uint16_t port) from the receive
/// loop to its transport, and (unreachable_atom, std::string peer) from the
/// transport to its receiver: the peer's host answered a datagram with
/// ICMP port unreachable, nothing is bound to that port any more.
using unreachable_atom = caf::atom_constant<caf::atom("unreach")>;
/// (peer_gone_atom, std::string peer, bool gone) to a transport: the
/// cluster's view lost that peer (true) or has it again (false); and
/// (peer_gone_atom, bool gone) from the transport to the peer's link.
using peer_gone_atom = caf::atom_constant<caf::atom("peergone")>;
/// The most peers a receiver of peer_gone_atom keeps as gone at once (each
/// a few dozen bytes); beyond it, what would have failed at once waits for
/// retryTimeout as before.
constexpr size_t max_gone_peers = 65536;

} // namespace meshrt::transport
