#pragma once

#include <string>

#include "dm/dm_config.hpp"

namespace caf {
class actor;
class actor_system;
} // namespace caf

namespace meshrt {

/// Spawns the store service of `node` (spawn_node): every node has one,
/// storage node or not. It keeps the hash ring from the node's view (nodes
/// of `cfg.storage_target_node_type` that are not offline), runs the
/// location shards of the slots this node owns, sends each request to the
/// owner of its key's slot and answers the caller, and moves slots when the
/// ring changes (`cfg.storage_migration`, paced by
/// `storage_migration_batch_size` / `storage_migration_interval`).
/// `transport` is the node's (transport_atom) and `self_address` its mesh
/// address (whoami_atom). The service routes the transport's kinds 32-34
/// (dm/store_wire.hpp) to itself first thing, before it answers anything
/// (start_node waits for that). It ends with the node.
///
/// Operations, each answered once (by its `timeout` at the latest) with the
/// value or a store_errc error (store_error.hpp): no_storage_nodes when the
/// view has no storage node, key_too_long (empty or over 256 bytes),
/// value_too_large (over 64 KB), not_an_integer, timeout, ring_too_small.
/// - (store_get_atom, std::string key, caf::timespan timeout) ->
///   std::optional<std::string>
/// - (store_set_atom, std::string key, std::string value, uint32_t ttl_ms,
///   bool owned, caf::timespan timeout) -> (): ttl_ms 0 keeps the entry
///   until it is deleted. An owned entry is this node's: when a storage node
///   that held it is gone without handing it over (killed), or with
///   migration off whenever its slot changes owner, this node sets it again
///   at the new owner (the DM service's user locations), and it goes when
///   this node leaves the view.
/// - (store_swap_atom, std::string key, std::string value, uint32_t ttl_ms,
///   bool owned, caf::timespan timeout) -> std::optional<std::string>: the
///   same as a set, answered with the value it replaced (nullopt: none).
/// - (store_disown_atom, std::string key, std::string value) -> (): this
///   node no longer sets its owned entry `key` (if its value is `value`)
///   again; the store keeps the entry as it is (someone else's now).
/// - (store_del_atom, std::string key, caf::timespan timeout) -> bool: it was
///   there.
/// - (store_del_if_atom, std::string key, std::string expected,
///   caf::timespan timeout) -> bool: removed, because its value was
///   `expected` (compare-and-delete; a value set meanwhile by someone else
///   stays).
/// - (store_set_nx_atom, std::string key, std::string value, uint32_t ttl_ms,
///   bool owned, caf::timespan timeout) -> std::optional<std::string>:
///   nullopt if stored, else the value already there (stays).
/// - (store_incr_atom, std::string key, int64_t delta, caf::timespan
///   timeout) -> int64_t: the new value (a missing key counts as 0).
/// - (store_get_many_atom, std::vector<std::string> keys, caf::timespan
///   timeout) -> std::vector<std::optional<std::string>>, in order.
/// - (store_set_many_atom, std::vector<std::string> keys,
///   std::vector<std::string> values, uint32_t ttl_ms, caf::timespan
///   timeout) -> (). The many forms split the keys by slot; the parts for
///   one owner leave in one packed message.
/// - (store_owner_atom, std::string key) -> std::string: the node the ring
///   names for the key (where a lookup of it goes first); no_storage_nodes
///   when the ring is empty.
/// - (store_stats_atom) -> std::string: this node's store as one JSON object
///   (slots by mode, keys, bytes, migrations in flight, counters).
/// - (store_stats_atom, std::string node, caf::timespan timeout) ->
///   std::string: the same of another node, over the mesh.
/// - (store_leave_atom) -> (): the graceful leave (SIGTERM): status offline,
///   every slot handed to its next owner, then the node's leave (leave_atom).
/// - (store_subscribe_atom, caf::actor, uint32_t kinds) : store_event messages
///   of the kinds in `kinds` (store_event_mask): slots handed over and taken
///   over, migration done, ring changed or refused, owned entries taken.
caf::actor spawn_store_service(caf::actor_system& sys, caf::actor node, caf::actor transport,
                               std::string self_address, const dm_config& cfg);

} // namespace meshrt
