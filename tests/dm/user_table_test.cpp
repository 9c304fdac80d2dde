#include "dm/user_table.hpp"

#include <map>
#include <memory>
#include <ostream>
#include <random>
#include <string>

#include <doctest/doctest.h>

using namespace meshrt;

namespace {

/// A session as the table sees one: its user id, and which login it was.
struct session_stub {
  std::string id;
  int login = 0;
  const std::string& uid() const {
    return id;
  }
};

using table = user_table<session_stub>;

std::shared_ptr<session_stub> session(const std::string& uid, int login = 0) {
  return std::make_shared<session_stub>(session_stub{uid, login});
}

/// Every entry of `expected` is found with its login, and nothing else is.
void check_same(const table& t, const std::map<std::string, int>& expected, int users) {
  REQUIRE(t.size() == expected.size());
  for (int i = 0; i < users; ++i) {
    auto uid = "u" + std::to_string(i);
    auto* found = t.find(uid);
    auto e = expected.find(uid);
    if (e == expected.end()) {
      CHECK(found == nullptr);
    } else {
      REQUIRE(found != nullptr);
      CHECK((*found)->uid() == uid);
      CHECK((*found)->login == e->second);
    }
  }
}

} // namespace

TEST_SUITE("dm.user_table") {

  TEST_CASE("user table: put, replace, find and erase one user") {
    table t;
    CHECK(t.find("ann") == nullptr);
    CHECK_FALSE(t.erase("ann"));
    CHECK_FALSE(t.put(session("ann", 1)));
    REQUIRE(t.find("ann") != nullptr);
    CHECK((*t.find("ann"))->login == 1);
    auto replaced = t.put(session("ann", 2));
    REQUIRE(replaced);
    CHECK(replaced->login == 1);
    CHECK(t.size() == 1);
    CHECK((*t.find("ann"))->login == 2);
    CHECK(t.find("bob") == nullptr);
    auto erased = t.erase("ann");
    REQUIRE(erased);
    CHECK(erased->login == 2);
    CHECK(t.empty());
    CHECK(t.find("ann") == nullptr);
  }

  TEST_CASE("user table: the same users as a map through random logins and logouts") {
    // Erasures shift entries back into the hole; a wrong shift loses an
    // entry from its probe run, which the full comparison after each step
    // would see. 4,000 steps over 300 ids, the table growing to 512 slots.
    table t;
    std::map<std::string, int> expected;
    std::mt19937 rng{15};
    constexpr int users = 300;
    for (int step = 0; step < 4000; ++step) {
      auto uid = "u" + std::to_string(rng() % users);
      if (rng() % 3 == 0) {
        auto erased = t.erase(uid);
        CHECK(static_cast<bool>(erased) == (expected.count(uid) == 1));
        expected.erase(uid);
      } else {
        auto replaced = t.put(session(uid, step));
        CHECK(static_cast<bool>(replaced) == (expected.count(uid) == 1));
        expected[uid] = step;
      }
      check_same(t, expected, users);
    }
  }

  TEST_CASE("user table: take_all hands every session over and leaves it empty") {
    table t;
    for (int i = 0; i < 100; ++i)
      t.put(session("u" + std::to_string(i), i));
    for (int i = 0; i < 100; i += 2)
      t.erase("u" + std::to_string(i));
    auto all = t.take_all();
    CHECK(all.size() == 50);
    std::map<std::string, int> seen;
    for (auto& s : all)
      seen[s->uid()] = s->login;
    CHECK(seen.size() == 50);
    CHECK(seen.count("u1") == 1);
    CHECK(seen.count("u2") == 0);
    CHECK(t.empty());
    CHECK(t.find("u1") == nullptr);
    t.put(session("u1", 7));
    CHECK((*t.find("u1"))->login == 7);
  }
}
