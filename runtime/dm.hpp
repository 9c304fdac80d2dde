#pragma once

// Direct messages between users (dm/dm_service.hpp) as functions the
// compiler checks, in the style of node.hpp and store.hpp. A user connects
// with an actor that receives its messages and gets a session back; the
// session sends, clears channels and disconnects. Every call is answered by
// its timeout at the latest, with a dm_errc error (dm/dm_error.hpp) when it
// fails.
//
//   meshrt::dm_connect(self, n, "ann", inbox)
//     .receive([&](caf::actor& session) { ann = session; }, [](caf::error&) {});
//   meshrt::send_message_by_user_id(self, ann, "bob", 1, 7, bytes)
//     .receive([] { /* delivered */ }, [](caf::error& err) { /* dm_errc */ });
//   // inbox gets (dm_message_atom, "ann", ver, cmd, bytes) at bob's end.
//
// End users connect through a node's client gateway instead; an application
// whose gateways check login tokens (clientTokenKeyFile) issues them with
// issue_login_token (dm/login_token.hpp) under the same key:
//
//   auto key = meshrt::load_secret_key("token.key");
//   auto token = meshrt::issue_login_token("ann", now + std::chrono::hours{1}, key);

#include <cstdint>
#include <string>
#include <utility>

#include <caf/actor.hpp>
#include <caf/timespan.hpp>

#include "dm/dm_atoms.hpp"
#include "dm/dm_error.hpp"
#include "dm/dm_hooks.hpp"
#include "dm/dm_wire.hpp"
#include "dm/login_token.hpp"
#include "runtime/node.hpp"
#include "runtime/store.hpp"
#include "transport/byte_buffer.hpp"

namespace meshrt {

/// Connects user `uid` (1 to 256 bytes) to this node: `inbox` gets what the
/// user receives — (dm_message_atom, std::string from, uint8_t ver,
/// uint16_t cmd, byte_buffer message), (dm_peer_gone_atom, std::string
/// peer, byte_buffer message), (dm_closed_atom, std::string why) — and the
/// answer is the user's session, once the cluster can find the user. When
/// `inbox` ends, the user is disconnected.
template<class Self>
auto dm_connect(Self&& self, const node& n, std::string uid, const caf::actor& inbox) {
  return detail::ask<caf::actor>(self, n.dm(), dm_connect_atom::value, std::move(uid), inbox);
}

/// Disconnects the user of `session`: every peer in its channel cache gets
/// the on_user_disconnect message, its location goes, the session ends.
template<class Self>
auto dm_disconnect(Self&& self, const caf::actor& session) {
  return detail::ask<void>(self, session, dm_disconnect_atom::value);
}

/// SendMessageByUserID from the user of `session` to user `to`: answered
/// once the recipient's node handed it on, or with reliable_timeout,
/// message_nil, nodes_not_found or user_not_found. Messages from one user
/// to another arrive in the order sent.
template<class Self>
auto send_message_by_user_id(Self&& self, const caf::actor& session, std::string to, uint8_t ver,
                             uint16_t cmd, byte_buffer message,
                             caf::timespan timeout = default_request_timeout) {
  return detail::ask<void>(self, session, dm_send_atom::value, std::move(to), ver, cmd,
                           std::move(message), timeout);
}

/// The same for server-side code, on behalf of `from`, a user connected to
/// node `n` (user_not_found otherwise).
template<class Self>
auto send_message_by_user_id(Self&& self, const node& n, std::string from, std::string to,
                             uint8_t ver, uint16_t cmd, byte_buffer message,
                             caf::timespan timeout = default_request_timeout) {
  return detail::ask<void>(self, n.dm(), dm_send_atom::value, std::move(from), std::move(to), ver,
                           cmd, std::move(message), timeout);
}

/// ClearCacheByUserID: forgets the channel between the user of `session`
/// and `peer` on both ends; a non-empty `message` reaches the peer as one
/// last DM. Silent when nothing is cached.
template<class Self>
void clear_cache_by_user_id(Self&& self, const caf::actor& session, std::string peer, uint8_t ver,
                            uint16_t cmd, byte_buffer message) {
  self->send(session, dm_clear_atom::value, std::move(peer), ver, cmd, std::move(message));
}

namespace detail {

template<class Self>
void add_dm_hook(Self&& self, const node& n, dm_hook_registration r) {
  self->send(n.dm(), dm_add_hook_atom::value, std::move(r));
}

using hook_kind = dm_hook_registration::kind;

} // namespace detail

// The hooks (dm/dm_hooks.hpp), each as a function or as an actor; several of
// a kind run in the order they were registered.

/// SetOnMessage; an actor is asked (dm_hook_message_atom, ...) -> (bool
/// replace, byte_buffer).
template<class Self>
void set_on_message(Self&& self, const node& n, on_message_fn fn) {
  detail::add_dm_hook(self, n, dm_hook_registration{std::move(fn)});
}
template<class Self>
void set_on_message(Self&& self, const node& n, const caf::actor& hook) {
  detail::add_dm_hook(self, n, dm_hook_registration{detail::hook_kind::message, hook});
}

/// SetOnReceiveMessage; an actor is asked (dm_hook_receive_atom, ...) ->
/// bool.
template<class Self>
void set_on_receive_message(Self&& self, const node& n, on_receive_message_fn fn) {
  detail::add_dm_hook(self, n, dm_hook_registration{std::move(fn)});
}
template<class Self>
void set_on_receive_message(Self&& self, const node& n, const caf::actor& hook) {
  detail::add_dm_hook(self, n, dm_hook_registration{detail::hook_kind::receive_message, hook});
}

/// SetOnUserDisconnect; an actor is asked (dm_hook_disconnect_atom,
/// disconnected, peer) -> byte_buffer.
template<class Self>
void set_on_user_disconnect(Self&& self, const node& n, on_user_disconnect_fn fn) {
  detail::add_dm_hook(self, n, dm_hook_registration{std::move(fn)});
}
template<class Self>
void set_on_user_disconnect(Self&& self, const node& n, const caf::actor& hook) {
  detail::add_dm_hook(self, n, dm_hook_registration{detail::hook_kind::user_disconnect, hook});
}

/// SetOnClearCache; an actor is told (dm_hook_clear_atom, cleared, stayed).
template<class Self>
void set_on_clear_cache(Self&& self, const node& n, on_clear_cache_fn fn) {
  detail::add_dm_hook(self, n, dm_hook_registration{std::move(fn)});
}
template<class Self>
void set_on_clear_cache(Self&& self, const node& n, const caf::actor& hook) {
  detail::add_dm_hook(self, n, dm_hook_registration{detail::hook_kind::clear_cache, hook});
}

/// Where user `uid` is connected: the mesh address of its node, as the
/// cluster's store holds the user's location (the lookup of a first
/// message), read through node `n`; nullopt when the user is not connected.
/// For tools and operators (`meshrt dm where`); sending needs no lookup of
/// its own.
template<class Self>
auto dm_locate(Self&& self, const node& n, const std::string& uid,
               caf::timespan timeout = default_request_timeout) {
  return store_get(self, n, location_key(uid), timeout);
}

/// The node's DM service as one JSON object: users, counters, outcomes.
template<class Self>
auto dm_stats(Self&& self, const node& n) {
  return detail::ask<std::string>(self, n.dm(), dm_stats_atom::value);
}

} // namespace meshrt
