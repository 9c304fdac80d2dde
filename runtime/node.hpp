#pragma once

// A node as an application holds it, and its interface as functions the
// compiler checks: each one fixes the message the node gets and the type of
// its answer, so a wrong message or a handler of the wrong type does not
// compile (the untyped atoms of actors/node_atoms.hpp still work, checked
// only at run time). Every function takes `self`, any CAF actor (an
// event_based_actor* or a scoped_actor), and returns a reply (reply.hpp):
// `.then(on_value, on_error)` in event-based actors, `.receive(...)` in
// blocking ones. No call sets a CAF timer: the node answers every query
// and command at once, and CAF answers a request to a node that is gone.
//
//   auto n = meshrt::start_node(sys, cfg, {"game", "UDP"});
//   meshrt::subscribe(self, n, self);                 // node_event messages
//   meshrt::node_addresses_by_type(self, n, "HTTP")
//     .receive([](std::vector<std::string>& addrs) { ... }, [](caf::error&) { ... });
//   meshrt::request(self, n, greet, addr, greet_request{"ann"}); // runtime/command.hpp

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/timespan.hpp>

#include "actors/handler_function.hpp"
#include "actors/node_actor.hpp"
#include "actors/node_atoms.hpp"
#include "actors/node_event.hpp"
#include "actors/node_record.hpp"
#include "dm/store_atoms.hpp"
#include "runtime/config.hpp"
#include "runtime/reply.hpp"
#include "transport/byte_buffer.hpp"

namespace caf {
class actor_system;
} // namespace caf

namespace meshrt {

/// A mesh node of this process: the node actor, its request correlator,
/// which requests go to directly (one actor hop fewer than through the
/// node; the correlator answers every request by its timeout), its store
/// service (dm/store_service.hpp; runtime/store.hpp's functions) and its DM
/// service (dm/dm_service.hpp; runtime/dm.hpp's functions) with its client
/// gateway.
class node {
public:
  node() = default;

  node(caf::actor node_actor, caf::actor requester, caf::actor store = {}, caf::actor dm = {},
       caf::actor gateway = {}, uint16_t client_port = 0) :
    actor_(std::move(node_actor)),
    requester_(std::move(requester)), store_(std::move(store)), dm_(std::move(dm)),
    gateway_(std::move(gateway)), client_port_(client_port) {}

  /// The node actor (spawn_node), e.g. to monitor it or to send it atoms.
  const caf::actor& actor() const noexcept {
    return actor_;
  }

  /// Where requests go: the node's correlator.
  const caf::actor& requester() const noexcept {
    return requester_;
  }

  /// The node's store service; invalid for a node made without one.
  const caf::actor& store() const noexcept {
    return store_;
  }

  /// The node's DM service; invalid for a node made without one
  /// (dmEnabled false).
  const caf::actor& dm() const noexcept {
    return dm_;
  }

  /// The node's client gateway (dm/client_gateway.hpp); invalid without
  /// one (clientPort 0).
  const caf::actor& gateway() const noexcept {
    return gateway_;
  }

  /// The TCP port clients connect to; 0 without a gateway.
  uint16_t client_port() const noexcept {
    return client_port_;
  }

  explicit operator bool() const noexcept {
    return static_cast<bool>(actor_);
  }

private:
  caf::actor actor_;
  caf::actor requester_;
  caf::actor store_;
  caf::actor dm_;
  caf::actor gateway_;
  uint16_t client_port_ = 0;
};

/// Spawns a node with the mesh part of `cfg` (spawn_node), its store
/// service with the DM part (spawn_store_service) and, unless dmEnabled is
/// false, its DM service (spawn_dm_service) and, with a clientPort, its
/// client gateway (spawn_client_gateway; the node's public endpoint becomes
/// address:port), and returns once it is bound and takes requests. Its first
/// heartbeat to MARS, which makes it known to the cluster, leaves once its
/// services take their messages (never a store or DM message dropped for
/// coming too early), at the return, or with join_atom when `opts` says
/// join_when_told. Throws std::runtime_error if no port can be bound.
node start_node(caf::actor_system& sys, const config& cfg, const node_options& opts);

namespace detail {

template<class T, class Self, class... Ts>
auto ask(Self&& self, const caf::actor& dst, Ts&&... xs) {
  auto h = self->request(dst, caf::infinite, std::forward<Ts>(xs)...);
  return reply<decltype(h), T>{std::move(h)};
}

} // namespace detail

// -- queries, from the node's view (refreshed every heartbeat) ---------------

/// GetMyEndPoint, GetMyNodeEndPoint, GetMyNodeType, GetNodeRole,
/// GetMyNodeValue, IsMyNodeOnline / Taken / Offline.
template<class Self>
auto whoami(Self&& self, const node& n) {
  return detail::ask<node_record>(self, n.actor(), whoami_atom::value);
}

/// GetNode (GetNodeTypeByAddress, GetNodeRoleByAddress, GetNodeValue(s),
/// IsNodeOnline / Taken / Offline): mesh_errc::unknown_node if not in view.
template<class Self>
auto get_node(Self&& self, const node& n, std::string mesh_address) {
  return detail::ask<node_record>(self, n.actor(), node_atom::value, std::move(mesh_address));
}

/// GetNodeByEndPoint, GetNodeMeshEndpoint.
template<class Self>
auto get_node_by_endpoint(Self&& self, const node& n, std::string public_endpoint) {
  return detail::ask<node_record>(self, n.actor(), by_endpoint_atom::value,
                                  std::move(public_endpoint));
}

/// GetNodeAddresses, without the addresses in `ignore`.
template<class Self>
auto node_addresses(Self&& self, const node& n, std::vector<std::string> ignore = {}) {
  return detail::ask<std::vector<std::string>>(self, n.actor(), addresses_atom::value,
                                               std::move(ignore));
}

/// GetNodeAddressesByType (any status).
template<class Self>
auto node_addresses_by_type(Self&& self, const node& n, std::string type) {
  return detail::ask<std::vector<std::string>>(self, n.actor(), by_type_atom::value,
                                               std::move(type));
}

/// GetNodeAddressesByRole.
template<class Self>
auto node_addresses_by_role(Self&& self, const node& n, std::string role) {
  return detail::ask<std::vector<std::string>>(self, n.actor(), by_role_atom::value,
                                               std::move(role));
}

/// GetNodeTypes.
template<class Self>
auto node_types(Self&& self, const node& n) {
  return detail::ask<std::vector<std::string>>(self, n.actor(), types_atom::value);
}

/// GetNodeRoleByType.
template<class Self>
auto node_role_by_type(Self&& self, const node& n, std::string type) {
  return detail::ask<std::string>(self, n.actor(), role_of_type_atom::value, std::move(type));
}

/// GetRandomNodeAddressByType: an online node of `type`, "" if none.
template<class Self>
auto random_node_address_by_type(Self&& self, const node& n, std::string type) {
  return detail::ask<std::string>(self, n.actor(), random_node_atom::value, std::move(type));
}

/// GetSiblingNodeAddress: an online node of this node's type, "" if none.
template<class Self>
auto sibling_node_address(Self&& self, const node& n) {
  return detail::ask<std::string>(self, n.actor(), sibling_atom::value);
}

/// GetNodesWithDifferentPublicAddr.
template<class Self>
auto nodes_with_different_public_addr(Self&& self, const node& n) {
  return detail::ask<std::vector<std::string>>(self, n.actor(), other_public_atom::value);
}

/// GetSharedData: the value, or nullopt if the key is not set.
template<class Self>
auto shared_data(Self&& self, const node& n, std::string key) {
  return detail::ask<std::optional<int16_t>>(self, n.actor(), shared_atom::value, std::move(key));
}

/// IsPartOfCluster: MARS answered within the last 2 s.
template<class Self>
auto is_part_of_cluster(Self&& self, const node& n) {
  return detail::ask<bool>(self, n.actor(), member_atom::value);
}

/// The node's counters (and its correlator's) as one JSON object.
template<class Self>
auto node_stats(Self&& self, const node& n) {
  return detail::ask<std::string>(self, n.actor(), stats_atom::value);
}

// -- commands: applied locally, MARS and the others learn them at once ---------

/// SetNodeValue: `msgpack_value` is one msgpack object (pack(x)).
template<class Self>
auto set_node_value(Self&& self, const node& n, std::string name, byte_buffer msgpack_value) {
  return detail::ask<void>(self, n.actor(), set_value_atom::value, std::move(name),
                           std::move(msgpack_value));
}

/// SetNodeType (the role stays).
template<class Self>
auto set_node_type(Self&& self, const node& n, std::string type) {
  return detail::ask<void>(self, n.actor(), set_type_atom::value, std::move(type));
}

/// SetNodeRole.
template<class Self>
auto set_node_role(Self&& self, const node& n, std::string role) {
  return detail::ask<void>(self, n.actor(), set_role_atom::value, std::move(role));
}

/// SetEndPoint: where clients reach this node.
template<class Self>
auto set_end_point(Self&& self, const node& n, std::string public_endpoint) {
  return detail::ask<void>(self, n.actor(), set_endpoint_atom::value, std::move(public_endpoint));
}

/// SetStatus.
template<class Self>
auto set_status(Self&& self, const node& n, node_status status) {
  return detail::ask<void>(self, n.actor(), set_status_atom::value, status);
}

/// SetSharedData: keys of 1 to 54 characters, else invalid_argument.
template<class Self>
auto set_shared_data(Self&& self, const node& n, std::string key, int16_t value) {
  return detail::ask<void>(self, n.actor(), set_shared_atom::value, std::move(key), value);
}

/// RemoveSharedData: whether the view held the key.
template<class Self>
auto remove_shared_data(Self&& self, const node& n, std::string key) {
  return detail::ask<bool>(self, n.actor(), remove_shared_atom::value, std::move(key));
}

/// WaitForLatestNodeData: answered after two more answers from MARS.
template<class Self>
auto wait_for_latest_node_data(Self&& self, const node& n) {
  return detail::ask<void>(self, n.actor(), wait_latest_atom::value);
}

/// HandleRPC / HandleCommand / SetCommandHandler with an actor that answers
/// (mesh_request_atom, ...) and takes (mesh_message_atom, ...)
/// (runtime/handlers.hpp makes one of a function).
template<class Self>
auto handle(Self&& self, const node& n, uint16_t command, caf::actor handler) {
  return detail::ask<void>(self, n.actor(), handle_atom::value, command, std::move(handler));
}

/// The same with a function the node runs itself (it must return quickly).
template<class Self>
auto handle(Self&& self, const node& n, uint16_t command, handler_function fn) {
  return detail::ask<void>(self, n.actor(), handle_atom::value, command, std::move(fn));
}

/// IsCommandDuplicate.
template<class Self>
auto is_command_duplicate(Self&& self, const node& n, uint16_t command) {
  return detail::ask<bool>(self, n.actor(), is_duplicate_atom::value, command);
}

/// SendRPC / SendRPCWithContext: the handler's bytes, or a meshrt error
/// (runtime/command.hpp's request is the typed form).
template<class Self>
auto send_rpc(Self&& self, const node& n, uint16_t command, std::string mesh_address,
              byte_buffer payload, caf::timespan timeout = default_request_timeout) {
  return detail::ask<byte_buffer>(self, n.requester(), rpc_atom::value, command,
                                  std::move(mesh_address), std::move(payload), timeout);
}

/// SIGTERM's path: offline at once, the store's slots handed to their next
/// owners, the drain, the leave message, the end.
template<class Self>
auto leave(Self&& self, const node& n) {
  if (n.store())
    return detail::ask<void>(self, n.store(), store_leave_atom::value);
  return detail::ask<void>(self, n.actor(), leave_atom::value);
}

// -- one-way messages: a failure comes back to `self` as
// (transport::send_failed_atom, std::string address, caf::error) -------------

/// Send: reliable.
template<class Self>
void send(Self&& self, const node& n, uint16_t command, std::string mesh_address,
          byte_buffer payload) {
  self->send(n.actor(), send_atom::value, command, std::move(mesh_address), std::move(payload));
}

/// USend: unreliable.
template<class Self>
void usend(Self&& self, const node& n, uint16_t command, std::string mesh_address,
           byte_buffer payload) {
  self->send(n.actor(), usend_atom::value, command, std::move(mesh_address), std::move(payload));
}

/// SendMany: the reference's tree, at most `limit` sends per node; each
/// node missed is reported to `self`.
template<class Self>
void send_many(Self&& self, const node& n, uint16_t command, std::vector<std::string> addresses,
               byte_buffer payload, uint16_t limit) {
  self->send(n.actor(), send_many_atom::value, command, std::move(addresses), std::move(payload),
             limit);
}

/// USendMany.
template<class Self>
void usend_many(Self&& self, const node& n, uint16_t command, std::vector<std::string> addresses,
                byte_buffer payload, uint16_t limit) {
  self->send(n.actor(), usend_many_atom::value, command, std::move(addresses), std::move(payload),
             limit);
}

// -- events ------------------------------------------------------------------

/// OnReady, OnInitialSync, OnUpdate, OnUpdated, OnSharedDataUpdate,
/// OnSharedDataRemove: `subscriber` gets every event as a node_event; one
/// that subscribes late learns the present at once (ready, a node_joined
/// for every node in the view, a shared_updated for every value, the sync).
template<class Self>
void subscribe(Self&& self, const node& n, const caf::actor& subscriber) {
  self->send(n.actor(), subscribe_atom::value, subscriber);
}

/// RemoveOnSharedDataUpdate / Remove: `subscriber` gets no more events.
template<class Self>
void unsubscribe(Self&& self, const node& n, const caf::actor& subscriber) {
  self->send(n.actor(), unsubscribe_atom::value, subscriber);
}

} // namespace meshrt
