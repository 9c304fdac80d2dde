#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "transport/fault_injector.hpp"
#include "transport/packed_messages.hpp"
#include "transport/secret_key.hpp"
#include "transport/session.hpp"

namespace caf {
class actor;
class actor_system;
} // namespace caf

namespace meshrt::transport {

/// What one node's transport needs to start.
struct transport_config {
  /// `address`: IPv4 address to bind.
  std::string address = "127.0.0.1";
  /// `port`: first port tried; the transport binds the first free one above.
  uint16_t port = 8000;
  /// How many ports from `port` upward are tried (1: exactly `port`).
  int port_attempts = 100;
  /// retryInterval, retryTimeout, sendInterval, windows.
  session_options session;
  /// Seeded fault injection on outgoing datagrams (tests, benchmarks).
  fault_options faults;
  /// Send runs of equal-size packets as one train (UDP_SEGMENT) where the
  /// kernel can. Off: every datagram goes down the stack on its own, e.g.
  /// for a firewall rule that must see each one (nftables judges a train as
  /// one packet before the device cuts it).
  bool trains = true;
  /// A peer link with nothing to send, resend or acknowledge that saw no
  /// datagram and no message for this long ends (a new one starts at the
  /// next contact, in a new epoch), so the links of peers that died or left
  /// do not pile up in a long-running node. 0: links live as long as the
  /// transport.
  std::chrono::milliseconds link_idle_timeout{30000};
  /// The cluster key [clusterKeyFile]: every datagram leaves sealed and
  /// only sealed ones of the same key are taken (transport/packet_guard.hpp).
  /// None: datagrams go plain and sealed ones are dropped.
  std::optional<secret_key> cluster_key;
};

/// Spawns the transport of one node: a UDP socket bound to cfg.address and
/// the first free port from cfg.port upward, a receive thread (epoll +
/// recvmmsg), and one peer link actor per remote address, spawned on first
/// contact. Throws std::runtime_error if no port can be bound.
///
/// Messages the transport actor handles:
/// - (mesh_send_atom, std::string peer, byte_buffer data, bool reliable):
///   sends to "a.b.c.d:port". If the sender is an actor, a failure comes
///   back to it as (send_failed_atom, std::string peer, caf::error): a
///   meshrt network_error when retryTimeout passes without acknowledgement,
///   message_too_large above 10,000,000 bytes, invalid_address.
/// - (mesh_send_atom, std::string peer, byte_buffer data, bool reliable,
///   uint64_t tag): the same, and a failure comes back as (send_failed_atom,
///   std::string peer, caf::error, uint64_t tag): the sender learns which
///   of its messages failed (tag 0 means none is given).
/// - (mesh_send_atom, std::string peer, std::vector<byte_buffer>, bool
///   reliable): the same for several messages, in order, in one actor message.
/// - (mesh_send_atom, std::string peer, packed_messages, bool reliable):
///   several messages in one buffer, the cheapest way to send many small
///   ones: they are copied into the session's bundles with no allocation per
///   message. A batch left unacknowledged fails once, as (send_failed_atom,
///   std::string peer, caf::error); an oversized message in it fails on its
///   own.
/// - (peer_atom, std::string peer) -> caf::actor: the peer link, to which
///   (mesh_send_atom, byte_buffer or std::vector<byte_buffer>, bool reliable
///   [, uint64_t tag]) and (mesh_send_atom, packed_messages, bool reliable)
///   can go directly.
/// - (route_atom, uint8_t kind, caf::actor to): messages whose first byte
///   is `kind` go to `to` instead of `receiver`, from every peer link,
///   present and future (delivery_routes.hpp); an invalid `to` ends the
///   route. Routes set before the first message to or from a peer apply to
///   all of that peer's messages.
/// - (peer_gone_atom, std::string peer, bool gone): the cluster's view
///   lost that peer (true) or has it again (false). A peer that is gone and
///   whose port was reported closed (ICMP port unreachable) is dead: what
///   it has not acknowledged fails at once, as a network_error naming
///   both, instead of after retryTimeout.
/// - (port_atom) -> uint16_t: the bound port.
/// - (stats_atom) -> std::string: counters of the socket, of the cluster
///   key's guard ("auth": datagrams dropped by verdict) and of every peer
///   link as one JSON object.
///
/// Messages to `receiver` (or a route's actor): (received_atom, std::string
/// peer, packed_messages messages, bool reliable): what arrived from one peer
/// since the last delivery, reliable ones in the order they were sent.
/// Packing here is what keeps small messages cheap: one actor message and
/// one buffer per burst, not per message; a message reassembled from
/// fragments comes in a packed_messages of its own, never copied. And
/// (unreachable_atom, std::string peer) when the host of a peer answered
/// one of our datagrams with ICMP port unreachable: nothing is bound to that
/// port now, which on one host or a LAN means the process there died or
/// closed its socket (a silent network reports nothing; only the receiver
/// knows what the peer was).
///
/// Exiting the transport actor (e.g. anon_send_exit) stops the thread,
/// closes the socket and ends every peer link.
caf::actor spawn_transport(caf::actor_system& sys, const transport_config& cfg,
                           const caf::actor& receiver);

} // namespace meshrt::transport
