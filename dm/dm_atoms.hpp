#pragma once

// The vocabulary of the DM service (dm_service.hpp), its user sessions
// (user_session.hpp) and the actors that receive a user's messages.

#include <memory>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include "dm/dm_hooks.hpp"
#include "dm/user_sink.hpp"

namespace meshrt {

// -- what applications send the DM service and sessions ----------------------

using dm_connect_atom = caf::atom_constant<caf::atom("dmconnect")>;
using dm_disconnect_atom = caf::atom_constant<caf::atom("dmdisconn")>;
using dm_send_atom = caf::atom_constant<caf::atom("dmsend")>;
using dm_clear_atom = caf::atom_constant<caf::atom("dmclear")>;
/// (dm_client_send_atom, uint32_t seq, std::string to, uint8_t ver, uint16_t
/// cmd, byte_buffer message, caf::timespan timeout) to a session whose
/// receiver is a user_sink: SendMessageByUserID, the outcome to the sink's
/// send_result(seq, ...) instead of a response.
using dm_client_send_atom = caf::atom_constant<caf::atom("dmclisend")>;
/// (dm_client_clear_atom, std::string peer, uint8_t ver, uint16_t cmd,
/// byte_buffer message) to a session whose receiver is a user_sink:
/// ClearCacheByUserID, its end told to the sink's cleared().
using dm_client_clear_atom = caf::atom_constant<caf::atom("dmcliclear")>;
using dm_stats_atom = caf::atom_constant<caf::atom("dmstats")>;
using dm_add_hook_atom = caf::atom_constant<caf::atom("dmaddhook")>;
using gateway_stats_atom = caf::atom_constant<caf::atom("gwstats")>;

// -- what a user's receiver (a gateway connection, an application actor) gets --

/// (dm_message_atom, std::string from, uint8_t ver, uint16_t cmd,
/// byte_buffer message): a direct message.
using dm_message_atom = caf::atom_constant<caf::atom("dmmessage")>;
/// (dm_peer_gone_atom, std::string peer, byte_buffer message): a user this
/// one talked with disconnected; the message is its on_user_disconnect
/// message (maybe empty).
using dm_peer_gone_atom = caf::atom_constant<caf::atom("dmpeergone")>;
/// (dm_closed_atom, std::string why): the session ended from the server's
/// side (the same user logged in again on this node).
using dm_closed_atom = caf::atom_constant<caf::atom("dmclosed")>;

// -- actor hooks (dm_hooks.hpp) ---------------------------------------------------

using dm_hook_message_atom = caf::atom_constant<caf::atom("dmhookmsg")>;
using dm_hook_receive_atom = caf::atom_constant<caf::atom("dmhookrecv")>;
using dm_hook_disconnect_atom = caf::atom_constant<caf::atom("dmhookdisc")>;
using dm_hook_clear_atom = caf::atom_constant<caf::atom("dmhookclr")>;

// -- inside the DM service -----------------------------------------------------------
/// (dm_session_call_atom, std::string uid, uint64_t id, caf::message m): a
/// message `m` to the actor of a user's session (session_actor.hpp), as
/// the DM service that holds the session gets it.
using dm_session_call_atom = caf::atom_constant<caf::atom("dmsesscall")>;
using dm_tick_atom = caf::atom_constant<caf::atom("dmtick")>;
/// Time to look whether the ring has a new owner for the finds whose
/// storage node left before it answered.
using dm_refind_atom = caf::atom_constant<caf::atom("dmrefind")>;

/// A hook to add (dm_add_hook_atom): one of the four, function or actor.
struct dm_hook_registration {
  enum class kind : uint8_t { message, receive_message, user_disconnect, clear_cache };

  dm_hook_registration() = default;
  explicit dm_hook_registration(on_message_fn fn) : on_message(std::move(fn)) {}
  explicit dm_hook_registration(on_receive_message_fn fn) :
    what(kind::receive_message), on_receive_message(std::move(fn)) {}
  explicit dm_hook_registration(on_user_disconnect_fn fn) :
    what(kind::user_disconnect), on_user_disconnect(std::move(fn)) {}
  explicit dm_hook_registration(on_clear_cache_fn fn) :
    what(kind::clear_cache), on_clear_cache(std::move(fn)) {}
  dm_hook_registration(kind k, caf::actor hook) : what(k), actor(std::move(hook)) {}

  kind what = kind::message;
  on_message_fn on_message;
  on_receive_message_fn on_receive_message;
  on_user_disconnect_fn on_user_disconnect;
  on_clear_cache_fn on_clear_cache;
  caf::actor actor;
};

} // namespace meshrt

// Hooks stay inside one process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(meshrt::dm_hook_registration)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<meshrt::user_sink>)
