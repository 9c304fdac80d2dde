#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "actors/mesh_config.hpp"

namespace caf {
class actor;
class actor_system;
} // namespace caf

namespace meshrt {

/// What a node is, beyond the mesh settings of its config file.
struct node_options {
  /// The namespace in MARS (SetAppName); nodes of other apps are invisible.
  /// Empty, as without SetAppName, is a namespace like any other.
  std::string app;
  /// Node type: "HTTP", "UDP", "TCP" or a custom one (SetNodeType).
  std::string type = "HTTP";
  /// Node role (the server's protocol: HTTP, UDP, TCP or DGS). Empty: the
  /// type, when the type is one of those, else "HTTP".
  std::string role;
  /// Where clients reach this node ("host:port"; SetEndPoint); may be empty.
  std::string public_endpoint;
  /// Guest: sends and receives mesh messages, reads the view, is not listed.
  bool guest = false;
  /// Heartbeat to MARS; MARS removes a node silent for 3 of them.
  std::chrono::milliseconds heartbeat{500};
  /// After `leave`: how long the node stays listed as offline before it
  /// leaves MARS, so that peers see "offline, then gone".
  std::chrono::milliseconds drain{1000};
  /// Heartbeats to MARS start only with join_atom: no peer learns of the
  /// node before then. start_node holds them until the node's services
  /// take their messages.
  bool join_when_told = false;
};

/// How long a request waits for its response unless the call says
/// otherwise (the reference's SendRPC default).
constexpr std::chrono::seconds default_request_timeout{3};

/// The four roles (the reference's HTTPRole, UDPRole, TCPRole, DGSRole): the
/// protocol a node serves its clients with.
constexpr const char* http_role = "HTTP";
constexpr const char* udp_role = "UDP";
constexpr const char* tcp_role = "TCP";
constexpr const char* dgs_role = "DGS";

/// The role a node of `type` has when none is given: the type itself when
/// it names a role, else http_role.
std::string default_role(const std::string& type);

/// Spawns a mesh node: a transport bound to mesh.address and the first
/// free port from mesh.port, heartbeats to MARS (mesh.mars_address,
/// mars_port; the name is resolved again after marsAddressCacheTTL), and the
/// cached cluster view. Throws std::runtime_error if no port can be bound.
///
/// Queries, answered from the view (refreshed every heartbeat; the
/// reference's "cache is two seconds"):
/// - (whoami_atom) -> node_record: this node (GetMyEndPoint,
///   GetMyNodeEndPoint, GetNodeType, GetNodeRole, GetMyNodeValue,
///   IsMyNodeOnline / Taken / Offline).
/// - (node_atom, std::string mesh_address) -> node_record, or the error
///   mesh_errc::unknown_node (GetNode, GetNodeEndPoint, GetNodeTypeByAddress,
///   GetNodeRoleByAddress, GetNodeValue(s), IsNodeOnline / Taken / Offline).
/// - (by_endpoint_atom, std::string public_endpoint) -> node_record, or
///   unknown_node (GetNodeByEndPoint, GetNodeMeshEndpoint).
/// - (addresses_atom, std::vector<std::string> ignore) ->
///   std::vector<std::string> (GetNodeAddresses).
/// - (by_type_atom, std::string type) -> std::vector<std::string>, any
///   status (GetNodeAddressesByType).
/// - (by_role_atom, std::string role) -> std::vector<std::string>.
/// - (types_atom) -> std::vector<std::string> (GetNodeTypes).
/// - (role_of_type_atom, std::string type) -> std::string (GetNodeRoleByType).
/// - (random_node_atom, std::string type) -> std::string: an online node of
///   that type, "" if none (GetRandomNodeAddressByType).
/// - (sibling_atom) -> std::string: an online node of this node's type other
///   than itself, "" if none (GetSiblingNodeAddress).
/// - (other_public_atom) -> std::vector<std::string>
///   (GetNodesWithDifferentPublicAddr).
/// - (shared_atom, std::string key) -> (int16_t value, bool found)
///   (GetSharedData).
/// - (member_atom) -> bool: MARS answered within the last 2 s
///   (IsPartOfCluster).
/// - (stats_atom) -> std::string: counters as one JSON object.
///
/// Commands, each answered with an empty message (or an error) once applied locally;
/// MARS and the other nodes learn them with the next heartbeat, which is
/// sent at once:
/// - (set_value_atom, std::string name, byte_buffer msgpack_value)
///   (SetNodeValue; the value is one msgpack object).
/// - (set_type_atom, std::string type) (SetNodeType; the role stays).
/// - (set_role_atom, std::string role) (SetNodeRole).
/// - (set_endpoint_atom, std::string public_endpoint) (SetEndPoint).
/// - (set_status_atom, node_status) (SetStatus).
/// - (set_shared_atom, std::string key, int16_t value) (SetSharedData):
///   keys of 1 to 54 characters, else mesh_errc::invalid_argument.
/// - (remove_shared_atom, std::string key) -> bool: whether the view held
///   the key (RemoveSharedData).
/// - (subscribe_atom, caf::actor) / (unsubscribe_atom, caf::actor): events
///   below go to the actor. One that subscribes late learns the present at
///   once: ready, a node_joined for every node in the view, a
///   shared_updated for every shared value, then the initial sync.
/// - (wait_latest_atom) -> (), once two more updates from MARS have
///   been applied (WaitForLatestNodeData).
/// - (handle_atom, uint16_t command, caf::actor handler): adds `handler` for
///   that command (HandleRPC, HandleCommand, SetCommandHandler); a command
///   may have several, called in registration order. One-way messages go to
///   every handler as (mesh_message_atom, uint16_t command, std::string
///   sender, byte_buffer payload). Requests go to each handler in turn as
///   (mesh_request_atom, uint16_t command, std::string sender, byte_buffer
///   payload) -> byte_buffer: the last handler's answer is the response,
///   the first error ends the chain and is the caller's error (a meshrt
///   invalid_data error stays one; any other is a handler_error with its
///   text). Command 0xFFFF (health_check_command) is refused with
///   invalid_argument. runtime/handlers.hpp makes handler actors of
///   functions.
/// - (handle_atom, uint16_t command, handler_function fn): the same, but
///   the node runs `fn` itself (two actor messages fewer per request; it
///   must return quickly); an exception in it is a handler_error.
/// - (is_duplicate_atom, uint16_t command) -> bool: a handler is already
///   registered for it (IsCommandDuplicate).
/// - (rpc_atom, uint16_t command, std::string mesh_address, byte_buffer
///   payload [, caf::timespan timeout]) -> byte_buffer: a request (SendRPC,
///   SendRPCWithContext, SendRequest), answered by the node's request
///   correlator with the response or a meshrt error: handler_error,
///   no_handler, invalid_data, request_timeout (after `timeout`, default
///   3 s), unhealthy, network_error, message_too_large, invalid_address.
///   runtime/command.hpp wraps this for typed commands. The node answers
///   every request (by its timeout at the latest), so callers need no CAF
///   request timeout of their own.
/// - (requester_atom) -> caf::actor: the node's request correlator, which
///   takes the same rpc_atom messages one actor hop sooner (the node
///   delegates them there); a meshrt::node handle (runtime/node.hpp) holds
///   it, so meshrt::request on a handle takes that path by itself.
/// - (transport_atom) -> caf::actor: the node's transport, for a layer
///   above that routes its own message kinds (route_atom) and sends
///   through the node's socket (the store service, dm/store_service.hpp).
/// - (send_atom, uint16_t command, std::string mesh_address, byte_buffer
///   payload) and (usend_atom, ...): a reliable / unreliable mesh message
///   (Send, USend). A reliable send that fails comes back to the sender as
///   (transport::send_failed_atom, std::string peer, caf::error).
/// - (send_many_atom, uint16_t command, std::vector<std::string> addresses,
///   byte_buffer payload, uint16_t limit) and (usend_many_atom, ...):
///   SendMany / USendMany. This node sends to at most `limit` of the
///   addresses, each forwards to at most `limit` of its branch, and so on
///   (actors/fanout_plan.hpp): each address gets the message once, with the
///   caller's node as the sender, within ceil(log_limit(N)) hops. A node of
///   the tree that cannot be reached is routed around by the node that sent
///   to it (its branch is sent from there), and the caller of a reliable
///   SendMany gets (transport::send_failed_atom, std::string address,
///   caf::error) for it. Duplicates and this node's own address are
///   delivered once; limit 0 is invalid_argument.
///
/// Calls a node makes to its own address skip the network (the correlator
/// hands them back to the node, which runs its handlers).
/// - (join_atom): the first heartbeat to MARS, for a node spawned with
///   join_when_told (otherwise it heartbeats from the start; once is enough).
/// - (leave_atom) -> (): SIGTERM's path: status offline at once,
///   `drain` later a leave message to MARS, then the node exits.
///
/// Events, each a node_event (actors/node_event.hpp) to every subscriber:
/// ready once the socket is bound; initial_sync after the first view from
/// MARS; update before and updated after each answer from MARS is applied;
/// shared_updated (key, value) and shared_removed (key); node_joined,
/// node_left, node_status (address, status) and node_changed (address: type,
/// role, endpoint or values) for the view; mars_sync (incarnation) when the
/// node first syncs with a MARS incarnation (the initial sync and after each
/// MARS restart); mars_lost when MARS stops answering.
///
/// With mesh.strict_check_for_external, mesh messages from addresses
/// that are neither in the view nor MARS are dropped and counted.
caf::actor spawn_node(caf::actor_system& sys, const mesh_config& mesh, const node_options& opts);

} // namespace meshrt
