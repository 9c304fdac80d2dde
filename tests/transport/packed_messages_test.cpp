#include "transport/packed_messages.hpp"

#include <string>
#include <vector>

#include <doctest/doctest.h>

using namespace meshrt;

namespace {

byte_buffer bytes_of(const std::string& text) {
  return {text.begin(), text.end()};
}

std::vector<std::string> texts_of(const packed_messages& messages) {
  std::vector<std::string> result;
  for (auto m : messages.views())
    result.emplace_back(m.begin(), m.end());
  return result;
}

} // namespace

TEST_SUITE("transport.packed_messages") {

  TEST_CASE("messages added come back in order, empty ones included") {
    packed_messages p;
    CHECK(p.empty());
    CHECK(texts_of(p).empty());
    p.add(bytes_of("first"));
    p.add(bytes_of(""));
    const uint8_t raw[] = {'x', 'y', 'z'};
    p.add({raw, 2});
    CHECK(p.size() == 3);
    CHECK(p.bytes() == 7);
    CHECK(texts_of(p) == std::vector<std::string>{"first", "", "xy"});
    auto unpacked = p.unpack();
    REQUIRE(unpacked.size() == 3);
    CHECK(unpacked[0] == bytes_of("first"));
    CHECK(unpacked[1].empty());
    CHECK(unpacked[2] == bytes_of("xy"));
  }

  TEST_CASE("an adopted buffer is one message, not copied") {
    auto big = bytes_of(std::string(100'000, 'q'));
    const auto* where = big.data();
    packed_messages p{std::move(big)};
    REQUIRE(p.size() == 1);
    auto only = *p.views().begin();
    CHECK(only.data() == where);
    CHECK(only.size() == 100'000);
  }

  TEST_CASE("a byte_view of a buffer sees the whole buffer") {
    auto b = bytes_of("abc");
    byte_view v = b;
    CHECK(v.size() == 3);
    CHECK(v[1] == 'b');
    CHECK(v.to_buffer() == b);
    CHECK(byte_view{}.empty());
  }
}
