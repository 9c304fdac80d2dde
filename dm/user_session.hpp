#pragma once

#include <memory>
#include <string>

#include <caf/actor.hpp>

namespace caf {
class actor_system;
} // namespace caf

namespace meshrt {

struct dm_hook_table;
class user_sink;

/// What a user's session is made of.
struct user_session_args {
  /// The user's id (1 to 256 bytes).
  std::string uid;
  /// The node's DM service (dm_service.hpp): deliveries and lookups go
  /// through it.
  caf::actor service;
  /// Where the user's messages go (dm_atoms.hpp: dm_message_atom,
  /// dm_peer_gone_atom, dm_closed_atom); the session ends when it ends.
  caf::actor sink;
  /// Or, instead of an actor, a client gateway connection's sink.
  std::shared_ptr<user_sink> direct_sink;
  std::shared_ptr<dm_hook_table> hooks;
};

/// Spawns the session of one connected user (the DM service does, at
/// login). It holds the user's channel cache (peer user id -> the node the
/// peer is connected to) and its outgoing messages, one queue per peer: the
/// head of a queue goes to the node the cache names, else with its lookup
/// to the node that owns the peer's location (FindData), and is answered
/// before the next leaves, so messages from one user to another
/// arrive in the order sent, and a message is sent again only when the
/// recipient's node said it did not take it (exactly once). It runs the
/// hooks of what the user receives and of its disconnect.
///
/// - (dm_send_atom, std::string to, uint8_t ver, uint16_t cmd, byte_buffer
///   message, caf::timespan timeout) -> (): SendMessageByUserID; a dm_errc
///   error (dm_error.hpp) otherwise.
/// - (dm_client_send_atom, uint32_t seq, std::string to, uint8_t ver,
///   uint16_t cmd, byte_buffer message, caf::timespan timeout): the same,
///   the outcome to the direct sink's send_result(seq, ...).
/// - (dm_clear_atom, std::string peer, uint8_t ver, uint16_t cmd,
///   byte_buffer message): ClearCacheByUserID (silent when nothing is
///   cached).
/// - (dm_disconnect_atom) -> (): the disconnect: every cached peer gets its
///   on_user_disconnect message, the location goes, the session ends. An
///   actor sink's end does the same.
caf::actor spawn_user_session(caf::actor_system& sys, user_session_args args);

} // namespace meshrt
