#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>

namespace meshrt {

/// What a store service tells its subscribers (store_subscribe_atom).
struct store_event {
  enum class kind : uint8_t {
    /// This node handed `slot` to `peer`: `keys` keys, `bytes` bytes of keys
    /// and values, in `ms` ms; `peer` answers for it from now on.
    slot_handed_over,
    /// This node took `slot` over from `peer` (`keys` keys arrived).
    slot_taken_over,
    /// Every slot this node had to hand over is handed over (`keys`,
    /// `bytes`, `ms` summed over the move).
    migration_done,
    /// The ring changed: `keys` is the number of storage nodes now.
    ring_changed,
    /// A storage node (`peer`) was refused: storageRingSize is not greater
    /// than the storage nodes with it (`keys`).
    ring_refused,
    /// An owned entry of this node (`key`) was written by another node
    /// (`peer`, "" for a write without owner) since its holder changed:
    /// this node no longer sets it again.
    owned_taken,
  };

  kind what = kind::ring_changed;
  uint32_t slot = 0;
  std::string peer;
  uint64_t keys = 0;
  uint64_t bytes = 0;
  uint64_t ms = 0;
  std::string key = {};
};

/// "slot_handed_over", ...
const char* to_string(store_event::kind what);

/// The kinds a subscription asks for, one bit each (`1 << kind`); every
/// kind when `kinds` is empty.
uint32_t store_event_mask(std::initializer_list<store_event::kind> kinds);

/// Whether `mask` asks for `what`.
inline bool asks_for(uint32_t mask, store_event::kind what) {
  return (mask >> static_cast<uint8_t>(what)) & 1u;
}

} // namespace meshrt
