// The load driver of `meshrt bench dm` (benchmarks/pubsub_driver.cpp)
// against a real nats-server on a loopback port: every user connects, every
// message of every pass arrives once, and the throughput run reports what
// it carried and what its thread spent.

#include "benchmarks/pubsub_driver.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <sys/socket.h>

#include "benchmarks/bench_util.hpp"
#include "benchmarks/child_process.hpp"
#include "support/temp_dir.hpp"

using namespace meshrt;
using namespace meshrt::bench;

namespace {

/// A nats-server on a free loopback port, its log in a directory that goes
/// after it.
struct nats_on_loopback {
  test::temp_dir dir;
  uint16_t port = free_port(SOCK_STREAM);
  std::unique_ptr<child_process> server
    = start_tcp_server({nats_server_program(), "-a", "127.0.0.1", "-p", std::to_string(port)},
                       dir.path() + "/nats.log", port);

  pubsub_system system() const {
    REQUIRE(server != nullptr);
    return {"nats", [e = "127.0.0.1:" + std::to_string(port)](size_t) { return e; },
            make_nats_codec};
  }
};

} // namespace

TEST_SUITE("benchmarks.pubsub_driver") {
  TEST_CASE("users on nats-server: each message arrives once, and the run counts its CPU") {
    nats_on_loopback nats;
    pubsub_options opts;
    opts.users = 40;
    opts.latency_samples = 10;
    opts.messages = 3000;
    opts.pair_messages = 3000;
    opts.window = 200;
    pubsub_driver d{nats.system(), opts};
    d.connect();
    d.measure_latency();
    d.measure_throughput();
    d.measure_throughput(load_shape::near);     // user i to user i + 1 (one server)
    d.measure_throughput(load_shape::one_pair); // user 0 to user 21 only
    const auto& r = d.result();
    CHECK(r.latency_us.size() == 10);
    CHECK(r.repeat_us.size() == 10);
    CHECK(r.near_us.size() == 10);
    CHECK(r.near_repeat_us.size() == 10);
    for (const auto* run : {&r.load, &r.near_load, &r.pair_load}) {
      CHECK(run->delivered == 3000);
      CHECK(run->loaded_us.size() == 3000);
      CHECK(run->messages_per_s > 0);
      CHECK(run->driver_cpu_s > 0); // 3,000 messages cost the driver's thread some CPU time
    }
    CHECK(r.lost == 0);
    CHECK(r.duplicated == 0);
    CHECK(r.connections_lost == 0);
  }

  TEST_CASE("rounds as bench dm runs them: the same users again with a warm-up and other pairs "
            "and then a load driver without latency passes") {
    nats_on_loopback server;
    auto nats = server.system();
    pubsub_options opts;
    opts.users = 40;
    opts.latency_samples = 6;
    opts.messages = 500;
    opts.window = 50;
    for (int round = 0; round < 3; ++round) {
      CAPTURE(round);
      auto o = opts;
      o.latency_offset = round * 6;
      o.latency_warmup = 30; // not recorded
      pubsub_driver d{nats, o};
      d.connect();
      d.measure_latency();
      const auto& r = d.result();
      CHECK(r.latency_us.size() == 6);
      CHECK(r.near_repeat_us.size() == 6);
      CHECK(r.lost == 0);
      CHECK(r.duplicated == 0);
    }
    opts.latency_samples = 0;
    pubsub_driver load{nats, opts};
    load.connect();
    load.measure_throughput();
    const auto& r = load.result();
    CHECK(r.latency_us.empty());
    CHECK(r.load.delivered == 500);
    CHECK(r.lost == 0);
  }
}
