// The floor servers of `meshrt bench dm` (benchmarks/floor_server.cpp), as
// the bench runs them: `meshrt bench-floor` processes on loopback ports,
// driven by the bench's own driver. One server (NATS's shape) and four
// that hand messages over UDP (meshrt's): every message of every pass
// arrives once; a client that writes something else is dropped alone.

#include "benchmarks/floor_server.hpp"

#include <doctest/doctest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "benchmarks/pubsub_driver.hpp"
#include "support/temp_dir.hpp"

using namespace meshrt;
using namespace meshrt::bench;

namespace {

/// Every pass of the bench's driver over `servers`: each message arrives once.
void check_every_message_arrives(const floor_processes& servers) {
  pubsub_options opts;
  opts.users = 40;
  opts.latency_samples = 10;
  opts.messages = 3000;
  opts.window = 200;
  auto n = servers.endpoints.size();
  pubsub_driver d{
    {"floor", [&](size_t i) { return servers.endpoints[i % n]; }, make_floor_codec, n}, opts};
  d.connect();
  d.measure_latency();
  d.measure_throughput();
  d.measure_throughput(load_shape::near);
  const auto& r = d.result();
  CHECK(r.latency_us.size() == 10);
  CHECK(r.near_repeat_us.size() == 10);
  CHECK(r.load.delivered == 3000);
  CHECK(r.near_load.delivered == 3000);
  CHECK(r.lost == 0);
  CHECK(r.duplicated == 0);
  CHECK(r.connections_lost == 0);
}

} // namespace

TEST_SUITE("benchmarks.floor_server") {
  TEST_CASE("one floor server: every message arrives once") {
    test::temp_dir dir; // declared first: it goes after the servers
    auto servers = start_floor_servers(MESHRT_CLI, 1, dir.path() + "/floor");
    check_every_message_arrives(servers);
  }

  TEST_CASE("four floor servers hand messages over UDP and drop a client that writes garbage") {
    test::temp_dir dir;
    auto servers = start_floor_servers(MESHRT_CLI, 4, dir.path() + "/floor");
    int bad = ::socket(AF_INET, SOCK_STREAM, 0);
    auto colon = servers.endpoints[0].rfind(':');
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(std::stoi(servers.endpoints[0].substr(colon + 1))));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(bad, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    REQUIRE(::send(bad, "Xx", 2, MSG_NOSIGNAL) == 2);
    char byte = 0;
    timeval limit{5, 0};
    ::setsockopt(bad, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
    CHECK(::recv(bad, &byte, 1, 0) == 0); // closed by the server
    ::close(bad);
    check_every_message_arrives(servers); // the server still serves everyone else
  }
}
