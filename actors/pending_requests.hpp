#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace meshrt {

/// Where a table's ids start: random in [1, 2^62), different in every
/// process. A node that restarts at the same address must not reuse the
/// ids of its previous run: an answer to that run still on its way (a
/// retransmission its exit left unacknowledged), or a peer's memory of
/// what it answered (dm/recent_answers.hpp), would then match a request
/// of the new run.
uint64_t first_request_id();

/// The request correlator's table, free of actors and clocks: request ids,
/// deadlines and matching. Each entry leaves the table exactly once — by its
/// response (`take`), its deadline (`expire`) or its peer's failure
/// (`take_peer`) — so a request is never answered twice, and a response that
/// comes after the deadline finds nothing.
///
/// `Waiter` is whatever answers the caller (a response promise in the
/// actor, a plain value in tests).
template<class Waiter>
class pending_requests {
public:
  struct entry {
    uint64_t id = 0;
    std::string peer;
    uint16_t command = 0;
    uint64_t deadline_us = 0;
    Waiter waiter;
    uint64_t sent_us = 0;
  };

  /// A table whose ids start at first_request_id().
  pending_requests() : next_id_(first_request_id()) {}

  /// A table whose ids start at `first_id` (tests that name ids).
  explicit pending_requests(uint64_t first_id) : next_id_(first_id) {}

  /// Files a request to `peer`, sent at `sent_us`, that expires at
  /// `deadline_us`; returns its id.
  uint64_t add(std::string peer, uint16_t command, uint64_t deadline_us, Waiter waiter,
               uint64_t sent_us = 0) {
    auto id = next_id_++;
    auto pos = deadlines_.emplace(deadline_us, id);
    entries_.emplace(
      id,
      stored{entry{id, std::move(peer), command, deadline_us, std::move(waiter), sent_us}, pos});
    return id;
  }

  /// Files `e`, taken from this table before, again under its own id and
  /// deadline (a request sent again elsewhere, whose answer still carries
  /// that id). An id already filed is left as it is.
  void put_back(entry e) {
    if (entries_.count(e.id) != 0)
      return;
    auto pos = deadlines_.emplace(e.deadline_us, e.id);
    auto id = e.id;
    entries_.emplace(id, stored{std::move(e), pos});
  }

  /// The entry a response with `id` answers, removed; nullopt if the id is
  /// unknown, already answered or expired.
  std::optional<entry> take(uint64_t id) {
    auto i = entries_.find(id);
    if (i == entries_.end())
      return std::nullopt;
    deadlines_.erase(i->second.deadline_pos);
    auto result = std::move(i->second.value);
    entries_.erase(i);
    return result;
  }

  /// Every entry whose deadline is at or before `now_us`, removed, earliest
  /// first.
  std::vector<entry> expire(uint64_t now_us) {
    std::vector<entry> result;
    while (!deadlines_.empty() && deadlines_.begin()->first <= now_us) {
      auto id = deadlines_.begin()->second;
      auto i = entries_.find(id);
      deadlines_.erase(deadlines_.begin());
      result.push_back(std::move(i->second.value));
      entries_.erase(i);
    }
    return result;
  }

  /// Every entry waiting on `peer` sent at `sent_until` or before, removed
  /// (the peer cannot be reached).
  std::vector<entry> take_peer(const std::string& peer, uint64_t sent_until = UINT64_MAX) {
    std::vector<entry> result;
    for (auto i = entries_.begin(); i != entries_.end();) {
      if (i->second.value.peer == peer && i->second.value.sent_us <= sent_until) {
        deadlines_.erase(i->second.deadline_pos);
        result.push_back(std::move(i->second.value));
        i = entries_.erase(i);
      } else {
        ++i;
      }
    }
    return result;
  }

  /// Whether an entry waits on `peer`.
  bool waits_on(const std::string& peer) const {
    return std::any_of(entries_.begin(), entries_.end(),
                       [&](const auto& kv) { return kv.second.value.peer == peer; });
  }

  /// The peers that an entry sent at `sent_until` or before waits on, each
  /// once, in order of address.
  std::vector<std::string> peers_waiting_since(uint64_t sent_until) const {
    std::vector<std::string> result;
    for (const auto& kv : entries_)
      if (kv.second.value.sent_us <= sent_until)
        result.push_back(kv.second.value.peer);
    std::sort(result.begin(), result.end());
    result.erase(std::unique(result.begin(), result.end()), result.end());
    return result;
  }

  /// The earliest deadline, UINT64_MAX when nothing is pending.
  uint64_t next_deadline() const {
    return deadlines_.empty() ? UINT64_MAX : deadlines_.begin()->first;
  }

  size_t size() const {
    return entries_.size();
  }

private:
  struct stored {
    entry value;
    std::multimap<uint64_t, uint64_t>::iterator deadline_pos;
  };

  uint64_t next_id_;
  std::unordered_map<uint64_t, stored> entries_;
  std::multimap<uint64_t, uint64_t> deadlines_; // deadline -> id
};

} // namespace meshrt
