#include "dm/migration_plan.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include <doctest/doctest.h>

using namespace meshrt;

TEST_CASE("slot handoff: the snapshot in batches, then every key written meanwhile") {
  slot_handoff h{{"a", "b", "c", "d", "e"}};
  auto first = h.next_batch(2);
  CHECK(first == std::vector<std::string>{"a", "b"});
  h.touched("a"); // written after it was sent: goes again
  h.touched("new");
  CHECK_FALSE(h.done());
  size_t total = first.size();
  std::vector<std::string> rest;
  for (int i = 0; i < 10 && !h.done(); ++i)
    for (auto& k : h.next_batch(2))
      rest.push_back(k);
  total += rest.size();
  CHECK(h.done());
  CHECK(total == 7);
  CHECK(std::count(rest.begin(), rest.end(), "a") == 1);
  CHECK(std::count(rest.begin(), rest.end(), "new") == 1);
  CHECK(h.sent() == 7);
}
