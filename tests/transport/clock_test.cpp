// The clock helpers: a deadline's time left as the wire carries it.

#include "transport/clock.hpp"

#include <cstdint>

#include <doctest/doctest.h>

using meshrt::wire_ms_until;

TEST_SUITE("transport.clock") {
  TEST_CASE("the time left until a deadline goes on the wire in whole milliseconds rounded up") {
    CHECK(wire_ms_until(5'000, 0) == 5);
    CHECK(wire_ms_until(5'001, 0) == 6);
    CHECK(wire_ms_until(1'000'999, 1'000'000) == 1);
    CHECK(wire_ms_until(2'001'000, 1'000'000) == 1'001);
  }

  TEST_CASE("a deadline at hand or past still gives the wire 1 ms and a far one at most u32") {
    CHECK(wire_ms_until(1'000, 1'000) == 1);
    CHECK(wire_ms_until(1'000, 9'000) == 1);
    CHECK(wire_ms_until(UINT64_MAX, 0) == UINT32_MAX);
  }
}
