#include "dm/location_hints.hpp"

#include <map>
#include <random>
#include <string>

#include <doctest/doctest.h>

using namespace meshrt;

TEST_SUITE("dm.location_hints") {
  TEST_CASE("a hint names the node last announced, and goes only with that node's word") {
    location_hints hints;
    CHECK(hints.find("ann") == nullptr);
    hints.set("ann", "127.0.0.1:7001");
    REQUIRE(hints.find("ann") != nullptr);
    CHECK(*hints.find("ann") == "127.0.0.1:7001");
    CHECK(hints.find("bob") == nullptr);
    // ann moved to 7002: the later word wins, and 7001's "ann left",
    // arriving after it, takes nothing away
    hints.set("ann", "127.0.0.1:7002");
    hints.remove("ann", "127.0.0.1:7001");
    REQUIRE(hints.find("ann") != nullptr);
    CHECK(*hints.find("ann") == "127.0.0.1:7002");
    hints.remove("ann", "127.0.0.1:7002");
    CHECK(hints.find("ann") == nullptr);
    CHECK(hints.size() == 0);
    hints.remove("ann", "127.0.0.1:7002"); // twice: nothing
    hints.remove("nobody", "127.0.0.1:7009");
    CHECK(hints.size() == 0);
  }

  TEST_CASE("a node that leaves takes its hints and no other") {
    location_hints hints;
    for (int i = 0; i < 3000; ++i)
      hints.set("user" + std::to_string(i), "127.0.0.1:" + std::to_string(7000 + i % 3));
    CHECK(hints.size() == 3000);
    hints.drop_node("127.0.0.1:7001");
    CHECK(hints.size() == 2000);
    for (int i = 0; i < 3000; ++i) {
      auto* node = hints.find("user" + std::to_string(i));
      if (i % 3 == 1) {
        CHECK(node == nullptr);
      } else {
        REQUIRE(node != nullptr);
        CHECK(*node == "127.0.0.1:" + std::to_string(7000 + i % 3));
      }
    }
    // its number is taken by the next node named, which gets its own hints
    hints.set("user1", "127.0.0.1:7100");
    REQUIRE(hints.find("user1") != nullptr);
    CHECK(*hints.find("user1") == "127.0.0.1:7100");
    CHECK(hints.find("user4") == nullptr);
  }

  TEST_CASE("a hint costs 8 bytes a slot, the table at most 3/4 full") {
    location_hints hints;
    for (int i = 0; i < 10000; ++i)
      hints.set("u" + std::to_string(i), "127.0.0.1:7001");
    CHECK(hints.size() == 10000);
    CHECK(hints.table_bytes() == 16384 * 8);
  }

  TEST_CASE("under random sets, removals and node departures it agrees with a map") {
    // The map keeps what the table should: a hint per user, the latest set,
    // gone on a removal naming its node or on its node's departure.
    std::mt19937 rng{42};
    location_hints hints;
    std::map<std::string, std::string> model;
    for (int step = 0; step < 200000; ++step) {
      auto uid = "u" + std::to_string(rng() % 5000);
      auto node = "10.0.0.1:" + std::to_string(7000 + rng() % 6);
      auto op = rng() % 100;
      if (op < 55) {
        hints.set(uid, node);
        model[uid] = node;
      } else if (op < 99) {
        hints.remove(uid, node);
        if (auto i = model.find(uid); i != model.end() && i->second == node)
          model.erase(i);
      } else {
        hints.drop_node(node);
        for (auto i = model.begin(); i != model.end();)
          i = i->second == node ? model.erase(i) : std::next(i);
      }
    }
    CHECK(hints.size() == model.size());
    size_t wrong = 0;
    for (int i = 0; i < 5000; ++i) {
      auto uid = "u" + std::to_string(i);
      auto* node = hints.find(uid);
      auto m = model.find(uid);
      if ((node == nullptr) != (m == model.end()) || (node != nullptr && *node != m->second))
        ++wrong;
    }
    CHECK(wrong == 0);
  }
}
