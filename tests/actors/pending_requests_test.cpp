#include "actors/pending_requests.hpp"

#include <doctest/doctest.h>

using namespace meshrt;

TEST_SUITE("actors.pending_requests") {

  TEST_CASE("a response takes its entry once, a second or late one finds nothing") {
    pending_requests<int> table;
    auto a = table.add("p1", 7, 1000, 1);
    auto b = table.add("p1", 8, 2000, 2);
    CHECK(a != b);
    CHECK(table.size() == 2);
    auto e = table.take(a);
    REQUIRE(e);
    CHECK(e->waiter == 1);
    CHECK(e->command == 7);
    CHECK(e->peer == "p1");
    CHECK_FALSE(table.take(a));
    CHECK(table.next_deadline() == 2000);
    CHECK(table.expire(2000).size() == 1);
    CHECK_FALSE(table.take(b)); // after its deadline
    CHECK(table.size() == 0);
    CHECK(table.next_deadline() == UINT64_MAX);
  }

  TEST_CASE("deadlines expire in order, only those due") {
    pending_requests<int> table;
    table.add("p", 1, 300, 3);
    table.add("p", 1, 100, 1);
    table.add("p", 1, 200, 2);
    table.add("p", 1, 200, 4);
    auto due = table.expire(200);
    REQUIRE(due.size() == 3);
    CHECK(due[0].waiter == 1);
    CHECK(due[0].deadline_us == 100);
    CHECK(due[1].deadline_us == 200);
    CHECK(due[2].deadline_us == 200);
    CHECK(table.expire(299).empty());
    CHECK(table.next_deadline() == 300);
  }

  TEST_CASE("a failed peer takes all its entries and nobody else's") {
    pending_requests<int> table;
    table.add("dead", 1, 100, 1);
    auto live = table.add("live", 1, 100, 2);
    table.add("dead", 1, 500, 3);
    auto failed = table.take_peer("dead");
    CHECK(failed.size() == 2);
    CHECK(table.size() == 1);
    CHECK(table.next_deadline() == 100);
    CHECK(table.take(live));
    CHECK(table.expire(UINT64_MAX).empty());
  }

  TEST_CASE("a peer's failure takes only the entries sent before the cut") {
    // A give-up reported at 5 s with retryTimeout 3 s concerns requests
    // sent by 2 s; the health check sent at 4.5 s stays.
    pending_requests<int> table;
    table.add("dead", 1, 9'000'000, 1, 1'000'000);
    auto check = table.add("dead", 0xFFFF, 9'000'000, 2, 4'500'000);
    auto failed = table.take_peer("dead", 5'000'000 - 3'000'000);
    REQUIRE(failed.size() == 1);
    CHECK(failed[0].waiter == 1);
    CHECK(table.take(check));
  }

  TEST_CASE("an entry put back keeps its id and deadline, and new ids stay apart") {
    pending_requests<int> table;
    auto a = table.add("dead", 1, 700, 1);
    auto failed = table.take_peer("dead");
    REQUIRE(failed.size() == 1);
    auto e = failed[0];
    e.peer = "other"; // sent again elsewhere
    table.put_back(e);
    table.put_back(e); // once only
    CHECK(table.size() == 1);
    CHECK(table.next_deadline() == 700);
    auto b = table.add("p", 1, 100, 2);
    CHECK(b != a);
    auto back = table.take(a);
    REQUIRE(back);
    CHECK(back->waiter == 1);
    CHECK(back->peer == "other");
    CHECK(table.next_deadline() == 100);
  }

  TEST_CASE("the peers requests have waited on since a time are named once each") {
    pending_requests<int> table;
    CHECK(table.peers_waiting_since(UINT64_MAX).empty());
    table.add("b", 1, 9000, 1, 100);
    table.add("a", 1, 9000, 2, 200);
    table.add("b", 1, 9000, 3, 150);
    auto late = table.add("c", 1, 9000, 4, 900);
    CHECK(table.peers_waiting_since(99).empty());
    CHECK(table.peers_waiting_since(150) == std::vector<std::string>{"b"});
    CHECK(table.peers_waiting_since(900) == std::vector<std::string>{"a", "b", "c"});
    table.take(late);
    CHECK(table.peers_waiting_since(UINT64_MAX) == std::vector<std::string>{"a", "b"});
  }

  TEST_CASE("ten thousand outstanding requests match their own responses") {
    pending_requests<uint64_t> table;
    std::vector<uint64_t> ids;
    for (uint64_t i = 0; i < 10000; ++i)
      ids.push_back(table.add("p", 1, 1000 + i, i));
    // Answered in reverse order.
    for (size_t i = ids.size(); i-- > 0;) {
      auto e = table.take(ids[i]);
      REQUIRE(e);
      CHECK(e->waiter == i);
    }
    CHECK(table.size() == 0);
  }
}
