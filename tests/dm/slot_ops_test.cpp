#include "dm/slot_ops.hpp"

#include <doctest/doctest.h>

#include "dm/store_error.hpp"

using namespace meshrt;

TEST_CASE("slot ops: set, get, set_if_absent, swap, incr and the bad-input errors") {
  entry_table t;
  owner_names owners;
  auto run = [&](store_op op, std::string key, std::string value = {}, int64_t delta = 0) {
    store_request req;
    req.op = op;
    req.delta = delta;
    req.records.push_back({std::move(key), true, std::move(value), 0, ""});
    return apply_request(t, owners, req, 0);
  };
  CHECK(run(store_op::set, "a", "1").status == 0);
  CHECK(run(store_op::get, "a").records[0].value == "1");
  auto nx = run(store_op::set_if_absent, "a", "2");
  CHECK(nx.number == 0);
  CHECK(nx.records[0].value == "1");
  CHECK(run(store_op::incr, "a", "", 41).number == 42);
  CHECK(run(store_op::incr, "fresh", "", -3).number == -3);
  CHECK(run(store_op::set, "s", "text").status == 0);
  CHECK(run(store_op::incr, "s", "", 1).status == static_cast<uint8_t>(store_errc::not_an_integer));
  CHECK(run(store_op::set, std::string(257, 'k'), "v").status
        == static_cast<uint8_t>(store_errc::key_too_long));
  CHECK(run(store_op::set, "big", std::string(64 * 1024 + 1, 'v')).status
        == static_cast<uint8_t>(store_errc::value_too_large));
  CHECK(run(store_op::del, "a").number == 1);
  CHECK_FALSE(run(store_op::get, "a").records[0].present);
  // set answers nothing; swap answers what it replaced
  CHECK(run(store_op::set, "w", "1").records.empty());
  auto swapped = run(store_op::swap, "w", "2");
  REQUIRE(swapped.records.size() == 1);
  CHECK(swapped.records[0].value == "1");
  CHECK_FALSE(run(store_op::swap, "new", "x").records[0].present);
  CHECK(run(store_op::get, "w").records[0].value == "2");
}

TEST_CASE("slot ops: a reassert stores unless another owner wrote the key since") {
  entry_table t;
  owner_names owners;
  auto run
    = [&](store_op op, const std::string& key, const std::string& value, const std::string& owner) {
        store_request req;
        req.op = op;
        req.records.push_back({key, true, value, 0, owner});
        return apply_request(t, owners, req, 0);
      };
  auto value_of
    = [&](const std::string& key) { return run(store_op::get, key, {}, {}).records[0].value; };
  // absent: stored
  CHECK(run(store_op::reassert, "u", "at-n1", "n1").number == 1);
  CHECK(value_of("u") == "at-n1");
  // there with the same owner: stored over it
  CHECK(run(store_op::reassert, "u", "at-n1-again", "n1").number == 1);
  CHECK(value_of("u") == "at-n1-again");
  // another owner wrote it since: it stays, and the answer names that owner
  CHECK(run(store_op::swap, "u", "at-n2", "n2").status == 0);
  auto lost = run(store_op::reassert, "u", "at-n1", "n1");
  CHECK(lost.status == 0);
  CHECK(lost.number == 0);
  REQUIRE(lost.records.size() == 1);
  CHECK(lost.records[0].value == "at-n2");
  CHECK(lost.records[0].owner == "n2");
  CHECK(value_of("u") == "at-n2");
  // a write without owner counts as another's too
  CHECK(run(store_op::set, "plain", "v", "").status == 0);
  CHECK(run(store_op::reassert, "plain", "at-n1", "n1").number == 0);
  CHECK(value_of("plain") == "v");
}

TEST_CASE("slot ops: owned entries carry versions, and a reassert of the older of two claims loses "
          "in either order") {
  entry_table t;
  owner_names owners;
  auto run = [&](store_op op, const std::string& key, const std::string& value,
                 const std::string& owner, uint64_t version) {
    store_request req;
    req.op = op;
    req.records.push_back({key, true, value, 0, owner, version});
    return apply_request(t, owners, req, 0);
  };
  auto value_of
    = [&](const std::string& key) { return run(store_op::get, key, {}, {}, 0).records[0].value; };
  // The writer's version is kept over an absent key; a write over an entry
  // stores one more than the entry's when the writer's is not larger.
  CHECK(run(store_op::set, "u", "at-n1", "n1", 100).version == 100);
  CHECK(run(store_op::swap, "u", "at-n2", "n2", 50).version == 101);
  CHECK(run(store_op::swap, "u", "at-n2", "n2", 500).version == 500);
  CHECK(run(store_op::set_if_absent, "v", "at-n1", "n1", 7).version == 7);
  // A write without owner keeps no version.
  CHECK(run(store_op::set, "plain", "x", "", 9).version == 0);
  CHECK(record_of(t, owners, "plain", 0).version == 0);
  // The holder lost "u"; n1 (version 100) and n2 (500) set it again.
  for (bool n1_first : {true, false}) {
    CAPTURE(n1_first);
    REQUIRE(t.erase("u", 0));
    auto first = n1_first ? run(store_op::reassert, "u", "at-n1", "n1", 100)
                          : run(store_op::reassert, "u", "at-n2", "n2", 500);
    auto second = n1_first ? run(store_op::reassert, "u", "at-n2", "n2", 500)
                           : run(store_op::reassert, "u", "at-n1", "n1", 100);
    CHECK(first.number == 1);
    CHECK(second.number == (n1_first ? 1 : 0));
    CHECK(value_of("u") == "at-n2");
    CHECK(record_of(t, owners, "u", 0).version == 500);
    if (!n1_first) {
      REQUIRE(second.records.size() == 1);
      CHECK(second.records[0].owner == "n2");
      CHECK(second.records[0].version == 500);
    }
  }
  // A claim of the same version loses too; an owner's own is stored, its
  // version not going back.
  CHECK(run(store_op::reassert, "u", "at-n3", "n3", 500).number == 0);
  auto own = run(store_op::reassert, "u", "at-n2-again", "n2", 400);
  CHECK(own.number == 1);
  CHECK(own.version == 500);
  // A migration record carries the version to the next holder.
  entry_table next;
  owner_names next_owners;
  apply_record(next, next_owners, record_of(t, owners, "u", 0), 0);
  CHECK(record_of(next, next_owners, "u", 0).version == 500);
  CHECK(record_of(next, next_owners, "u", 0).owner == "n2");
}

TEST_CASE("slot ops: del_if_equal removes only the value it names, internal keys may be longer") {
  entry_table t;
  owner_names owners;
  auto run = [&](store_op op, std::string key, std::string value = {}) {
    store_request req;
    req.op = op;
    req.records.push_back({std::move(key), true, std::move(value), 0, ""});
    return apply_request(t, owners, req, 0);
  };
  CHECK(run(store_op::set, "loc", "node-b").status == 0);
  // The node the user left asks after the node it moved to wrote.
  CHECK(run(store_op::del_if_equal, "loc", "node-a").number == 0);
  CHECK(run(store_op::get, "loc").records[0].value == "node-b");
  CHECK(run(store_op::del_if_equal, "loc", "node-b").number == 1);
  CHECK_FALSE(run(store_op::get, "loc").records[0].present);
  CHECK(run(store_op::del_if_equal, "loc", "node-b").number == 0);

  auto internal = std::string{"\0dm.loc:", 8} + std::string(256, 'u');
  CHECK(run(store_op::set, internal, "x").status == 0);
  CHECK(
    run(store_op::set, std::string(1, '\0') + std::string(max_store_key_size + 16, 'u'), "x").status
    == static_cast<uint8_t>(store_errc::key_too_long));
  CHECK(run(store_op::set, std::string(257, 'k'), "x").status
        == static_cast<uint8_t>(store_errc::key_too_long));
}

TEST_CASE("slot ops: a read waits in a rebuilding slot only for a key the slot lacks") {
  entry_table t;
  owner_names owners;
  auto request = [](store_op op, std::vector<std::string> keys) {
    store_request req;
    req.op = op;
    for (auto& key : keys)
      req.records.push_back({std::move(key), true, "v", 0, ""});
    return req;
  };
  apply_request(t, owners, request(store_op::set, {"here"}), 0);
  CHECK_FALSE(reads_missing_key(t, request(store_op::get, {"here"}), 0));
  CHECK(reads_missing_key(t, request(store_op::get, {"later"}), 0));
  CHECK_FALSE(reads_missing_key(t, request(store_op::get_many, {"here"}), 0));
  CHECK(reads_missing_key(t, request(store_op::get_many, {"here", "later"}), 0));
  // writes and other ops never wait, whatever their keys
  CHECK_FALSE(reads_missing_key(t, request(store_op::set, {"later"}), 0));
  CHECK_FALSE(reads_missing_key(t, request(store_op::swap, {"later"}), 0));
  CHECK_FALSE(reads_missing_key(t, request(store_op::set_if_absent, {"later"}), 0));
  CHECK_FALSE(reads_missing_key(t, request(store_op::del, {"later"}), 0));
}
