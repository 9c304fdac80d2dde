#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace meshrt {

/// The users connected to a node, by user id: the DM service looks a user
/// up for each message twice (the sender's session on one node, the
/// recipient's on the other). One array of slots, open addressing with
/// linear probing, each slot a hash and a session whose own `uid()` is the
/// key: a look reads one slot (its neighbors share the cache line) and the
/// session it finds, which the caller reads next anyway. A
/// std::unordered_map read a bucket, the node before the entry and the
/// entry, three cache misses on a node whose cores its neighbors keep
/// flushing (a profile under `bench dm` load put its `find` at 3% of a
/// node's CPU), and kept a second copy of every user id.
///
/// At most half the slots are taken, so a probe ends at an empty slot
/// after a few; an erasure shifts the entries after it back (no
/// tombstones). Pointers returned by find() stay valid until the next
/// put() or erase().
///
/// `Session` has `const std::string& uid() const`.
template<class Session>
class user_table {
public:
  using session_ptr = std::shared_ptr<Session>;

  /// The session of `uid`, or nullptr.
  const session_ptr* find(const std::string& uid) const {
    if (size_ == 0)
      return nullptr;
    const auto& s = slots_[slot_of(uid, hash_of(uid))];
    return s.session ? &s.session : nullptr;
  }

  /// Makes `session` the one of its user; returns the one it replaced,
  /// or nullptr.
  session_ptr put(session_ptr session) {
    if ((size_ + 1) * 2 > slots_.size())
      grow();
    auto hash = hash_of(session->uid());
    auto& s = slots_[slot_of(session->uid(), hash)];
    if (s.session) {
      s.session.swap(session);
      return session;
    }
    s.hash = hash;
    s.session = std::move(session);
    ++size_;
    return nullptr;
  }

  /// Removes the session of `uid` and returns it, or nullptr.
  session_ptr erase(const std::string& uid) {
    if (size_ == 0)
      return nullptr;
    auto hole = slot_of(uid, hash_of(uid));
    if (!slots_[hole].session)
      return nullptr;
    auto result = std::move(slots_[hole].session);
    --size_;
    // Every entry after the hole in its run of taken slots moves into the
    // hole unless its home slot lies after the hole (cyclically), where a
    // probe for it would not pass the hole.
    for (auto j = (hole + 1) & mask(); slots_[j].session; j = (j + 1) & mask()) {
      auto home = slots_[j].hash & mask();
      bool passes_hole = hole < j ? (home <= hole || home > j) : (home <= hole && home > j);
      if (passes_hole) {
        slots_[hole] = std::move(slots_[j]);
        hole = j;
      }
    }
    slots_[hole].session.reset();
    return result;
  }

  /// Removes every session and returns them; the table gives its memory
  /// back.
  std::vector<session_ptr> take_all() {
    std::vector<session_ptr> result;
    result.reserve(size_);
    for (auto& s : slots_)
      if (s.session)
        result.push_back(std::move(s.session));
    std::vector<slot>{}.swap(slots_);
    size_ = 0;
    return result;
  }

  /// Calls f(session) for each session, in no particular order; f must
  /// not change the table.
  template<class F>
  void for_each(F&& f) const {
    for (const auto& s : slots_)
      if (s.session)
        f(s.session);
  }

  size_t size() const {
    return size_;
  }

  bool empty() const {
    return size_ == 0;
  }

private:
  struct slot {
    size_t hash = 0;
    session_ptr session;
  };

  static size_t hash_of(const std::string& uid) {
    return std::hash<std::string>{}(uid);
  }

  size_t mask() const {
    return slots_.size() - 1;
  }

  /// The slot of `uid` (whose hash is `hash`), or the empty slot where its
  /// probe ends. There are slots, and at least one is empty.
  size_t slot_of(const std::string& uid, size_t hash) const {
    auto i = hash & mask();
    while (slots_[i].session && (slots_[i].hash != hash || slots_[i].session->uid() != uid))
      i = (i + 1) & mask();
    return i;
  }

  /// Twice the slots (16 at first), every entry put in again.
  void grow() {
    std::vector<slot> old(slots_.empty() ? 16 : slots_.size() * 2);
    old.swap(slots_);
    for (auto& s : old)
      if (s.session)
        slots_[slot_of(s.session->uid(), s.hash)] = std::move(s);
  }

  std::vector<slot> slots_; // a power of two of them, or none
  size_t size_ = 0;
};

} // namespace meshrt
