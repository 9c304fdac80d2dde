#include "actors/mesh_envelope.hpp"

#include <doctest/doctest.h>

using namespace meshrt;

TEST_SUITE("actors.mesh_envelope") {

  TEST_CASE("header and payload round-trip; short or unknown messages are refused") {
    byte_buffer payload{1, 2, 3};
    auto bytes = encode_envelope(envelope_kind::message, 0xBEEF, payload);
    CHECK(bytes.size() == envelope_header_size + 3);
    auto env = decode_envelope(bytes);
    REQUIRE(env);
    CHECK(env->command == 0xBEEF);
    CHECK(env->payload == payload);
    CHECK(decode_envelope(encode_envelope(envelope_kind::message, 7, {}))->payload.empty());
    CHECK_FALSE(decode_envelope(byte_buffer{1, 0}));
    bytes[0] = 99;
    CHECK_FALSE(decode_envelope(bytes));
  }

} // TEST_SUITE
