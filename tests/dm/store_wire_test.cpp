#include "dm/store_wire.hpp"

#include <doctest/doctest.h>

#include "dm/slot_ops.hpp"
#include "dm/store_error.hpp"

using namespace meshrt;

TEST_CASE("store wire: requests, responses and migration messages round-trip") {
  store_request req;
  req.op = store_op::set;
  req.id = 42;
  req.timeout_ms = 3000;
  req.slot = 17;
  req.hops = 1;
  req.origin = "127.0.0.1:9000";
  req.records.push_back({"user-1", true, std::string(1000, 'x'), 500, "127.0.0.1:9001"});
  auto bytes = encode(req);
  CHECK(store_kind_of(bytes) == store_kind::request);
  CHECK(request_slot(bytes) == 17);
  auto back = decode_store_request(bytes);
  REQUIRE(back);
  CHECK(back->id == 42);
  CHECK(back->origin == req.origin);
  CHECK(back->records[0].value == req.records[0].value);
  CHECK(back->records[0].owner == "127.0.0.1:9001");
  // Truncated anywhere, or with a byte too many: refused.
  for (size_t n = 0; n < bytes.size(); n += 13)
    CHECK_FALSE(decode_store_request(byte_view{bytes.data(), n}));
  bytes.push_back(0);
  CHECK_FALSE(decode_store_request(bytes));

  store_response resp;
  resp.id = 9;
  resp.status = static_cast<uint8_t>(store_errc::not_an_integer);
  resp.error = "nope";
  auto r = decode_store_response(encode(resp));
  REQUIRE(r);
  CHECK(r->error == "nope");

  migration_message m;
  m.step = migration_step::complete;
  m.slot = 299;
  m.records.push_back({"k", false, "", 0, ""});
  auto mm = decode_migration(encode(m));
  REQUIRE(mm);
  CHECK(mm->step == migration_step::complete);
  CHECK_FALSE(mm->records[0].present);
}

TEST_CASE("slot ops: set, get, set_if_absent, incr and the bad-input errors") {
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
}
