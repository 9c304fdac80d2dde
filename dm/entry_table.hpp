#pragma once

// The entries of one slot of the store, free of actors and clocks (the
// caller passes the time in ms).
//
// Memory is what a store of small entries is judged by, so an entry is one
// allocation: a 16-byte header, the key and the value side by side. The
// table is open addressing with linear probing over pointers to those
// blocks (8 bytes a place, kept at most 3/4 full), and a removal shifts the
// run behind it back (no tombstones): 16-byte keys with 24-byte values cost
// about 75 bytes an entry. An owned entry has its version behind the value.
//
// Expiry costs nothing per idle key: only entries with a TTL are in the
// expiry heap, and `expire` pops only what is due. A read checks the
// deadline itself, so an expired entry is gone to the millisecond, however
// late the next `expire` runs.

#include <cstdint>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace meshrt {

/// What an entry holds besides its key.
struct entry_value {
  std::string_view value;
  /// Absolute deadline in ms of the caller's clock; 0: never expires.
  int64_t expires_ms = 0;
  /// Who re-asserts the entry (store_service: an owned entry); 0: nobody.
  uint16_t owner = 0;
  /// An owned entry's version (slot_ops.hpp: which of two owners' claims
  /// is the newer); 0 for an entry nobody owns.
  uint64_t version = 0;
};

class entry_table {
public:
  entry_table() = default;
  entry_table(entry_table&&) noexcept;
  entry_table& operator=(entry_table&&) noexcept;
  entry_table(const entry_table&) = delete;
  entry_table& operator=(const entry_table&) = delete;
  ~entry_table();

  /// The entry of `key`, if there is one that has not expired by `now_ms`.
  /// The view is valid until the next change to the table.
  std::optional<entry_value> find(std::string_view key, int64_t now_ms) const;

  /// Sets `key` to `value` (replacing what was there). An owned entry
  /// keeps `version` (8 bytes more); one nobody owns does not.
  void put(std::string_view key, std::string_view value, int64_t expires_ms, uint16_t owner = 0,
           uint64_t version = 0);

  /// Removes `key`; whether it was there (and not expired).
  bool erase(std::string_view key, int64_t now_ms);

  /// Removes what expired by `now_ms`; how many entries went.
  size_t expire(int64_t now_ms);

  /// Removes every entry owned by `owner`; how many went.
  size_t erase_owned_by(uint16_t owner);

  /// Every key (for a migration's snapshot), in table order.
  std::vector<std::string> keys() const;

  /// Calls f(key, entry_value) for every entry, expired ones too.
  template<class F>
  void for_each(F&& f) const {
    for (auto* e : places_)
      if (e != nullptr)
        f(key_of(e), value_of(e));
  }

  size_t size() const noexcept {
    return size_;
  }

  /// The earliest TTL deadline still to pass through `expire` (it may be
  /// stale), 0 if none.
  int64_t next_deadline() const {
    return deadlines_.empty() ? 0 : deadlines_.top().first;
  }

  /// Bytes of keys and values (what a migration moves).
  uint64_t payload_bytes() const noexcept {
    return payload_bytes_;
  }

  void clear();

private:
  struct block; // header, key, value

  static std::string_view key_of(const block* e);
  static entry_value value_of(const block* e);
  size_t home_of(std::string_view key) const;
  size_t place_of(std::string_view key) const;
  void grow();
  void remove_at(size_t i);

  std::vector<block*> places_;
  size_t size_ = 0;
  uint64_t payload_bytes_ = 0;
  /// (deadline, key) of entries set with a TTL; stale pairs (the entry was
  /// replaced or removed since) are skipped when popped.
  std::priority_queue<std::pair<int64_t, std::string>, std::vector<std::pair<int64_t, std::string>>,
                      std::greater<>>
    deadlines_;
};

} // namespace meshrt
