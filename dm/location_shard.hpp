#pragma once

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

/// Spawns the location shard of `slot` on the node at `self_address`: the
/// slot's entries (entry_table), its answers to requests (slot_ops), and its
/// side of a migration. It is the store service's (`service`), sends through
/// the node's `transport`, and starts as `mode` with `peer`. Handles:
/// - (shard_request_atom, std::vector<byte_buffer> requests): the same for
///   the requests for the slot of one delivery from the wire; the answers
///   to one peer leave in one packed message.
/// - (shard_request_atom, byte_buffer request): a store request (kind 32)
///   for the slot: answered (owned, outgoing) or forwarded (incoming, moved)
///   with one more hop. The answer goes to the request's origin over the
///   mesh, or to `service` as (store_response_atom, byte_buffer) when the
///   origin is this node.
/// - (shard_migration_atom, std::string peer, byte_buffer message): a
///   migration message (kind 34) for the slot from `peer`. A shard that
///   holds the slot answers a pull with nothing: it hands the slot over
///   when its own service says so (shard_hand_to_atom), and answers what
///   the puller forwards meanwhile; only one that does not hold it answers
///   (complete, or redirect to where the slot is).
/// - (shard_hand_to_atom, std::string to): hand the slot to `to` (outgoing);
///   the service then paces it with shard_batch_atom.
/// - (shard_take_from_atom, std::string from): become incoming from `from`
///   and pull the slot (an empty `from`: owned, starting empty).
/// - (shard_batch_atom, uint32_t n) -> (uint64_t keys, uint64_t bytes, bool
///   done): sends the next at most `n` keys to the new owner; with the last
///   one, the completion. The entries stay until every batch is
///   acknowledged: a refusal makes the shard the owner again.
/// - (shard_peer_gone_atom, std::string node): `node` left the view: its
///   owned entries go, and a migration with it ends (incoming: this shard
///   answers with what it has; outgoing: it answers again, as owned).
/// - (shard_stats_atom) -> (uint64_t keys, uint64_t bytes).
/// Every change of mode goes to `service` as (shard_mode_atom, uint16_t slot,
/// shard_mode, std::string peer, uint64_t keys).
caf::actor spawn_location_shard(caf::actor_system& sys, uint16_t slot, std::string self_address,
                                caf::actor service, caf::actor transport, shard_mode mode,
                                std::string peer);

} // namespace meshrt
