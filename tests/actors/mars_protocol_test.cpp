#include "actors/mars_protocol.hpp"

#include <algorithm>
#include <random>

#include <doctest/doctest.h>

#include "actors/mesh_envelope.hpp"

using namespace meshrt;

namespace {

node_record sample() {
  node_record r;
  r.mesh_address = "127.0.0.1:8000";
  r.public_endpoint = "203.0.113.5:7000";
  r.type = "UDP";
  r.role = "UDP";
  r.status = node_status::taken;
  r.values["load"] = {0x05};
  r.values["name"] = {0xa3, 'a', 'b', 'c'};
  return r;
}

template<class T>
T round_trip(const T& x) {
  std::string error;
  auto decoded = decode_mars(encode(mars_message{x}), error);
  REQUIRE_MESSAGE(decoded, error);
  REQUIRE(std::holds_alternative<T>(*decoded));
  return std::get<T>(*decoded);
}

} // namespace

TEST_SUITE("actors.mars_protocol") {

  TEST_CASE("every message round-trips") {
    auto a = round_trip(mars_announce{"game", sample(), 77, 12, false, {{"k", 3}}});
    CHECK(a.app == "game");
    CHECK(a.record == sample());
    CHECK(a.epoch == 77);
    CHECK(a.version == 12);
    CHECK_FALSE(a.guest);
    REQUIRE(a.restore_shared.size() == 1);
    CHECK(a.restore_shared[0].second == 3);
    CHECK(round_trip(mars_announce{"game", sample(), 0, 0, true, {}}).guest);
    auto l = round_trip(mars_leave{"game", "127.0.0.1:8000"});
    CHECK(l.mesh_address == "127.0.0.1:8000");
    auto s = round_trip(mars_shared{"game", "rooms", -3, true});
    CHECK(s.value == -3);
    CHECK(s.remove);
    view_delta d;
    d.epoch = 5;
    d.version = 9;
    d.upserts = {sample()};
    d.removed = {"127.0.0.2:8000"};
    d.shared_set = {{"rooms", 4}};
    d.shared_removed = {"old"};
    auto v = round_trip(d);
    CHECK(v.epoch == 5);
    CHECK(v.version == 9);
    CHECK(!v.full);
    REQUIRE(v.upserts.size() == 1);
    CHECK(v.upserts[0] == sample());
    CHECK(v.removed == d.removed);
    CHECK(v.shared_set == d.shared_set);
    CHECK(v.shared_removed == d.shared_removed);
    mars_status st;
    st.nodes.push_back({sample(), 120});
    st.shared = {{"rooms", 4}};
    st.uptime_ms = 9000;
    st.messages_in = 10;
    st.bytes_in = 490;
    st.bytes_out = 190;
    auto back = round_trip(st);
    REQUIRE(back.nodes.size() == 1);
    CHECK(back.nodes[0].last_seen_ms == 120);
    CHECK(back.shared == st.shared);
    CHECK(back.uptime_ms == 9000);
    CHECK(back.messages_in == 10);
    CHECK(back.bytes_in == 490);
    CHECK(back.bytes_out == 190);
    auto sus = round_trip(mars_suspect{"game", "127.0.0.1:8002", 77, 13});
    CHECK(sus.app == "game");
    CHECK(sus.mesh_address == "127.0.0.1:8002");
    CHECK(sus.epoch == 77);
    CHECK(sus.version == 13);
    round_trip(mars_probe{});
  }

  TEST_CASE("a heartbeat and an empty answer are small") {
    node_record r;
    r.mesh_address = "10.20.30.40:8000";
    r.type = "HTTP";
    r.role = "HTTP";
    auto heartbeat = encode(mars_announce{"app", r, 1763700000000000, 1234, false, {}});
    view_delta empty;
    empty.epoch = 1763700000000000;
    empty.version = 1234;
    auto answer = encode(empty);
    MESSAGE("heartbeat " << heartbeat.size() << " B, steady-state answer " << answer.size()
                         << " B");
    // Two heartbeats a second each way stay far below the 1 KB/s per node goal.
    CHECK(heartbeat.size() < 80);
    CHECK(answer.size() < 40);
  }

  TEST_CASE("malformed input is an error, never a crash") {
    std::string error;
    CHECK(!decode_mars(byte_buffer{}, error));
    CHECK(!error.empty());
    // Every record starts with the MARS kind byte; the rest is msgpack.
    const uint8_t mars = static_cast<uint8_t>(envelope_kind::mars);
    auto record = encode(mars_message{mars_leave{"a", "127.0.0.1:8000"}});
    REQUIRE(record.front() == mars);
    record.front() = static_cast<uint8_t>(envelope_kind::message);
    CHECK(!decode_mars(record, error));
    CHECK(error == "not a MARS record (kind byte 1)");
    CHECK(!decode_mars(byte_buffer{mars, 0x93, 0x01}, error)); // truncated array
    CHECK(!decode_mars(byte_buffer{mars, 0x91, 0x09}, error)); // unknown kind
    CHECK(error == "unknown MARS message kind 9");
    CHECK(!decode_mars(byte_buffer{mars, 0xa3, 'a', 'b', 'c'}, error)); // not an array
    // Five bytes announcing an array of 4 billion elements: refused, not
    // allocated (the ASan build would abort on a 32 GB allocation).
    CHECK(!decode_mars(byte_buffer{mars, 0xdd, 0xff, 0xff, 0xff, 0xff}, error));
    CHECK(error.rfind("malformed MARS message: ", 0) == 0);
    CHECK(
      !decode_mars(byte_buffer{mars, 0xdf, 0xff, 0xff, 0xff, 0xff}, error)); // the same as a map
    auto bad_status = encode(mars_message{mars_announce{"a", sample(), 0, 0, false, {}}});
    // The record is [address, endpoint, type, role, status, values]: the status
    // is the byte right after the role, the second "UDP" (0xa3 'U' 'D' 'P').
    const uint8_t role[] = {0xa3, 'U', 'D', 'P'};
    auto at = std::find_end(bad_status.begin(), bad_status.end(), role, role + 4);
    REQUIRE(at != bad_status.end());
    REQUIRE(*(at + 4) == static_cast<uint8_t>(node_status::taken));
    *(at + 4) = 0x07;
    CHECK(!decode_mars(bad_status, error));
    CHECK(error == "announce with an unknown node status");
    std::mt19937 rng{5};
    for (int i = 0; i < 2000; ++i) {
      auto bytes = encode(mars_message{mars_announce{"app", sample(), 1, 2, false, {}}});
      bytes[rng() % bytes.size()] = static_cast<uint8_t>(rng());
      bytes.resize(rng() % (bytes.size() + 1));
      decode_mars(bytes, error); // must return, whatever it decides
    }
  }

} // TEST_SUITE
