#include "dm/peer_table.hpp"

#include <map>
#include <string>

#include <doctest/doctest.h>

using namespace meshrt;

namespace {

std::map<std::string, int> contents(peer_table<int>& table) {
  std::map<std::string, int> result;
  table.for_each([&](const std::string& peer, int value) { result.emplace(peer, value); });
  return result;
}

} // namespace

TEST_SUITE("dm.peer_table") {

  TEST_CASE("peer table: the same entries as a map, below and above the flat limit") {
    // A reference map beside the table through inserts, updates and
    // erasures: the vector up to flat_limit, then the hash table it grows
    // into, which stays.
    peer_table<int> table;
    std::map<std::string, int> expected;
    auto limit = static_cast<int>(peer_table<int>::flat_limit);
    for (int round = 0; round < 3; ++round) {
      for (int i = 0; i < limit * 3; ++i) {
        auto peer = "u" + std::to_string(i);
        table[peer] += i + round;
        expected[peer] += i + round;
        REQUIRE(table.size() == expected.size());
      }
      for (int i = 0; i < limit * 3; i += 2) {
        auto peer = "u" + std::to_string(i);
        table.erase(peer);
        expected.erase(peer);
      }
      table.erase("nobody");
      CHECK(table.size() == expected.size());
      CHECK(contents(table) == expected);
      for (auto& [peer, value] : expected) {
        auto* found = table.find(peer);
        REQUIRE(found != nullptr);
        CHECK(*found == value);
      }
      CHECK(table.find("u0") == nullptr);
    }
  }

  TEST_CASE("peer table: erasing from the flat part keeps the other entries and their values") {
    peer_table<std::string> table;
    table["a"] = "node-1";
    table["b"] = "node-2";
    table["c"] = "node-3";
    table.erase("a"); // the last entry takes its place
    CHECK(table.size() == 2);
    CHECK(table.find("a") == nullptr);
    REQUIRE(table.find("b") != nullptr);
    CHECK(*table.find("b") == "node-2");
    REQUIRE(table.find("c") != nullptr);
    CHECK(*table.find("c") == "node-3");
    table.erase("c");
    table.erase("b");
    CHECK(table.empty());
  }

  TEST_CASE("peer table: clear empties a table that had grown into a hash table") {
    peer_table<int> table;
    for (size_t i = 0; i <= peer_table<int>::flat_limit; ++i)
      table["u" + std::to_string(i)] = 1;
    CHECK(table.size() == peer_table<int>::flat_limit + 1);
    table.clear();
    CHECK(table.empty());
    CHECK(table.find("u0") == nullptr);
    table["again"] = 7;
    CHECK(contents(table) == std::map<std::string, int>{{"again", 7}});
  }

  TEST_CASE("peer table: a moved-from table is empty and usable") {
    peer_table<int> table;
    table["a"] = 1;
    auto moved = std::move(table);
    table.clear();
    CHECK(table.empty());
    CHECK(moved.size() == 1);
    table["b"] = 2;
    CHECK(contents(table) == std::map<std::string, int>{{"b", 2}});
  }

} // TEST_SUITE
