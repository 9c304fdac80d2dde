#include "dm/dm_wire.hpp"

#include <doctest/doctest.h>

using namespace meshrt;

TEST_CASE("dm wire: deliver, answer and channel-closed messages round-trip") {
  dm_deliver d{7, 3000, "ann", std::string(256, 'b'), 2, 513, byte_buffer(5000, 'x'), {}, {}};
  auto back = decode_dm_deliver(encode(d));
  REQUIRE(back);
  CHECK(back->id == 7);
  CHECK(back->timeout_ms == 3000);
  CHECK(back->from == "ann");
  CHECK(back->to == d.to);
  CHECK(back->ver == 2);
  CHECK(back->cmd == 513);
  CHECK(back->message == d.message);
  CHECK(back->reply_to.empty());
  CHECK(back->kind == dm_kind::deliver);
  CHECK(back->pos.stream == 0);
  CHECK(back->pos.first);

  // its place in its sender's stream
  auto s = d;
  s.pos = dm_stream_pos{0x4000000000000007, 0xfffffffe, 0xfffffffd, false};
  auto sb = decode_dm_deliver(encode(s));
  REQUIRE(sb);
  CHECK(sb->pos.stream == 0x4000000000000007);
  CHECK(sb->pos.seq == 0xfffffffe);
  CHECK(sb->pos.prev == 0xfffffffd);
  CHECK_FALSE(sb->pos.first);
  CHECK(sb->message == d.message);

  // a find carries the node its answer goes to
  auto f = d;
  f.kind = dm_kind::find;
  f.reply_to = "127.0.0.1:7001";
  auto fb = decode_dm_deliver(encode(f));
  REQUIRE(fb);
  CHECK(fb->kind == dm_kind::find);
  CHECK(fb->reply_to == "127.0.0.1:7001");
  CHECK(fb->message == d.message);
  // both again: a find sent again, and the deliver it becomes
  for (auto kind : {dm_kind::find_again, dm_kind::deliver_again}) {
    f.kind = kind;
    auto again = decode_dm_deliver(encode(f));
    REQUIRE(again);
    CHECK(again->kind == kind);
    CHECK(is_again(again->kind));
    CHECK(again->id == 7);
    CHECK(again->reply_to == "127.0.0.1:7001");
    CHECK(again->from == "ann");
  }
  f.kind = dm_kind::find_again;
  auto cut = encode(f);
  for (size_t n = 0; n < cut.size(); ++n)
    CHECK_FALSE(decode_dm_deliver(byte_view{cut.data(), n}));
  CHECK_FALSE(is_again(dm_kind::find));
  CHECK_FALSE(is_again(dm_kind::deliver));

  auto o = decode_dm_answer(encode(dm_answer{8, dm_outcome::out_of_order, {}}));
  REQUIRE(o);
  CHECK(o->outcome == dm_outcome::out_of_order);
  CHECK(std::string{to_string(o->outcome)} == "out_of_order");
  auto a = decode_dm_answer(encode(dm_answer{9, dm_outcome::declined, "127.0.0.1:7002"}));
  REQUIRE(a);
  CHECK(a->id == 9);
  CHECK(a->outcome == dm_outcome::declined);
  CHECK(a->at == "127.0.0.1:7002");
  auto u = decode_dm_answer(encode(dm_answer{10, dm_outcome::unknown_user, ""}));
  REQUIRE(u);
  CHECK(u->outcome == dm_outcome::unknown_user);
  CHECK(u->at.empty());

  dm_closed c{close_reason::disconnect, "ann", "bob", 0, 0, {}};
  auto cb = decode_dm_closed(encode(c));
  REQUIRE(cb);
  CHECK(cb->reason == close_reason::disconnect);
  CHECK(cb->message.empty());
  auto moved = decode_dm_closed(
    encode(dm_closed{close_reason::replaced, "127.0.0.1:7001", "ann", 0, 0, {}}));
  REQUIRE(moved);
  CHECK(moved->reason == close_reason::replaced);
  CHECK(moved->from == "127.0.0.1:7001");
  auto unknown = encode(c);
  unknown[1] = 4; // no such reason
  CHECK_FALSE(decode_dm_closed(unknown));
  CHECK(location_key("ann").size() == 8 + 3);
}

TEST_CASE("dm wire: truncated, padded, mislabelled and bad-id messages do not decode") {
  auto d = encode(dm_deliver{1, 10, "ann", "bob", 0, 0, byte_buffer{'h', 'i'}, {}, {}});
  for (size_t n = 0; n < d.size(); ++n)
    CHECK_FALSE(decode_dm_deliver(byte_view{d.data(), n}));
  auto padded = d;
  padded.push_back(0);
  CHECK_FALSE(decode_dm_deliver(padded));
  CHECK_FALSE(decode_dm_answer(d));
  CHECK_FALSE(decode_dm_closed(d));
  // user ids: empty, or over 256 bytes
  CHECK_FALSE(decode_dm_deliver(encode(dm_deliver{1, 10, "", "bob", 0, 0, {'h'}, {}, {}})));
  CHECK_FALSE(decode_dm_deliver(
    encode(dm_deliver{1, 10, "ann", std::string(257, 'b'), 0, 0, {'h'}, {}, {}})));
  // a flag that means nothing (bit 0 says first, bit 1 closes; the flags
  // follow kind, id, timeout, reply to, stream, seq and prev)
  auto flags_at = size_t{1 + 8 + 4 + 2 + 8 + 4 + 4};
  REQUIRE(d[flags_at] == 1);
  auto flagged = d;
  flagged[flags_at] = 5;
  CHECK_FALSE(decode_dm_deliver(flagged));
  flagged[flags_at] = 0;
  CHECK(decode_dm_deliver(flagged));
  flagged[flags_at] = 3;
  auto closing = decode_dm_deliver(flagged);
  REQUIRE(closing);
  CHECK(closing->pos.first);
  CHECK(closing->pos.closes);
  CHECK(encode(*closing) == flagged);
  // an empty message: only a ClearCacheByUserID without a last message,
  // which closes
  dm_deliver bare{1, 10, "ann", "bob", 0, 0, {}, {}, {}};
  CHECK_FALSE(decode_dm_deliver(encode(bare)));
  bare.pos.closes = true;
  auto clear = decode_dm_deliver(encode(bare));
  REQUIRE(clear);
  CHECK(clear->pos.closes);
  CHECK(clear->message.empty());
  // an unknown outcome or reason
  auto a = encode(dm_answer{1, dm_outcome::delivered, ""});
  a[9] = 8;
  CHECK_FALSE(decode_dm_answer(a));
  a[9] = 0;
  CHECK_FALSE(decode_dm_answer(a));
  // another kind in a deliver's place
  auto k = d;
  k[0] = 46;
  CHECK_FALSE(decode_dm_deliver(k));
  auto c = encode(dm_closed{close_reason::disconnect, "ann", "bob", 0, 0, {}});
  CHECK(decode_dm_closed(c));
  c[1] = 0;
  CHECK_FALSE(decode_dm_closed(c));
  // reason 1 was a clear, which comes as a deliver that closes, in its
  // stream
  c[1] = 1;
  CHECK_FALSE(decode_dm_closed(c));
}

TEST_CASE("dm wire: locations and locations wanted round-trip, and bad ones do not decode") {
  dm_locations all{locations_op::all, {"ann", "bob", std::string(256, 'c')}};
  auto bytes = encode(all);
  CHECK(bytes[0] == 46);
  auto back = decode_dm_locations(bytes);
  REQUIRE(back);
  CHECK(back->op == locations_op::all);
  CHECK(back->users == all.users);
  auto none = decode_dm_locations(encode(dm_locations{locations_op::left, {}}));
  REQUIRE(none);
  CHECK(none->op == locations_op::left);
  CHECK(none->users.empty());
  auto wanted = encode_locations_wanted(0x1122334455667788);
  CHECK(wanted.size() == 9);
  CHECK(decode_locations_wanted(wanted) == uint64_t{0x1122334455667788});
  CHECK_FALSE(decode_dm_locations(wanted));
  // every truncation, a padded one, an unknown op, an empty or too long id,
  // a count beyond the bytes
  for (size_t n = 0; n < bytes.size(); ++n)
    CHECK_FALSE(decode_dm_locations(byte_view{bytes.data(), n}));
  auto padded = bytes;
  padded.push_back(0);
  CHECK_FALSE(decode_dm_locations(padded));
  auto op = bytes;
  op[1] = 4;
  CHECK_FALSE(decode_dm_locations(op));
  op[1] = 0;
  CHECK_FALSE(decode_dm_locations(op));
  CHECK_FALSE(decode_dm_locations(encode(dm_locations{locations_op::here, {""}})));
  CHECK_FALSE(
    decode_dm_locations(encode(dm_locations{locations_op::here, {std::string(257, 'x')}})));
  auto count = encode(dm_locations{locations_op::here, {"ann"}});
  count[2] = 0xFF;
  count[3] = 0xFF;
  CHECK_FALSE(decode_dm_locations(count));
  auto long_wanted = wanted;
  long_wanted.push_back(0);
  CHECK_FALSE(decode_locations_wanted(long_wanted));
  CHECK_FALSE(decode_locations_wanted(byte_view{wanted.data(), 8}));
  CHECK_FALSE(decode_locations_wanted(bytes));
}
