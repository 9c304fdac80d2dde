#include "dm/hash_ring.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "dm/migration_plan.hpp"

using namespace meshrt;

namespace {

std::vector<std::string> nodes(size_t n) {
  std::vector<std::string> result;
  for (size_t i = 0; i < n; ++i)
    result.push_back("127.0.0.1:" + std::to_string(9000 + i));
  return result;
}

hash_ring ring_of(size_t n, uint32_t slots = 300) {
  std::string error;
  auto ring = hash_ring::build(slots, nodes(n), error);
  REQUIRE_MESSAGE(ring, error);
  return *ring;
}

} // namespace

TEST_CASE("hash ring: a join moves only the slots the new node wins, for 1 to 64 nodes") {
  for (size_t n = 1; n < 64; ++n) {
    auto before = ring_of(n);
    auto after = ring_of(n + 1);
    auto joined = nodes(n + 1).back();
    size_t moved = 0;
    for (uint32_t slot = 0; slot < 300; ++slot) {
      if (before.owner(slot) == after.owner(slot))
        continue;
      ++moved;
      CHECK(after.owner(slot) == joined); // nothing moves between old nodes
    }
    // About 300 / (n + 1) slots: within a factor of 2.5 (and not none).
    double expected = 300.0 / static_cast<double>(n + 1);
    CHECK(moved > 0);
    CHECK(static_cast<double>(moved) < expected * 2.5 + 3);
    // The plan says the same, from each node's side.
    for (const auto& self : nodes(n)) {
      auto plan = migration_plan::between(before, after, self);
      CHECK(plan.incoming.empty());
      for (const auto& m : plan.outgoing)
        CHECK(m.to == joined);
    }
    auto plan = migration_plan::between(before, after, joined);
    CHECK(plan.incoming.size() == moved);
  }
}

TEST_CASE("hash ring: the owner depends on the node set only, not its order") {
  auto names = nodes(5);
  std::vector<std::string> reversed(names.rbegin(), names.rend());
  std::string error;
  auto a = hash_ring::build(300, names, error);
  auto b = hash_ring::build(300, reversed, error);
  REQUIRE(a);
  REQUIRE(b);
  for (uint32_t slot = 0; slot < 300; ++slot)
    CHECK(a->owner(slot) == b->owner(slot));
  CHECK(a->slot_of("user-1") == b->slot_of("user-1"));
  CHECK(stable_hash("abc") == stable_hash("abc"));
}

TEST_CASE("hash ring: a ring not larger than its nodes is refused, naming both numbers") {
  std::string error;
  CHECK_FALSE(hash_ring::build(2, nodes(3), error));
  CHECK(error == "storageRingSize 2 must be greater than the 3 storage nodes");
  CHECK(hash_ring::build(4, nodes(3), error));
  CHECK(error.empty());
  hash_ring empty{300};
  CHECK(empty.owner_of("x").empty());
}
