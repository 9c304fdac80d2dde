#pragma once

#include <string>

#include "dm/dm_config.hpp"

namespace caf {
class actor;
class actor_system;
} // namespace caf

namespace meshrt {

/// Spawns the DM service of `node` (start_node does when DM is enabled:
/// the reference's Setup). It logs users in and out (a user session each,
/// user_session.hpp, whose state it holds and whose actor,
/// session_actor.hpp, hands it the session's messages; the user's location
/// is an owned entry of `store`, so it comes back by itself after a storage
/// node dies), carries the sessions' messages to other nodes and theirs to
/// its sessions (the transport's kinds 40-47, dm/dm_wire.hpp, which it
/// routes to itself before it answers anything: start_node waits for
/// that), and holds the hooks. It ends with the node.
///
/// - (dm_connect_atom, std::string uid, caf::actor sink) -> caf::actor: the
///   user's session, once its location is in the store; `sink` gets what
///   the user receives (dm_atoms.hpp). A user already connected here is
///   replaced (its old sink gets dm_closed_atom); so is one connected to
///   another node (that node's session ends the same way, once the store
///   says this login is the latest). Errors: bad_user_id, nodes_not_found,
///   reliable_timeout.
/// - (dm_connect_atom, std::string uid, std::shared_ptr<user_sink> sink) ->
///   caf::actor: the same for a client gateway connection (user_sink.hpp),
///   which ends the session with dm_disconnect_atom.
/// - (dm_send_atom, std::string from, std::string to, uint8_t ver, uint16_t
///   cmd, byte_buffer message, caf::timespan timeout) -> (): a server-side
///   SendMessageByUserID on behalf of `from`, a user connected here
///   (user_not_found otherwise).
/// - (dm_add_hook_atom, dm_hook_registration): adds a hook (dm_hooks.hpp).
/// - (dm_stats_atom) -> std::string: users and counters as one JSON object.
///
/// Of `cfg` it reads messages_out_per_peer (a session's messages to one
/// peer on their way at once) and location_hints (whether it asks the
/// other nodes for their users, kinds 46-47; it answers those that ask
/// either way).
caf::actor spawn_dm_service(caf::actor_system& sys, caf::actor node, caf::actor store,
                            caf::actor transport, std::string self_address, const dm_config& cfg);

} // namespace meshrt
