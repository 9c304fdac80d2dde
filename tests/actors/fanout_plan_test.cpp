#include "actors/fanout_plan.hpp"

#include <map>

#include <doctest/doctest.h>

using namespace meshrt;

namespace {

std::vector<std::string> names(size_t n) {
  std::vector<std::string> result;
  for (size_t i = 0; i < n; ++i)
    result.push_back("n" + std::to_string(i));
  return result;
}

/// Runs the tree as the nodes would: every receiver plans its own branch.
/// Returns, per target, how often it was reached and at which hop.
std::map<std::string, std::vector<size_t>> simulate(const std::vector<std::string>& targets,
                                                    uint16_t limit) {
  std::map<std::string, std::vector<size_t>> reached;
  std::vector<std::pair<fanout_step, size_t>> work;
  for (auto& s : plan_fanout(targets, limit))
    work.emplace_back(std::move(s), 1);
  while (!work.empty()) {
    auto [step, hop] = std::move(work.back());
    work.pop_back();
    reached[step.child].push_back(hop);
    for (auto& s : plan_fanout(step.branch, limit))
      work.emplace_back(std::move(s), hop + 1);
  }
  return reached;
}

} // namespace

TEST_SUITE("actors.fanout_plan") {

  TEST_CASE("the reference's diagram: limit 2, six servers, two hops") {
    auto steps = plan_fanout({"B", "C", "D", "E", "F", "G"}, 2);
    REQUIRE(steps.size() == 2);
    CHECK(steps[0].child == "B");
    CHECK(steps[0].branch == std::vector<std::string>{"C", "D"});
    CHECK(steps[1].child == "E");
    CHECK(steps[1].branch == std::vector<std::string>{"F", "G"});
    CHECK(fanout_depth(6, 2) == 2);
  }

  TEST_CASE("every target is reached exactly once within the computed depth") {
    for (uint16_t limit : {1, 2, 3, 4, 8, 100})
      for (size_t n : {1, 2, 5, 7, 63, 64, 65, 200}) {
        CAPTURE(limit);
        CAPTURE(n);
        auto reached = simulate(names(n), limit);
        CHECK(reached.size() == n);
        size_t deepest = 0;
        for (const auto& [name, hops] : reached) {
          CHECK(hops.size() == 1);
          deepest = std::max(deepest, hops.front());
        }
        CHECK(deepest == fanout_depth(n, limit));
      }
  }

  TEST_CASE("depth is ceil(log_limit(N)) at powers, N for a chain") {
    CHECK(fanout_depth(64, 2) == 6);
    CHECK(fanout_depth(64, 4) == 3);
    CHECK(fanout_depth(64, 8) == 2);
    CHECK(fanout_depth(64, 1) == 64);
    CHECK(fanout_depth(0, 4) == 0);
    CHECK(fanout_depth(3, 4) == 1);
  }

  TEST_CASE("no step is planned for nothing or for limit 0") {
    CHECK(plan_fanout({}, 3).empty());
    CHECK(plan_fanout({"a"}, 0).empty());
  }

  TEST_CASE("targets lose duplicates and the sender itself") {
    bool had_self = false;
    auto t = fanout_targets({"a", "me", "b", "a", "c", "b"}, "me", had_self);
    CHECK(t == std::vector<std::string>{"a", "b", "c"});
    CHECK(had_self);
    fanout_targets({"a"}, "me", had_self);
    CHECK_FALSE(had_self);
  }
}
