// The NATS cluster of `meshrt bench dm` (benchmarks/nats_cluster.cpp): real
// nats-servers, meshed by routes before it returns, and users spread over
// them reach each other across servers as within one.

#include "benchmarks/nats_cluster.hpp"

#include <chrono>
#include <thread>

#include <doctest/doctest.h>

#include "benchmarks/pubsub_driver.hpp"
#include "support/temp_dir.hpp"

using namespace meshrt;
using namespace meshrt::bench;

TEST_SUITE("benchmarks.nats_cluster") {
  TEST_CASE("three routed nats-servers: each message between users of two servers arrives once") {
    test::temp_dir dir; // declared first: it goes after the servers
    nats_cluster cluster{3, dir.path() + "/nats-"};
    REQUIRE(cluster.endpoints().size() == 3);
    for (size_t i = 0; i < 3; ++i)
      CHECK(cluster.routes(i) == 2); // one to each other server
    CHECK(cluster.cpu_seconds() >= 0);
    CHECK(cluster.rss() > 0);
    const auto& endpoints = cluster.endpoints();
    pubsub_options opts;
    opts.users = 30;
    opts.latency_samples = 10;
    opts.messages = 2000;
    opts.window = 100;
    pubsub_driver d{
      {"nats_cluster", [&](size_t i) { return endpoints[i % 3]; }, make_nats_codec, 3}, opts};
    d.connect();
    // the users' subscriptions reach the other servers over the routes
    std::this_thread::sleep_for(std::chrono::milliseconds{500});
    d.measure_latency();
    d.measure_throughput();                 // user i to user i + 16: another server
    d.measure_throughput(load_shape::near); // user i to user i + 3: the same server
    const auto& r = d.result();
    CHECK(r.latency_us.size() == 10);
    CHECK(r.near_us.size() == 10);
    CHECK(r.load.delivered == 2000);
    CHECK(r.near_load.delivered == 2000);
    CHECK(r.lost == 0);
    CHECK(r.duplicated == 0);
    CHECK(r.connections_lost == 0);
  }
}
