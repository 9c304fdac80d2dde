#include "dm/location_shard.hpp"

#include <optional>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <doctest/doctest.h>

#include "dm/store_atoms.hpp"
#include "dm/store_wire.hpp"
#include "support/test_system.hpp"
#include "support/transport_port.hpp"
#include "transport/atoms.hpp"
#include "transport/packed_messages.hpp"
#include "transport/transport_actor.hpp"

using namespace std::chrono_literals;
using namespace meshrt;
using meshrt::test::test_system_config;

namespace {

/// A shard of node "a" on a real transport, with the test as its store
/// service, and a node "b" that is only a transport whose deliveries reach
/// the test: what the shard answers, reports and sends over the mesh are
/// all seen.
struct shard_fixture {
  /// What the test saw next: an answer handed to the service (origin "a"),
  /// or a store message node b received from node a.
  struct seen {
    std::optional<store_response> answer_at_a;
    std::optional<store_request> request_at_b;
    std::optional<store_response> answer_at_b;
    std::optional<migration_message> migration_at_b;
  };

  /// A change of a slot's mode the shard reported to its service.
  struct mode_change {
    uint16_t slot;
    shard_mode mode;
    std::string peer;
    uint64_t keys;
  };

  caf::actor_system sys{test_system_config()};
  caf::scoped_actor self{sys};
  caf::actor transport_a;
  caf::actor transport_b;
  std::string a;
  std::string b;
  caf::actor shard;
  /// Changes of mode seen and not taken by next_mode() yet.
  std::vector<mode_change> modes;
  uint64_t ids = 100;

  explicit shard_fixture(uint16_t base_port,
                         std::chrono::milliseconds rebuild_window = std::chrono::milliseconds{0}) {
    transport::transport_config tc;
    tc.port = base_port;
    transport_a = transport::spawn_transport(sys, tc, caf::actor{self});
    tc.port = static_cast<uint16_t>(base_port + 10);
    transport_b = transport::spawn_transport(sys, tc, caf::actor{self});
    a = "127.0.0.1:" + std::to_string(test::transport_port(self, transport_a));
    b = "127.0.0.1:" + std::to_string(test::transport_port(self, transport_b));
    shard = spawn_location_shard(sys, 0, a, caf::actor{self}, transport_a, rebuild_window);
  }

  ~shard_fixture() {
    for (const auto& x : {shard, transport_a, transport_b})
      self->send_exit(x, caf::exit_reason::user_shutdown);
  }

  static byte_buffer request(store_op op, uint64_t id, uint16_t slot, const std::string& origin,
                             std::string key, std::string value = {}, uint8_t hops = 0) {
    store_request req;
    req.op = op;
    req.id = id;
    req.timeout_ms = 5000;
    req.slot = slot;
    req.hops = hops;
    req.origin = origin;
    req.records.push_back(store_record{std::move(key), true, std::move(value), 0, {}});
    return encode(req);
  }

  void on_mode(uint16_t slot, uint8_t mode, const std::string& peer, uint64_t keys) {
    modes.push_back({slot, static_cast<shard_mode>(mode), peer, keys});
  }

  /// The next answer or message within `within` (changes of mode on the
  /// way go to `modes`).
  seen next(std::chrono::milliseconds within = std::chrono::seconds{2}) {
    seen result;
    bool done = false;
    for (auto i = (within + 39ms) / 40ms; i > 0 && !done; --i) // rounded up
      self->receive(
        [&](store_response_atom, const byte_buffer& bytes) {
          result.answer_at_a = decode_store_response(bytes);
          done = true;
        },
        [&](transport::received_atom, const std::string& from, const packed_messages& batch, bool) {
          if (from != a)
            return;
          for (auto bytes : batch.views()) {
            if (store_kind_of(bytes) == store_kind::request)
              result.request_at_b = decode_store_request(bytes);
            else if (store_kind_of(bytes) == store_kind::response)
              result.answer_at_b = decode_store_response(bytes);
            else if (store_kind_of(bytes) == store_kind::migration)
              result.migration_at_b = decode_migration(bytes);
            done = true;
          }
        },
        [&](shard_mode_atom, uint16_t slot, uint8_t mode, const std::string& peer, uint64_t keys) {
          on_mode(slot, mode, peer, keys);
        },
        caf::after(40ms) >> [] {});
    return result;
  }

  /// The next change of mode: one next() saw already, or one within 2 s.
  std::optional<mode_change> next_mode() {
    if (modes.empty())
      self->receive([&](shard_mode_atom, uint16_t slot, uint8_t mode, const std::string& peer,
                        uint64_t keys) { on_mode(slot, mode, peer, keys); },
                    caf::after(2s) >> [] {});
    if (modes.empty())
      return std::nullopt;
    auto result = modes.front();
    modes.erase(modes.begin());
    return result;
  }

  /// The slot is the shard's now, as `mode` (incoming: from `peer`).
  void open(uint16_t slot, shard_mode mode, const std::string& peer = {}) {
    self->send(shard, shard_open_atom::value, slot, static_cast<uint8_t>(mode), peer);
  }

  /// Checks that the next change of mode the shard reports is `slot`
  /// becoming `mode`, with `peer` and `keys`.
  void expect_mode(uint16_t slot, shard_mode mode, const std::string& peer, uint64_t keys) {
    auto change = next_mode();
    REQUIRE_MESSAGE(change, "the shard did not say slot " << slot << " is " << to_string(mode));
    CHECK(change->slot == slot);
    CHECK(change->mode == mode);
    CHECK(change->peer == peer);
    CHECK(change->keys == keys);
  }

  /// Sets `key` in `slot` through node a.
  void set(uint16_t slot, const std::string& key, const std::string& value) {
    self->send(shard, shard_request_atom::value,
               request(store_op::set, ++ids, slot, a, key, value));
    auto s = next();
    REQUIRE(s.answer_at_a);
    CHECK(s.answer_at_a->status == 0);
  }

  /// The value of `key` in `slot`, read through node a.
  std::optional<std::string> get(uint16_t slot, const std::string& key) {
    self->send(shard, shard_request_atom::value, request(store_op::get, ++ids, slot, a, key));
    auto s = next();
    REQUIRE(s.answer_at_a);
    REQUIRE(s.answer_at_a->records.size() == 1);
    const auto& rec = s.answer_at_a->records[0];
    return rec.present ? std::optional<std::string>{rec.value} : std::nullopt;
  }

  /// The shard's direct read of `key` for an actor of its node
  /// (shard_get_atom): the value or nullopt, or empty when it declines.
  std::optional<std::optional<std::string>> direct_read(uint16_t slot, const std::string& key) {
    std::optional<std::optional<std::string>> result;
    self->request(shard, std::chrono::seconds{2}, shard_get_atom::value, slot, key)
      .receive(
        [&](bool answered, std::optional<std::string>& value) {
          if (answered)
            result = std::move(value);
        },
        [&](caf::error& err) { FAIL("shard_get failed: " << to_string(err)); });
    return result;
  }

  /// Node b pushes `records` of `slot` to the shard, as a handoff does;
  /// the shard's acknowledgement comes back to b.
  void push(uint16_t slot, migration_step step, std::vector<store_record> records) {
    migration_message m;
    m.step = step;
    m.slot = slot;
    m.records = std::move(records);
    self->send(shard, shard_migration_atom::value, b, encode(m));
    auto s = next();
    REQUIRE(s.migration_at_b);
    CHECK(s.migration_at_b->step == migration_step::ack);
  }
};

} // namespace

TEST_SUITE("dm.location_shard") {
  TEST_CASE("an outgoing slot sends requests nobody forwarded yet to its new owner first") {
    // The new owner decides who answers while a slot moves: pulling it, it
    // sends requests back to the old owner; answering for it already (its
    // pull went to a node that did not have the slot), it answers them. The
    // old owner answered its own node's requests itself, and a write
    // through the new owner was missing for a read through the old one.
    shard_fixture f{48700};
    const uint16_t slot = 3;
    f.open(slot, shard_mode::owned);
    f.set(slot, "k", "old");
    f.self->send(f.shard, shard_hand_to_atom::value, slot, f.b);
    f.expect_mode(slot, shard_mode::outgoing, f.b, 1);
    // this node's own read goes to the new owner, one hop more
    f.self->send(f.shard, shard_request_atom::value,
                 shard_fixture::request(store_op::get, 2, slot, f.a, "k"));
    auto own = f.next();
    CHECK_FALSE(own.answer_at_a);
    REQUIRE(own.request_at_b);
    CHECK(own.request_at_b->id == 2);
    CHECK(own.request_at_b->hops == 1);
    CHECK(own.request_at_b->origin == f.a);
    // so does one another node sent straight here (its ring is behind)
    f.self->send(
      f.shard, shard_request_atom::value,
      std::vector<byte_buffer>{shard_fixture::request(store_op::get, 3, slot, f.b, "k")});
    auto direct = f.next();
    REQUIRE(direct.request_at_b);
    CHECK(direct.request_at_b->id == 3);
    CHECK(direct.request_at_b->hops == 1);
    // what the new owner sends back is answered here, to its origin
    f.self->send(
      f.shard, shard_request_atom::value,
      std::vector<byte_buffer>{shard_fixture::request(store_op::get, 2, slot, f.a, "k", {}, 1)});
    auto back = f.next();
    REQUIRE(back.answer_at_a);
    CHECK(back.answer_at_a->id == 2);
    REQUIRE(back.answer_at_a->records.size() == 1);
    CHECK(back.answer_at_a->records[0].value == "old");
    // and so is one that came a longer way: it never goes round in a loop
    f.self->send(
      f.shard, shard_request_atom::value,
      std::vector<byte_buffer>{shard_fixture::request(store_op::get, 4, slot, f.b, "k", {}, 2)});
    auto longer = f.next();
    CHECK_FALSE(longer.request_at_b);
    REQUIRE(longer.answer_at_b);
    CHECK(longer.answer_at_b->id == 4);
    REQUIRE(longer.answer_at_b->records.size() == 1);
    CHECK(longer.answer_at_b->records[0].value == "old");
  }

  TEST_CASE("a read for an actor of its node is answered only while the slot is owned and still") {
    // The DM service of the node that owns a user's location asks the
    // shard directly; a slot on its way in or out is the store service's
    // to route, so the shard declines and the service asks that way.
    shard_fixture f{48780};
    auto read = [&](uint16_t slot, const std::string& key) { return f.direct_read(slot, key); };
    f.open(3, shard_mode::owned);
    f.set(3, "k", "v");
    auto found = read(3, "k");
    REQUIRE(found);
    CHECK(*found == std::optional<std::string>{"v"});
    auto missing = read(3, "nobody");
    REQUIRE(missing);
    CHECK_FALSE(missing->has_value());
    CHECK_FALSE(read(5, "k")); // not a slot of this node
    f.self->send(f.shard, shard_hand_to_atom::value, uint16_t{3}, f.b);
    f.expect_mode(3, shard_mode::outgoing, f.b, 1);
    CHECK_FALSE(read(3, "k"));            // moving: its new owner decides who answers
    f.open(4, shard_mode::incoming, f.b); // pulls from b, which never answers here
    CHECK_FALSE(read(4, "k"));
  }

  TEST_CASE("a slot taken over without its entries lets a read of a missing key wait for it") {
    // Its holder died: the entries' owners set them again, and their views
    // lose the dead node up to a few hundred ms after this one's. A read
    // meanwhile waits for its key, or for the rebuild window's end.
    shard_fixture f{48720, 800ms};
    const uint16_t slot = 7;
    auto read = [&](const std::string& key) { return f.direct_read(slot, key); };
    auto get_request = [&](uint64_t id, const std::string& key) {
      f.self->send(f.shard, shard_request_atom::value,
                   shard_fixture::request(store_op::get, id, slot, f.a, key));
    };
    auto answer_within = [&](std::chrono::milliseconds wait) { return f.next(wait).answer_at_a; };
    f.open(slot, shard_mode::owned, "127.0.0.1:9"); // taken over from a node that is gone
    f.set(slot, "here", "a");
    CHECK(f.get(slot, "here") == std::optional<std::string>{"a"}); // what is there answers
    CHECK(read("here") == std::optional<std::optional<std::string>>{"a"});
    CHECK_FALSE(read("later")); // a direct read of a missing key is declined...
    get_request(1, "later");    // ...and the store's request waits
    CHECK_FALSE(answer_within(100ms));
    f.set(slot, "later", "b"); // its owner sets it: the waiting read has it
    auto waited = answer_within(2s);
    REQUIRE(waited);
    CHECK(waited->id == 1);
    REQUIRE(waited->records.size() == 1);
    CHECK(waited->records[0].present);
    CHECK(waited->records[0].value == "b");
    // a key nobody sets is "not there" at the window's end, not before
    get_request(2, "never");
    CHECK_FALSE(answer_within(100ms));
    auto late = answer_within(2s);
    REQUIRE(late);
    CHECK(late->id == 2);
    REQUIRE(late->records.size() == 1);
    CHECK_FALSE(late->records[0].present);
    // after it, misses answer at once, directly too
    CHECK(f.get(slot, "never") == std::nullopt);
    auto direct = read("never");
    REQUIRE(direct);
    CHECK_FALSE(direct->has_value());
    // a slot opened owned with no holder before it starts complete
    f.open(8, shard_mode::owned);
    CHECK(f.get(8, "nothing") == std::nullopt);
  }

  TEST_CASE("records pushed to a slot that answers already add keys, never change its own") {
    // Two nodes whose views differed for a moment both had the slot; the
    // one that answers for it now keeps what its readers saw, and takes
    // the keys only the other had.
    shard_fixture f{48740};
    const uint16_t slot = 5;
    f.open(slot, shard_mode::owned);
    f.set(slot, "both", "here");
    f.set(slot, "kept", "here");
    f.push(slot, migration_step::batch,
           {store_record{"both", true, "there", 0, {}}, store_record{"kept", false, {}, 0, {}},
            store_record{"only-there", true, "there", 0, {}}});
    f.push(slot, migration_step::complete, {store_record{"last", true, "there", 0, {}}});
    CHECK(f.get(slot, "both") == std::optional<std::string>{"here"});
    CHECK(f.get(slot, "kept") == std::optional<std::string>{"here"});
    CHECK(f.get(slot, "only-there") == std::optional<std::string>{"there"});
    CHECK(f.get(slot, "last") == std::optional<std::string>{"there"});
    CHECK(f.get(slot, "never") == std::nullopt);
  }

  TEST_CASE("records pushed to a slot that pulls them are its state, removals too") {
    shard_fixture f{48760};
    const uint16_t slot = 6;
    f.open(slot, shard_mode::incoming, f.b);
    auto pull = f.next();
    REQUIRE(pull.migration_at_b);
    CHECK(pull.migration_at_b->step == migration_step::pull);
    f.push(slot, migration_step::batch,
           {store_record{"k", true, "first", 0, {}}, store_record{"gone", true, "x", 0, {}}});
    f.push(slot, migration_step::complete,
           {store_record{"k", true, "second", 0, {}}, store_record{"gone", false, {}, 0, {}}});
    f.expect_mode(slot, shard_mode::owned, f.b, 1);
    CHECK(f.get(slot, "k") == std::optional<std::string>{"second"});
    CHECK(f.get(slot, "gone") == std::nullopt);
  }
}
