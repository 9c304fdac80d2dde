#include "dm/entry_table.hpp"

#include <string>

#include <doctest/doctest.h>

using namespace meshrt;

TEST_CASE("entry table: put, find, replace and erase 10,000 keys") {
  entry_table t;
  for (int i = 0; i < 10000; ++i)
    t.put("key-" + std::to_string(i), "value-" + std::to_string(i), 0);
  CHECK(t.size() == 10000);
  for (int i = 0; i < 10000; i += 7) {
    auto e = t.find("key-" + std::to_string(i), 0);
    REQUIRE(e);
    CHECK(e->value == "value-" + std::to_string(i));
  }
  t.put("key-5", "other", 0, 3, 0x0102030405060708);
  CHECK(t.size() == 10000);
  CHECK(t.find("key-5", 0)->value == "other");
  CHECK(t.find("key-5", 0)->owner == 3);
  CHECK(t.find("key-5", 0)->version == 0x0102030405060708);
  // An entry nobody owns keeps no version.
  t.put("key-7", "plain", 0, 0, 99);
  CHECK(t.find("key-7", 0)->version == 0);
  CHECK(t.find("key-7", 0)->value == "plain");
  // Erase every other key: the rest stay findable (backward shift).
  for (int i = 0; i < 10000; i += 2)
    CHECK(t.erase("key-" + std::to_string(i), 0));
  CHECK(t.size() == 5000);
  for (int i = 0; i < 10000; ++i)
    CHECK(t.find("key-" + std::to_string(i), 0).has_value() == (i % 2 == 1));
  CHECK_FALSE(t.erase("key-0", 0));
  CHECK(t.keys().size() == 5000);
  CHECK(t.erase_owned_by(3) == 1);
  CHECK(t.size() == 4999);
}

TEST_CASE("entry table: TTL to the millisecond on reads, expiry pops only what is due") {
  entry_table t;
  t.put("short", "1", 1100);
  t.put("long", "2", 5000);
  t.put("forever", "3", 0);
  CHECK(t.find("short", 1099));
  CHECK_FALSE(t.find("short", 1100)); // gone at its deadline, before any expire()
  CHECK(t.expire(1000) == 0);
  CHECK(t.size() == 3);
  CHECK(t.expire(1100) == 1);
  CHECK(t.size() == 2);
  // Replacing a key drops its old deadline.
  t.put("long", "2b", 0);
  CHECK(t.expire(6000) == 0);
  CHECK(t.find("long", 10000)->value == "2b");
  CHECK(t.next_deadline() == 0);
}
