#include "dm/recent_answers.hpp"

#include <doctest/doctest.h>

using namespace meshrt;

TEST_SUITE("dm.recent_answers") {
  TEST_CASE("a delivery is recalled under way, then with its outcome, until its time is up") {
    recent_answers memory;
    CHECK_FALSE(memory.recall("127.0.0.1:7001", 5));
    auto t5 = memory.arrived("127.0.0.1:7001", 5, 1'000, 6'000);
    auto under_way = memory.recall("127.0.0.1:7001", 5);
    REQUIRE(under_way);
    CHECK_FALSE(*under_way);
    memory.answered(t5, dm_outcome::declined);
    auto done = memory.recall("127.0.0.1:7001", 5);
    REQUIRE(done);
    REQUIRE(*done);
    CHECK(**done == dm_outcome::declined);
    // another node's message 5, and this node's message 6, are others
    CHECK_FALSE(memory.recall("127.0.0.1:7002", 5));
    CHECK_FALSE(memory.recall("127.0.0.1:7001", 6));
    // forgotten once a later arrival finds its time up
    auto t6 = memory.arrived("127.0.0.1:7001", 6, 5'999, 20'000);
    CHECK(t6 != t5);
    CHECK(memory.recall("127.0.0.1:7001", 5));
    memory.arrived("127.0.0.1:7001", 7, 6'000, 20'000);
    CHECK_FALSE(memory.recall("127.0.0.1:7001", 5));
    CHECK(memory.size() == 2);
    memory.answered(t5, dm_outcome::delivered); // forgotten: nothing
    memory.answered(t6, dm_outcome::delivered);
    CHECK(**memory.recall("127.0.0.1:7001", 6) == dm_outcome::delivered);
    CHECK(*memory.recall("127.0.0.1:7001", 7) == std::nullopt);
  }

  TEST_CASE("an entry behind a longer one is kept longer, and capacity forgets the oldest") {
    recent_answers memory{3};
    memory.arrived("n", 1, 0, 10'000);
    memory.arrived("n", 2, 0, 1'000);
    memory.arrived("n", 3, 5'000, 20'000);
    CHECK(memory.recall("n", 2)); // its time is up, but 1 came first
    memory.arrived("n", 4, 10'000, 20'000);
    CHECK_FALSE(memory.recall("n", 1));
    CHECK_FALSE(memory.recall("n", 2));
    CHECK(memory.size() == 2);
    memory.arrived("n", 5, 10'000, 20'000);
    auto t6 = memory.arrived("n", 6, 10'000, 20'000);
    CHECK(memory.size() == 3);
    CHECK_FALSE(memory.recall("n", 3)); // the oldest, over capacity
    memory.answered(t6, dm_outcome::not_here);
    CHECK(**memory.recall("n", 6) == dm_outcome::not_here);
  }
}
