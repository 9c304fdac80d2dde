#pragma once

namespace caf {
class actor;
class actor_system;
} // namespace caf

namespace meshrt {

/// Spawns what stands in for the DM service on a node started with DM off
/// (`dmEnabled` false): it takes the DM's message kinds (40-47,
/// dm/dm_wire.hpp) from `transport`, so that none reaches the node, which
/// would log each as a malformed mesh message. The nodes with DM ask every
/// node that joins their view for its users (kind 47): those asks, and
/// the users other nodes announce (kind 46), mean nothing here and are
/// dropped quietly. A message for a user (the other kinds) has no user
/// here: dropped, with one warning per sending node. Ends with `transport`
/// (whose routes hold it).
///
/// - (dm_stats_atom) -> std::string: {"dm": "off", "dropped_asks": n,
///   "dropped_messages": m}.
caf::actor spawn_dm_off(caf::actor_system& sys, const caf::actor& transport);

} // namespace meshrt
