#include "dm/recent_answers.hpp"

#include <functional>

namespace meshrt {

uint64_t recent_answers::key_of(const std::string& reply_to, uint64_t id) {
  // Fibonacci hashing spreads consecutive ids before they meet the node's hash.
  return std::hash<std::string>{}(reply_to) ^ (id * 0x9E3779B97F4A7C15ull);
}

void recent_answers::forget_until(uint64_t now_us) {
  // An entry behind one that lives longer waits for it: kept longer, never
  // forgotten early.
  while (!order_.empty() && (order_.front().first <= now_us || order_.size() > capacity_)) {
    outcomes_.erase(order_.front().second);
    order_.pop_front();
  }
}

void recent_answers::arrived(const std::string& reply_to, uint64_t id, uint64_t now_us,
                             uint64_t until_us) {
  auto key = key_of(reply_to, id);
  if (outcomes_.emplace(key, uint8_t{0}).second)
    order_.emplace_back(until_us, key);
  forget_until(now_us);
}

void recent_answers::answered(const std::string& reply_to, uint64_t id, dm_outcome outcome) {
  if (auto i = outcomes_.find(key_of(reply_to, id)); i != outcomes_.end())
    i->second = static_cast<uint8_t>(outcome);
}

std::optional<std::optional<dm_outcome>> recent_answers::recall(const std::string& reply_to,
                                                                uint64_t id) const {
  auto i = outcomes_.find(key_of(reply_to, id));
  if (i == outcomes_.end())
    return std::nullopt;
  if (i->second == 0)
    return std::optional<dm_outcome>{};
  return std::optional<dm_outcome>{static_cast<dm_outcome>(i->second)};
}

} // namespace meshrt
