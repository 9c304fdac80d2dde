#include "actors/random_bits.hpp"

#include <set>

#include <doctest/doctest.h>

#include "actors/pending_requests.hpp"

using namespace meshrt;

TEST_SUITE("actors.random_bits") {

  TEST_CASE("62 random bits: below 2^62, every bit used, no draw twice") {
    constexpr uint64_t limit = uint64_t{1} << 62;
    std::set<uint64_t> seen;
    uint64_t any = 0;
    for (int i = 0; i < 256; ++i) {
      auto r = random_bits_62();
      CHECK(r < limit);
      seen.insert(r);
      any |= r;
    }
    CHECK(seen.size() == 256);
    CHECK(any == limit - 1); // a bit never set in 256 draws: 2^-256 by chance
  }

  TEST_CASE("request ids start odd, below 2^62, apart in two tables") {
    auto a = first_request_id();
    auto b = first_request_id();
    CHECK(a % 2 == 1);
    CHECK(a < (uint64_t{1} << 62));
    CHECK(a != b);
  }
}
