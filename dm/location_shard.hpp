#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace caf {
class actor;
class actor_system;
} // namespace caf

namespace meshrt {

/// How a shard stands to its slot.
enum class shard_mode : uint8_t {
  /// It answers for the slot.
  owned = 0,
  /// It will: the old owner (`peer`) answers until it sends the last batch;
  /// requests go there meanwhile.
  incoming = 1,
  /// It still answers for the slot, and sends it to `peer` in batches.
  outgoing = 2,
  /// It sent the slot to `peer`, which answers for it; requests go there.
  moved = 3,
};

/// "owned", "incoming", ...
const char* to_string(shard_mode mode);

/// Slots per shard: slot s belongs to the shard of group s / slots_per_shard.
/// One actor per slot made the 256 requests of a busy delivery reach ~150
/// actors, one message each; `meshrt bench store --ring-size 30` against 300
/// showed what that costs (README), so a shard holds a contiguous group.
constexpr uint16_t slots_per_shard = 16;

/// The group (shard) of `slot`.
constexpr uint16_t shard_group_of(uint16_t slot) {
  return slot / slots_per_shard;
}

/// Spawns the location shard of `group` on the node at `self_address`: for
/// each slot of the group this node has, the slot's entries (entry_table),
/// its answers to requests (slot_ops), and its side of a migration. It is
/// the store service's (`service`) and sends through the node's
/// `transport`. Handles:
/// - (shard_open_atom, uint16_t slot, uint8_t shard_mode, std::string peer):
///   the slot is this node's now, starting as `shard_mode` (owned, or
///   incoming from `peer`, which it pulls; owned with a `peer`: taken over
///   from `peer` without its entries, see below); (shard_close_atom,
///   uint16_t slot): it is not any more, its entries go.
/// - (shard_request_atom, byte_buffer request): a store request (kind 32)
///   for one of its slots: answered (owned, outgoing) or forwarded
///   (incoming, moved) with one more hop; outgoing, it sends one that
///   nobody forwarded yet to the new owner first. The answer goes to the
///   request's origin over the mesh, or to `service` as
///   (store_response_atom, byte_buffer) when the origin is this node.
/// - (shard_request_atom, std::vector<byte_buffer> requests): the same for
///   the requests of one delivery from the wire; the answers to one peer
///   leave in one packed message.
/// - (shard_migration_atom, std::string peer, byte_buffer message): a
///   migration message (kind 34) for one of its slots from `peer`. A slot
///   that holds its entries answers a pull with nothing: it is handed over
///   when the service says so (shard_hand_to_atom), and answers what the
///   puller forwards meanwhile; only one that does not hold them answers
///   (complete, or redirect to where the slot is). Records pushed to a slot
///   it owns already (two views had it at once) add the keys it lacks and
///   change none it has.
/// - (shard_hand_to_atom, uint16_t slot, std::string to): hand the slot to
///   `to` (outgoing); the service then paces it with shard_batch_atom.
/// - (shard_take_from_atom, uint16_t slot, std::string from): a moved slot
///   pulls itself back from where it went (or `from`; nobody: owned, as it
///   is); an outgoing one stops its handoff.
/// - (shard_batch_atom, uint16_t slot, uint32_t n) -> (uint64_t keys,
///   uint64_t bytes, bool done): sends the next at most `n` keys of the slot
///   to the new owner; with the last one, the completion. The entries stay
///   until every batch is acknowledged: a refusal makes the slot owned
///   again.
/// - (shard_peer_gone_atom, std::string node): `node` left the view: the
///   entries it owned go, and a migration with it ends (incoming: the slot
///   answers with what it has, rebuilding; outgoing: it answers again, as
///   owned).
/// - (shard_get_atom, uint16_t slot, std::string key) -> (bool answered,
///   std::optional<std::string> value): the value of `key` for an actor of
///   this node, answered only while the slot is owned here and not moving,
///   and the key is there or the slot is not rebuilding (false otherwise:
///   the store service then routes the read, which may wait).
/// - (shard_stats_atom) -> (uint64_t keys, uint64_t bytes), over its slots.
/// A slot taken over without its entries (their holder is gone, or
/// migration is off), a moved one whose new holder died, or one whose pull
/// its old holder's death cut short, has its entries set again by their
/// owners (store_service.hpp). For `rebuild_window` after that, a read of
/// a key the slot lacks waits for the key to be set, or for the window's
/// end, rather than answering "not there" for a key on its way (a user's
/// location: user_not_found for a user who is connected). 0: no waiting.
/// Every change of a slot's mode goes to `service` as (shard_mode_atom,
/// uint16_t slot, uint8_t shard_mode, std::string peer, uint64_t keys).
caf::actor spawn_location_shard(caf::actor_system& sys, uint16_t group, std::string self_address,
                                caf::actor service, caf::actor transport,
                                std::chrono::milliseconds rebuild_window);

} // namespace meshrt
