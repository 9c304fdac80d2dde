// The benches' helpers for ports and processes.

#include "benchmarks/bench_util.hpp"

#include <sys/socket.h>

#include <set>

#include <doctest/doctest.h>

using namespace meshrt::bench;

TEST_SUITE("benchmarks.bench_util") {

  TEST_CASE("free_port never gives a port twice, of either type") {
    // The kernel's random picks for port 0 repeat within a few hundred
    // (a bench dm run once gave a NATS server's monitor port to another).
    std::set<uint16_t> seen;
    for (int i = 0; i < 2000; ++i) {
      auto port = free_port(i % 2 == 0 ? SOCK_STREAM : SOCK_DGRAM);
      CHECK(port != 0);
      CHECK_MESSAGE(seen.insert(port).second, "port " << port << " given twice");
    }
  }

} // TEST_SUITE
