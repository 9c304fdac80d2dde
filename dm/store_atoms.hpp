#pragma once

// The vocabulary of the store service (store_service.hpp) and its location
// shards (location_shard.hpp).

#include <optional>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include "dm/store_event.hpp"

namespace meshrt {

class ring_view;

// -- what applications send the store service ---------------------------------

using store_get_atom = caf::atom_constant<caf::atom("stget")>;
using store_set_atom = caf::atom_constant<caf::atom("stset")>;
using store_del_atom = caf::atom_constant<caf::atom("stdel")>;
using store_del_if_atom = caf::atom_constant<caf::atom("stdelif")>;
using store_set_nx_atom = caf::atom_constant<caf::atom("stsetnx")>;
using store_swap_atom = caf::atom_constant<caf::atom("stswap")>;
using store_disown_atom = caf::atom_constant<caf::atom("stdisown")>;
using store_incr_atom = caf::atom_constant<caf::atom("stincr")>;
using store_get_many_atom = caf::atom_constant<caf::atom("stgetmany")>;
using store_set_many_atom = caf::atom_constant<caf::atom("stsetmany")>;
using store_stats_atom = caf::atom_constant<caf::atom("ststats")>;
using store_leave_atom = caf::atom_constant<caf::atom("stleave")>;
using store_subscribe_atom = caf::atom_constant<caf::atom("stsub")>;
using store_owner_atom = caf::atom_constant<caf::atom("stowner")>;
/// (store_ring_view_atom) -> std::shared_ptr<const ring_view>: the ring as
/// the actors of the store service's node read it (dm/ring_view.hpp).
using store_ring_view_atom = caf::atom_constant<caf::atom("stringview")>;

// -- between the service and its shards ----------------------------------------

using shard_open_atom = caf::atom_constant<caf::atom("shopen")>;
using shard_close_atom = caf::atom_constant<caf::atom("shclose")>;
using shard_request_atom = caf::atom_constant<caf::atom("shreq")>;
using shard_migration_atom = caf::atom_constant<caf::atom("shmig")>;
using shard_hand_to_atom = caf::atom_constant<caf::atom("shhandto")>;
using shard_take_from_atom = caf::atom_constant<caf::atom("shtake")>;
using shard_batch_atom = caf::atom_constant<caf::atom("shbatch")>;
using shard_peer_gone_atom = caf::atom_constant<caf::atom("shgone")>;
using shard_mode_atom = caf::atom_constant<caf::atom("shmode")>;
using shard_stats_atom = caf::atom_constant<caf::atom("shstats")>;
using shard_expire_atom = caf::atom_constant<caf::atom("shexpire")>;
/// (shard_get_atom, uint16_t slot, std::string key) -> (bool answered,
/// std::optional<std::string> value): a read of a slot the shard owns, for
/// an actor of its node; answered false while the slot moves (or is not
/// the shard's), or for a key it lacks while it rebuilds: the store
/// service routes it then (store_get_atom).
using shard_get_atom = caf::atom_constant<caf::atom("shget")>;
/// (shard_rebuilt_atom, uint16_t slot): the shard's own timer, the end of
/// a slot's rebuild window.
using shard_rebuilt_atom = caf::atom_constant<caf::atom("shrebuilt")>;
using store_response_atom = caf::atom_constant<caf::atom("stresp")>;
using store_tick_atom = caf::atom_constant<caf::atom("sttick")>;
using store_pump_atom = caf::atom_constant<caf::atom("stpump")>;
using store_reeval_atom = caf::atom_constant<caf::atom("streeval")>;
using store_reassert_atom = caf::atom_constant<caf::atom("streassert")>;
/// Time to send again the reads whose storage node left before it
/// answered (after the ring that goes without it).
using store_reread_atom = caf::atom_constant<caf::atom("streread")>;
using store_leave_timeout_atom = caf::atom_constant<caf::atom("stleaveto")>;

} // namespace meshrt

// Answers and events stay inside one process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::optional<std::string>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<std::optional<std::string>>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(meshrt::store_event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<const meshrt::ring_view>)
