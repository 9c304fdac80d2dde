// The benches' helpers for ports and processes.

#include "benchmarks/bench_util.hpp"

#include <sys/socket.h>

#include <set>
#include <stdexcept>
#include <string>
#include <vector>

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

  TEST_CASE("only selects every system or those it names separated by commas") {
    std::vector<std::string> systems{"meshrt", "nats", "redis"};
    auto all = system_filter("dm", "", systems);
    CHECK((all("meshrt") && all("nats") && all("redis")));
    auto one = system_filter("dm", "nats", systems);
    CHECK((!one("meshrt") && one("nats") && !one("redis")));
    auto two = system_filter("dm", "meshrt,redis", systems);
    CHECK((two("meshrt") && !two("nats") && two("redis")));
    CHECK_THROWS_WITH_AS(system_filter("dm", "meshrt,nat", systems),
                         "unknown system 'nat' (dm has: meshrt, nats, redis)",
                         std::invalid_argument);
    CHECK_THROWS_AS(system_filter("dm", "meshrt,", systems), std::invalid_argument);
  }

} // TEST_SUITE
