#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace meshrt {

/// Where the users of other nodes are, as those nodes announce it (kinds 46
/// and 47 of dm_wire.hpp): a sender's first message to a user goes straight
/// to the node named here, not through the storage node that owns the
/// user's location (one hop fewer). A hint is never the truth: the store's
/// location is. A wrong one costs a `not_here` and the lookup the message
/// would have taken anyway; NATS's routes spread subscription interest to
/// every server the same way.
///
/// Free of actors and clocks. Compact because every node holds one per user
/// of every other node: 8 bytes a slot in an open-addressing table (linear
/// probing, deletion by backward shift, at most 3/4 full), 48 bits of the
/// user id's hash and 16 of the node's number. Two users whose hashes share
/// those 48 bits share a hint (the later wins; the other's messages take the
/// lookup): for a million users, a chance of about 0.2% that any pair does.
class location_hints {
public:
  /// At most this many nodes are named at once; hints naming others are
  /// not kept.
  static constexpr size_t max_nodes = 0xFFFF;

  /// `uid` is connected to `node` (replacing what was known of it).
  void set(std::string_view uid, const std::string& node);

  /// `uid` left `node`: its hint goes if it still names `node` (a newer
  /// one, from the node the user moved to, stays).
  void remove(std::string_view uid, const std::string& node);

  /// Every hint naming `node` goes (it left the view, or sends its users
  /// anew).
  void drop_node(const std::string& node);

  /// The node `uid` was last said to be connected to, or nullptr.
  const std::string* find(std::string_view uid) const;

  /// Hints held.
  size_t size() const {
    return size_;
  }

  /// Bytes of the table (what a hint costs grows in steps of it).
  size_t table_bytes() const {
    return slots_.size() * sizeof(uint64_t);
  }

private:
  /// A slot: the user id's hash in the top 48 bits (never all zero), the
  /// node's number in the low 16; 0: empty.
  static uint64_t key_of(std::string_view uid);
  static uint16_t node_of(uint64_t slot) {
    return static_cast<uint16_t>(slot & 0xFFFF);
  }
  size_t home(uint64_t key) const {
    return static_cast<size_t>(key >> 16) & (slots_.size() - 1);
  }
  /// The slot holding `key`'s hint, or the empty slot where it would go.
  size_t probe(uint64_t key) const;
  void erase_at(size_t i);
  void grow();
  /// The number of `node`, numbered on first use; max_nodes when all are
  /// taken.
  uint16_t number_of(const std::string& node);
  void release(uint16_t number);

  std::vector<uint64_t> slots_;
  size_t size_ = 0;
  /// The nodes by number, with how many hints name each; numbers of
  /// nodes no hint names any more are used again.
  std::vector<std::string> nodes_;
  std::vector<uint32_t> uses_;
  std::vector<uint16_t> free_;
  std::unordered_map<std::string, uint16_t> numbers_;
};

} // namespace meshrt
