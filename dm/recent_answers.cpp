#include "dm/recent_answers.hpp"

#include <functional>

namespace meshrt {

uint64_t recent_answers::key_of(const std::string& reply_to, uint64_t id) {
  // Fibonacci hashing spreads consecutive ids before they meet the node's.
  return std::hash<std::string>{}(reply_to) ^ (id * 0x9E3779B97F4A7C15ull);
}

recent_answers::ticket recent_answers::arrived(const std::string& reply_to, uint64_t id,
                                               uint64_t now_us, uint64_t until_us) {
  // An entry behind one that lives longer waits for it: kept longer, never
  // forgotten early.
  while (!entries_.empty()
         && (entries_.front().until_us <= now_us || entries_.size() >= capacity_)) {
    entries_.pop_front();
    ++first_;
  }
  entries_.push_back({until_us, key_of(reply_to, id), 0});
  return first_ + entries_.size() - 1;
}

void recent_answers::answered(ticket t, dm_outcome outcome) {
  if (t >= first_ && t - first_ < entries_.size())
    entries_[t - first_].outcome = static_cast<uint8_t>(outcome);
}

std::optional<std::optional<dm_outcome>> recent_answers::recall(const std::string& reply_to,
                                                                uint64_t id) const {
  auto key = key_of(reply_to, id);
  for (auto i = entries_.rbegin(); i != entries_.rend(); ++i) {
    if (i->key != key)
      continue;
    std::optional<std::optional<dm_outcome>> seen;
    seen.emplace(); // seen, not answered yet
    if (i->outcome != 0)
      *seen = static_cast<dm_outcome>(i->outcome);
    return seen;
  }
  return std::nullopt;
}

} // namespace meshrt
