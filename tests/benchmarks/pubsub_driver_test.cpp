// The load driver of `meshrt bench dm` (benchmarks/pubsub_driver.cpp)
// against a real nats-server on a loopback port: every user connects, every
// message of every pass arrives once, and the throughput run reports what
// it carried and what its thread spent.

#include "benchmarks/pubsub_driver.hpp"

#include <doctest/doctest.h>

#include <string>
#include <sys/socket.h>

#include "benchmarks/bench_util.hpp"
#include "benchmarks/child_process.hpp"
#include "support/temp_dir.hpp"

using namespace meshrt;
using namespace meshrt::bench;

TEST_SUITE("benchmarks.pubsub_driver") {
  TEST_CASE("users on nats-server: each message arrives once, and the run counts its CPU") {
    test::temp_dir dir; // declared first: it goes after the server
    auto port = free_port(SOCK_STREAM);
    auto server
      = start_tcp_server({nats_server_program(), "-a", "127.0.0.1", "-p", std::to_string(port)},
                         dir.path() + "/nats.log", port);
    REQUIRE(server != nullptr);
    auto endpoint = "127.0.0.1:" + std::to_string(port);
    pubsub_options opts;
    opts.users = 40;
    opts.latency_samples = 10;
    opts.messages = 3000;
    opts.window = 200;
    pubsub_driver d{{"nats", [&](size_t) { return endpoint; }, make_nats_codec}, opts};
    d.connect();
    d.measure_latency();
    d.measure_throughput();
    d.measure_throughput(true); // user i to user i + 1 (one server)
    const auto& r = d.result();
    CHECK(r.latency_us.size() == 10);
    CHECK(r.repeat_us.size() == 10);
    CHECK(r.near_us.size() == 10);
    CHECK(r.near_repeat_us.size() == 10);
    for (const auto* run : {&r.load, &r.near_load}) {
      CHECK(run->delivered == 3000);
      CHECK(run->loaded_us.size() == 3000);
      CHECK(run->messages_per_s > 0);
      CHECK(run->driver_cpu_s > 0); // 3,000 messages cost the driver's thread some CPU time
    }
    CHECK(r.lost == 0);
    CHECK(r.duplicated == 0);
    CHECK(r.connections_lost == 0);
  }
}
