#include "dm/recent_answers.hpp"

#include <doctest/doctest.h>

using namespace meshrt;

TEST_SUITE("dm.recent_answers") {
  TEST_CASE("a delivery is recalled under way, then with its outcome, until its time is up") {
    recent_answers memory;
    CHECK_FALSE(memory.recall("127.0.0.1:7001", 5));
    memory.arrived("127.0.0.1:7001", 5, 1'000, 6'000);
    auto under_way = memory.recall("127.0.0.1:7001", 5);
    REQUIRE(under_way);
    CHECK_FALSE(*under_way);
    memory.answered("127.0.0.1:7001", 5, dm_outcome::declined);
    auto done = memory.recall("127.0.0.1:7001", 5);
    REQUIRE(done);
    REQUIRE(*done);
    CHECK(**done == dm_outcome::declined);
    // another node's message 5, and this node's message 6, are others
    CHECK_FALSE(memory.recall("127.0.0.1:7002", 5));
    CHECK_FALSE(memory.recall("127.0.0.1:7001", 6));
    // a second arrival changes nothing
    memory.arrived("127.0.0.1:7001", 5, 2'000, 9'000);
    CHECK(memory.size() == 1);
    CHECK(**memory.recall("127.0.0.1:7001", 5) == dm_outcome::declined);
    // forgotten once a later arrival finds its time up
    memory.arrived("127.0.0.1:7001", 6, 5'999, 20'000);
    CHECK(memory.recall("127.0.0.1:7001", 5));
    memory.arrived("127.0.0.1:7001", 7, 6'000, 20'000);
    CHECK_FALSE(memory.recall("127.0.0.1:7001", 5));
    CHECK(memory.size() == 2);
    memory.answered("127.0.0.1:7001", 5, dm_outcome::delivered); // forgotten: nothing
    CHECK(memory.size() == 2);
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
    memory.arrived("n", 6, 10'000, 20'000);
    CHECK(memory.size() == 3);
    CHECK_FALSE(memory.recall("n", 3)); // the oldest, over capacity
    CHECK(memory.recall("n", 6));
  }
}
