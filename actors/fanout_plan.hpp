#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace meshrt {

/// One send of a fan-out (SendMany): the node it goes to, and the branch
/// that node forwards to in turn.
struct fanout_step {
  std::string child;
  std::vector<std::string> branch;
};

/// Splits `targets` into at most `limit` contiguous groups of sizes that
/// differ by at most one; the first node of each group is sent to, with the
/// rest of its group as its branch. Applied again at every receiver, this is
/// the reference's SendMany tree: every target is reached exactly once, and
/// N targets take `fanout_depth(N, limit)` hops. `limit` must be at least 1.
std::vector<fanout_step> plan_fanout(const std::vector<std::string>& targets, uint16_t limit);

/// The hops `plan_fanout` takes to reach `n` targets: ceil(log_limit(n))
/// for most n (the tree's levels hold limit, limit^2, ... nodes), n for
/// limit 1 (a chain).
size_t fanout_depth(size_t n, uint16_t limit);

/// `addrs` without duplicates (first occurrence kept) and without `self`;
/// `had_self` tells whether `self` was among them.
std::vector<std::string> fanout_targets(const std::vector<std::string>& addrs,
                                        const std::string& self, bool& had_self);

} // namespace meshrt
