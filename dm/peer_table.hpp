#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace meshrt {

/// A user session's table by peer id (its channel cache, its queues of
/// messages waiting to go out). Most users talk with a few peers at a
/// time: up to `flat_limit` entries live in one vector searched front to
/// back, which takes one allocation for all of them and no hashing; a user
/// with more peers gets a hash table, and keeps it until the table is
/// cleared. A node looks up such a table several times per message, and a
/// std::unordered_map there cost a bucket array, a node per entry and
/// their cache misses on every look.
///
/// Pointers to values stay valid until the next insertion or erasure.
template<class Value>
class peer_table {
public:
  static constexpr size_t flat_limit = 8;

  /// The value of `peer`, or nullptr.
  Value* find(const std::string& peer) {
    if (hashed_) {
      auto i = hashed_->find(peer);
      return i != hashed_->end() ? &i->second : nullptr;
    }
    return find_flat(peer);
  }

  /// The value of `peer`, added as Value{} when there was none.
  Value& operator[](const std::string& peer) {
    if (hashed_)
      return (*hashed_)[peer];
    if (auto* value = find_flat(peer))
      return *value;
    if (flat_.size() < flat_limit)
      return flat_.emplace_back(peer, Value{}).second;
    hashed_ = std::make_unique<std::unordered_map<std::string, Value>>();
    for (auto& entry : flat_)
      hashed_->emplace(std::move(entry.first), std::move(entry.second));
    std::vector<std::pair<std::string, Value>>{}.swap(flat_);
    return (*hashed_)[peer];
  }

  /// Removes `peer`'s entry, if any.
  void erase(const std::string& peer) {
    if (hashed_) {
      hashed_->erase(peer);
      return;
    }
    auto i = std::find_if(flat_.begin(), flat_.end(),
                          [&](const auto& entry) { return entry.first == peer; });
    if (i == flat_.end())
      return;
    if (i + 1 != flat_.end())
      *i = std::move(flat_.back());
    flat_.pop_back();
  }

  /// Removes every entry and gives their memory back.
  void clear() {
    hashed_.reset();
    std::vector<std::pair<std::string, Value>>{}.swap(flat_);
  }

  size_t size() const {
    return hashed_ ? hashed_->size() : flat_.size();
  }

  bool empty() const {
    return size() == 0;
  }

  /// Calls `f(peer, value)` for every entry, in no particular order.
  template<class F>
  void for_each(F&& f) {
    if (hashed_) {
      for (auto& [peer, value] : *hashed_)
        f(peer, value);
      return;
    }
    for (auto& [peer, value] : flat_)
      f(peer, value);
  }

private:
  Value* find_flat(const std::string& peer) {
    for (auto& entry : flat_)
      if (entry.first == peer)
        return &entry.second;
    return nullptr;
  }

  std::vector<std::pair<std::string, Value>> flat_;
  std::unique_ptr<std::unordered_map<std::string, Value>> hashed_;
};

} // namespace meshrt
