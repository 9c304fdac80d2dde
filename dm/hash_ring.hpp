#pragma once

// The store's hash ring, free of sockets and clocks: a key hashes to one of
// `storageRingSize` slots, and every slot has one owner among the storage
// nodes (those of type `storageTargetNodeType`).
//
// Owners are chosen by rendezvous hashing: a slot belongs to the node with
// the highest hash of (node, slot). The owner of a slot depends only on the
// set of nodes, not on the order they joined in, so every node that sees
// the same view computes the same ring without talking to the others; and
// when a node joins, only the slots it wins move (to it), when one leaves,
// only its own slots move (each to the next highest): about 1/N of them.
// The table slot -> owner is computed once per change (slots x nodes
// hashes), so key -> slot -> owner costs one hash and one index.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace meshrt {

/// A 64-bit hash that is the same on every node and every build (std::hash
/// is not: the ring must agree across processes).
uint64_t stable_hash(std::string_view bytes);

class hash_ring {
public:
  /// An empty ring of `slots` slots: every slot has no owner.
  explicit hash_ring(uint32_t slots = 300);

  /// Why a ring of `slots` slots cannot be built over `nodes` storage
  /// nodes ("" if it can): the reference wants more slots than nodes.
  static std::string size_problem(uint32_t slots, size_t nodes);

  /// A ring of `slots` slots over `nodes` (mesh addresses, any order,
  /// duplicates ignored); nullopt with the reason in `error` if
  /// size_problem says so.
  static std::optional<hash_ring> build(uint32_t slots, std::vector<std::string> nodes,
                                        std::string& error);

  uint32_t slots() const noexcept {
    return static_cast<uint32_t>(owner_of_slot_.size());
  }

  /// The slot `key` hashes to.
  uint32_t slot_of(std::string_view key) const noexcept {
    return static_cast<uint32_t>(stable_hash(key) % owner_of_slot_.size());
  }

  /// The owner of `slot`; "" when the ring has no nodes.
  const std::string& owner(uint32_t slot) const noexcept;

  /// The owner of the slot of `key`.
  const std::string& owner_of(std::string_view key) const noexcept {
    return owner(slot_of(key));
  }

  /// The storage nodes, sorted.
  const std::vector<std::string>& nodes() const noexcept {
    return nodes_;
  }

  bool empty() const noexcept {
    return nodes_.empty();
  }

  /// The slots `node` owns, ascending.
  std::vector<uint32_t> slots_of(const std::string& node) const;

private:
  std::vector<std::string> nodes_;
  /// Index into nodes_ per slot; unused when nodes_ is empty.
  std::vector<uint16_t> owner_of_slot_;
};

} // namespace meshrt
