#include "actors/fanout_plan.hpp"

#include <algorithm>
#include <unordered_set>

namespace meshrt {

std::vector<fanout_step> plan_fanout(const std::vector<std::string>& targets, uint16_t limit) {
  std::vector<fanout_step> steps;
  if (targets.empty() || limit == 0)
    return steps;
  auto groups = std::min<size_t>(limit, targets.size());
  auto base = targets.size() / groups;
  auto extra = targets.size() % groups;
  steps.reserve(groups);
  auto pos = targets.begin();
  for (size_t g = 0; g < groups; ++g) {
    auto size = static_cast<ptrdiff_t>(base + (g < extra ? 1 : 0));
    steps.push_back({*pos, std::vector<std::string>(pos + 1, pos + size)});
    pos += size;
  }
  return steps;
}

size_t fanout_depth(size_t n, uint16_t limit) {
  if (limit == 0)
    return 0;
  size_t depth = 0;
  // A receiver's branch is its group less itself; the largest group
  // decides the depth.
  while (n > 0) {
    ++depth;
    n = (n + limit - 1) / limit - 1;
  }
  return depth;
}

std::vector<std::string> fanout_targets(const std::vector<std::string>& addrs,
                                        const std::string& self, bool& had_self) {
  had_self = false;
  std::vector<std::string> result;
  result.reserve(addrs.size());
  std::unordered_set<std::string> seen;
  for (const auto& a : addrs) {
    if (a == self) {
      had_self = true;
      continue;
    }
    if (seen.insert(a).second)
      result.push_back(a);
  }
  return result;
}

} // namespace meshrt
