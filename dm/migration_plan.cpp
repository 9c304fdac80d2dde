#include "dm/migration_plan.hpp"

namespace meshrt {

migration_plan migration_plan::between(const hash_ring& before, const hash_ring& after,
                                       const std::string& self) {
  migration_plan plan;
  for (uint32_t slot = 0; slot < after.slots(); ++slot) {
    const auto& from = before.owner(slot);
    const auto& to = after.owner(slot);
    if (from == to)
      continue;
    if (from == self && !to.empty())
      plan.outgoing.push_back({slot, from, to});
    else if (to == self && !from.empty())
      plan.incoming.push_back({slot, from, to});
  }
  return plan;
}

void slot_handoff::touched(std::string_view key) {
  touched_.emplace(key);
}

std::vector<std::string> slot_handoff::next_batch(size_t n) {
  std::vector<std::string> batch;
  n = std::max<size_t>(n, 1);
  // Each key is read when its batch is built and batches arrive in order,
  // so the new owner ends with the last state of every key whatever the
  // order; touched keys go first so that the walk's tail stays short.
  while (batch.size() < n && !touched_.empty()) {
    auto i = touched_.begin();
    batch.push_back(std::move(touched_.extract(i).value()));
  }
  while (batch.size() < n && cursor_ < keys_.size())
    batch.push_back(std::move(keys_[cursor_++]));
  sent_ += batch.size();
  return batch;
}

} // namespace meshrt
