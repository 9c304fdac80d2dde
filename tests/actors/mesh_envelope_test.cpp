#include "actors/mesh_envelope.hpp"

#include <doctest/doctest.h>

using namespace meshrt;

namespace {

envelope round_trip(const envelope& env) {
  std::string error;
  auto out = decode_envelope(encode_envelope(env), error);
  REQUIRE_MESSAGE(out, error);
  return *out;
}

byte_buffer bytes_of(const std::string& s) {
  return byte_buffer(s.begin(), s.end());
}

} // namespace

TEST_SUITE("actors.mesh_envelope") {

  TEST_CASE("every kind round-trips") {
    envelope msg;
    msg.command = 0xBEEF;
    msg.payload = bytes_of("hello");
    auto m = round_trip(msg);
    CHECK(m.kind == envelope_kind::message);
    CHECK(m.command == 0xBEEF);
    CHECK(m.payload == msg.payload);
    CHECK(encode_message(0xBEEF, msg.payload) == encode_envelope(msg));

    envelope req;
    req.kind = envelope_kind::request;
    req.command = 7;
    req.id = 0x0102030405060708;
    req.timeout_ms = 3000;
    req.payload = bytes_of("question");
    auto r = round_trip(req);
    CHECK(r.kind == envelope_kind::request);
    CHECK(r.command == 7);
    CHECK(r.id == req.id);
    CHECK(r.timeout_ms == 3000);
    CHECK(r.payload == req.payload);

    envelope resp;
    resp.kind = envelope_kind::response;
    resp.status = response_status::invalid_data;
    resp.id = 42;
    resp.payload = bytes_of("cannot decode");
    auto p = round_trip(resp);
    CHECK(p.kind == envelope_kind::response);
    CHECK(p.status == response_status::invalid_data);
    CHECK(p.id == 42);
    CHECK(p.payload == resp.payload);

    envelope fan;
    fan.kind = envelope_kind::fanout;
    fan.command = 11;
    fan.reliable = false;
    fan.limit = 4;
    fan.hops = 3;
    fan.id = 99;
    fan.address = "127.0.0.1:8000";
    fan.branch = {"127.0.0.1:8001", "127.0.0.1:8002"};
    fan.payload = bytes_of("news");
    auto f = round_trip(fan);
    CHECK(f.kind == envelope_kind::fanout);
    CHECK(f.command == 11);
    CHECK_FALSE(f.reliable);
    CHECK(f.limit == 4);
    CHECK(f.hops == 3);
    CHECK(f.id == 99);
    CHECK(f.address == fan.address);
    CHECK(f.branch == fan.branch);
    CHECK(f.payload == fan.payload);
    // A payload held apart encodes the same as one inside the envelope.
    auto header = fan;
    header.payload.clear();
    CHECK(encode_envelope(header, fan.payload) == encode_envelope(fan));
    auto req_header = req;
    req_header.payload = bytes_of("ignored");
    CHECK(encode_envelope(req_header, req.payload) == encode_envelope(req));

    envelope report;
    report.kind = envelope_kind::fanout_report;
    report.id = 5;
    report.address = "127.0.0.1:8009";
    auto rep = round_trip(report);
    CHECK(rep.kind == envelope_kind::fanout_report);
    CHECK(rep.id == 5);
    CHECK(rep.address == report.address);
  }

  TEST_CASE("an empty payload is allowed") {
    std::string error;
    auto env = decode_envelope(encode_message(7, {}), error);
    REQUIRE(env);
    CHECK(env->payload.empty());
  }

  TEST_CASE("truncated, unknown and inconsistent messages are refused with a reason") {
    std::string error;
    CHECK_FALSE(decode_envelope(byte_buffer{}, error));
    CHECK(error == "empty mesh message");
    CHECK_FALSE(decode_envelope(byte_buffer{1, 0}, error));
    CHECK(error.find("truncated") != std::string::npos);
    CHECK_FALSE(decode_envelope(byte_buffer{9, 0, 0}, error));
    CHECK(error == "unknown mesh message kind 9");
    // A response with a status nobody defined.
    CHECK_FALSE(decode_envelope(byte_buffer{3, 77, 0, 0, 0, 0, 0, 0, 0, 1}, error));
    CHECK(error == "response with unknown status 77");
    // Every prefix of a valid fan-out shorter than its fixed part and
    // branch is truncated.
    envelope fan;
    fan.kind = envelope_kind::fanout;
    fan.limit = 2;
    fan.address = "127.0.0.1:8000";
    fan.branch = {"127.0.0.1:8001"};
    auto bytes = encode_envelope(fan);
    for (size_t n = 0; n < bytes.size(); ++n) {
      byte_buffer prefix(bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(n));
      CHECK_FALSE(decode_envelope(prefix, error));
    }
    // A branch count larger than the message could hold.
    auto huge = bytes;
    size_t count_at = 1 + 2 + 1 + 2 + 1 + 8 + 1 + fan.address.size();
    huge[count_at] = 0xFF;
    huge[count_at + 1] = 0xFF;
    CHECK_FALSE(decode_envelope(huge, error));
    CHECK(error.find("branch of 65535 nodes") != std::string::npos);
    // Limit 0 would stall the tree.
    fan.limit = 0;
    CHECK_FALSE(decode_envelope(encode_envelope(fan), error));
    CHECK(error == "fan-out with limit 0");
    // A report carries nothing after its address.
    envelope report;
    report.kind = envelope_kind::fanout_report;
    report.address = "127.0.0.1:8000";
    auto rb = encode_envelope(report);
    rb.push_back(0);
    CHECK_FALSE(decode_envelope(rb, error));
  }

  TEST_CASE("random bytes never crash the decoder") {
    uint64_t x = 0x9E3779B97F4A7C15;
    std::string error;
    for (int i = 0; i < 20000; ++i) {
      byte_buffer junk(static_cast<size_t>(i % 64));
      for (auto& b : junk) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        b = static_cast<uint8_t>(x);
      }
      if (!junk.empty())
        junk[0] = static_cast<uint8_t>(1 + i % 6); // mostly known kinds
      (void)decode_envelope(junk, error);
    }
  }
}
