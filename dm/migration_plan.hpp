#pragma once

// What moves where when the storage nodes change, free of actors and
// clocks: the planner compares two rings and says, for one node, which of
// its slots go out and which come in; a slot_handoff walks one outgoing
// slot in batches and keeps track of the keys written while it walks.

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "dm/hash_ring.hpp"

namespace meshrt {

/// One slot changing owner, seen from one node.
struct slot_move {
  uint32_t slot = 0;
  /// The owner before and after.
  std::string from;
  std::string to;
};

/// The moves that concern `self` between `before` and `after` (rings of the
/// same size): `outgoing`, slots `self` owned and does not any more, and
/// `incoming`, slots it owns now and did not; each ascending by slot, the
/// order a handoff walks them in. A slot whose owner before was no node
/// (the first ring) is not incoming: it starts empty.
struct migration_plan {
  std::vector<slot_move> outgoing;
  std::vector<slot_move> incoming;

  static migration_plan between(const hash_ring& before, const hash_ring& after,
                                const std::string& self);

  bool empty() const noexcept {
    return outgoing.empty() && incoming.empty();
  }
};

/// The walk over one outgoing slot: a snapshot of its keys at the start,
/// sent `batch` at a time, and every key written or removed meanwhile,
/// sent again after. The old owner answers for the slot until the walk is
/// done; `done` says when the last batch may carry the completion.
class slot_handoff {
public:
  slot_handoff() = default;
  explicit slot_handoff(std::vector<std::string> keys) : keys_(std::move(keys)) {}

  /// A write or removal of `key` after the walk began: it goes again.
  void touched(std::string_view key);

  /// The next at most `n` keys to send (each at most once per batch).
  std::vector<std::string> next_batch(size_t n);

  /// Nothing left to send.
  bool done() const noexcept {
    return cursor_ == keys_.size() && touched_.empty();
  }

  /// Keys sent so far, counting repeats.
  uint64_t sent() const noexcept {
    return sent_;
  }

private:
  std::vector<std::string> keys_;
  size_t cursor_ = 0;
  std::unordered_set<std::string> touched_;
  uint64_t sent_ = 0;
};

} // namespace meshrt
