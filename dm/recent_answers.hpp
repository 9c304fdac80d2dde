#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "dm/dm_wire.hpp"

namespace meshrt {

/// What a recipient's node answered to the delivers that a storage node
/// handed on (the first messages, whose find went to the owner of the
/// recipient's location), for as long as their senders may send them again.
/// A sender whose find's storage node left the view before it answered
/// cannot tell whether that node handed the message on before it died; it
/// sends the find again with the same id, and the deliver that comes of it
/// is answered from here instead of reaching the user twice (the
/// at-most-once answers of RPC protocols since Birrell and Nelson).
///
/// Free of actors and clocks: the caller passes the time. A delivery is
/// remembered from the moment it arrives (its outcome unknown while hooks
/// run) until `until_us`; entries leave in the order they came, each once
/// its time is up, and the oldest early when more than `capacity` are held.
/// Every first message between nodes adds one, and only a message that
/// comes again looks for one: 24 bytes each in arrival order (a 64-bit hash
/// of the sender's node and the id), found by a scan from the newest.
class recent_answers {
public:
  /// Names an arrival, for its answer.
  using ticket = uint64_t;

  explicit recent_answers(size_t capacity = 1'000'000) : capacity_(capacity) {}

  /// A delivery of `reply_to`'s message `id` arrived at `now_us`; its
  /// senders stop asking by `until_us`.
  ticket arrived(const std::string& reply_to, uint64_t id, uint64_t now_us, uint64_t until_us);

  /// The delivery came to `outcome` (nothing if it is forgotten already).
  void answered(ticket t, dm_outcome outcome);

  /// Whether a delivery of `reply_to`'s message `id` arrived, and what it
  /// came to: nullopt if none arrived (or it is forgotten), an empty
  /// outcome while it is still under way.
  std::optional<std::optional<dm_outcome>> recall(const std::string& reply_to, uint64_t id) const;

  size_t size() const {
    return entries_.size();
  }

private:
  struct entry {
    uint64_t until_us;
    uint64_t key;
    uint8_t outcome; // 0 while under way
  };

  static uint64_t key_of(const std::string& reply_to, uint64_t id);

  size_t capacity_;
  std::deque<entry> entries_;
  /// The ticket of entries_.front().
  ticket first_ = 0;
};

} // namespace meshrt
