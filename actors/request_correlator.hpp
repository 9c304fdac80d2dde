#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/timespan.hpp>

#include "actors/mesh_envelope.hpp"

namespace caf {
class actor;
class event_based_actor;
} // namespace caf

namespace meshrt {

/// (local_call_atom, uint16_t command, byte_buffer payload, caf::timespan
/// timeout) -> byte_buffer: a request to the node's own address, which the
/// correlator hands to its node (spawn_node): the handlers run there.
using local_call_atom = caf::atom_constant<caf::atom("localcall")>;

/// How the correlator judges a peer's health.
struct correlator_options {
  /// How long one built-in health check may take.
  std::chrono::milliseconds health_timeout{1000};
  /// Health checks failed in a row (unanswered within health_timeout, or
  /// given up by the transport) before the peer counts as unhealthy. One
  /// is not enough: under heavy packet loss a check and its answer can need
  /// more than a second of retransmissions, or now and then exhaust
  /// retryTimeout, and an unhealthy peer's requests fail at once, so a
  /// single unlucky check would fail every request for a recheck_interval
  /// (measured: `meshrt ping` at 40% loss lost 298 of 300 that way).
  uint32_t missed_checks{3};
  /// The transport's retryTimeout: a failure it reports concerns only
  /// requests sent at least this long before.
  std::chrono::milliseconds retry_timeout{3000};
  /// How often an unhealthy peer is checked again.
  std::chrono::milliseconds recheck_interval{1000};
  /// An unhealthy peer nobody sent a request to for this long is forgotten
  /// (and no longer checked).
  std::chrono::milliseconds forget_after{30000};
  /// A peer that a request has waited on this long gets a health check,
  /// and another every probe_after while requests wait on it (0: never).
  /// A member whose process died after its transport took a request sends
  /// nothing and is sent nothing: the check bounces off its closed port,
  /// the cluster's view loses it at once, and the request fails then,
  /// where it waited for MARS to expire the member (1.5 s by default) or
  /// for its own timeout. A live member answers the check, however long
  /// its handler takes.
  std::chrono::milliseconds probe_after{250};
};

/// Spawns the request correlator of a node, linked to `owner` (the node
/// actor at `self_address`), sending through `transport`. It owns request
/// ids, the pending table with deadlines, and the health of peers.
///
/// Handles:
/// - (rpc_atom, uint16_t command, std::string peer, byte_buffer payload
///   [, caf::timespan timeout]) -> byte_buffer: the node's own request
///   message (spawn_node). Sends a request envelope and answers with the
///   response's payload, or with a meshrt error: handler_error, no_handler,
///   invalid_data (as the peer reports them), request_timeout,
///   network_error (the transport gave up on the peer), unhealthy (the peer
///   did not answer a health check; such requests fail at once until it
///   answers one again), message_too_large, invalid_address. The node
///   delegates requests here, so the answer goes straight to the
///   application's actor; an application on a hot path may send here
///   directly (the node's requester_atom), one actor message fewer per
///   request. This is the one place that tells a request to the node's own
///   address (`self_address`) from one to a peer: such a request goes back
///   to the node as local_call_atom and never touches the network.
/// - (received_atom, std::string peer, packed_messages, bool) from the
///   peer links (the node routes response envelopes here, transport
///   route_atom) or from the node (any it got before the route was set):
///   each response is matched by id; one to an expired or unknown id is
///   dropped and counted (`late_responses`), anything that is not a
///   well-formed response is dropped and counted (`malformed`).
/// - (stats_atom) -> std::string: counters as a JSON object.
///
/// Every request is answered exactly once: by its response, its deadline,
/// its peer's failure, or (network_error) the node stopping. Callers need
/// no CAF request timeout of their own.
///
/// A request that times out, or whose peer cannot be reached, makes the
/// correlator send that peer the built-in health check (at most one at a
/// time, the next at once when one fails); after missed_checks failed in
/// a row the peer is unhealthy, and is checked again every
/// recheck_interval until it answers. So does a request still waiting
/// after probe_after (see there).
caf::actor spawn_request_correlator(caf::event_based_actor* owner, caf::actor transport,
                                    std::string self_address, correlator_options opts);

/// A request's timeout as the wire carries it: whole milliseconds, at least
/// 1, at most UINT32_MAX.
uint32_t wire_timeout_ms(caf::timespan timeout);

/// What the answering node puts on the wire for a handler's failure: the
/// status and the error text.
std::pair<response_status, std::string> to_response(const caf::error& err);

/// The error a caller receives for a response of `status` (not ok) with
/// error text `text`, from `peer` for `command`.
caf::error from_response(response_status status, const std::string& text, const std::string& peer,
                         uint16_t command);

} // namespace meshrt
