#include "dm/store_wire.hpp"

#include <doctest/doctest.h>

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
  CHECK(request_hops(bytes) == 1);
  auto back = decode_store_request(bytes);
  REQUIRE(back);
  CHECK(back->id == 42);
  CHECK(back->origin == req.origin);
  CHECK(back->records[0].value == req.records[0].value);
  CHECK(back->records[0].owner == "127.0.0.1:9001");
  CHECK(back->records[0].version == 0);
  CHECK(back->gone.empty());
  // An owned record carries its version; one without owner has none.
  auto versioned = req;
  versioned.records[0].version = 1764990000123456;
  versioned.records.push_back({"plain", true, "v", 0, "", 77});
  auto versioned_bytes = encode(versioned);
  // (the record without owner adds its fields alone: key, present, value,
  // ttl, owner)
  CHECK(versioned_bytes.size() == bytes.size() + 2 + 5 + 1 + 4 + 1 + 4 + 1);
  auto versioned_back = decode_store_request(versioned_bytes);
  REQUIRE(versioned_back);
  CHECK(versioned_back->records[0].version == 1764990000123456);
  CHECK(versioned_back->records[1].version == 0);
  CHECK(request_gone(bytes).empty());
  // A read sent again names the node its sender lost, readable without
  // decoding; a request cut short has none.
  auto again = req;
  again.op = store_op::get;
  again.gone = "127.0.0.1:9002";
  auto again_bytes = encode(again);
  CHECK(request_gone(again_bytes) == "127.0.0.1:9002");
  CHECK(decode_store_request(again_bytes)->gone == "127.0.0.1:9002");
  CHECK(decode_store_request(again_bytes)->records[0].key == "user-1");
  for (size_t n = 0; n < request_hops_offset + 3 + req.origin.size() + again.gone.size(); ++n)
    CHECK(request_gone(byte_view{again_bytes.data(), n}).empty());
  // The last op decodes; a byte past it is no op.
  auto last = req;
  last.op = store_op::reassert;
  auto last_bytes = encode(last);
  REQUIRE(decode_store_request(last_bytes));
  CHECK(decode_store_request(last_bytes)->op == store_op::reassert);
  CHECK(std::string{to_string(store_op::reassert)} == "reassert");
  last_bytes[1] = static_cast<uint8_t>(store_op::reassert) + 1;
  CHECK_FALSE(decode_store_request(last_bytes));
  // A forward counts a hop in place, up to max_store_hops - 1.
  auto forwarded = bytes;
  for (int hop = 2; hop < max_store_hops; ++hop)
    REQUIRE(add_hop(forwarded));
  CHECK(decode_store_request(forwarded)->hops == max_store_hops - 1);
  CHECK(request_hops(forwarded) == max_store_hops - 1);
  CHECK_FALSE(add_hop(forwarded));
  CHECK(decode_store_request(forwarded)->hops == max_store_hops - 1);
  byte_buffer runt{32, 1, 0};
  CHECK_FALSE(add_hop(runt));
  CHECK(request_hops(runt) == 0);
  // Truncated anywhere, or with a byte too many: refused.
  for (size_t n = 0; n < bytes.size(); n += 13)
    CHECK_FALSE(decode_store_request(byte_view{bytes.data(), n}));
  bytes.push_back(0);
  CHECK_FALSE(decode_store_request(bytes));

  store_response stored;
  stored.id = 8;
  stored.version = 1764990000123457;
  stored.records.push_back({"u", true, "at-n2", 0, "n2", 1764990000123450});
  auto stored_back = decode_store_response(encode(stored));
  REQUIRE(stored_back);
  CHECK(stored_back->version == 1764990000123457);
  CHECK(stored_back->records[0].owner == "n2");
  CHECK(stored_back->records[0].version == 1764990000123450);

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
  // The service routes by the head alone, and refuses what is not one.
  migration_step step{};
  uint16_t slot = 0;
  auto head = encode(m);
  REQUIRE(migration_head(head, step, slot));
  CHECK(step == migration_step::complete);
  CHECK(slot == 299);
  head[1] = 0; // no such step
  CHECK_FALSE(migration_head(head, step, slot));
  head[1] = 42;
  CHECK_FALSE(migration_head(head, step, slot));
  head[1] = static_cast<uint8_t>(migration_step::leaving); // the last step
  REQUIRE(migration_head(head, step, slot));
  CHECK(step == migration_step::leaving);
  head[1] = static_cast<uint8_t>(migration_step::leaving) + 1;
  CHECK_FALSE(migration_head(head, step, slot));
  m.step = migration_step::leaving;
  m.records.clear();
  mm = decode_migration(encode(m));
  REQUIRE(mm);
  CHECK(mm->step == migration_step::leaving);
  CHECK_FALSE(migration_head(byte_buffer{34, 3}, step, slot)); // too short
  CHECK_FALSE(migration_head(encode(req), step, slot));        // a request
}
