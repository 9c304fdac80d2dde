// `meshrt bench dm` (benchmarks/dm_bench.cpp) end to end at a small scale:
// meshrt's cluster of node processes and a floor server, their latency
// passes taking turns in rounds, then their load runs and meshrt's healing.

#include "benchmarks/dm_bench.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

using namespace meshrt::bench;

namespace {

/// How many samples the report's histogram of `metric` for `system` holds.
uint64_t samples(const bench_report& r, const std::string& system, const std::string& metric) {
  uint64_t n = 0;
  auto doc = nlohmann::json::parse(r.json());
  for (const auto& h : doc["histograms"])
    if (h["system"] == system && h["metric"] == metric)
      for (const auto& bucket : h["buckets"])
        n += bucket[1].get<uint64_t>();
  return n;
}

/// Whether the report has a figure `metric` for `system` (of any value).
bool has(const bench_report& r, const std::string& system, const std::string& metric) {
  auto doc = nlohmann::json::parse(r.json());
  for (const auto& f : doc["results"])
    if (f["system"] == system && f["metric"] == metric)
      return true;
  return false;
}

} // namespace

TEST_SUITE("benchmarks.dm_bench") {
  TEST_CASE("bench dm at a small scale: meshrt and a floor server in rounds and every figure") {
    dm_bench_options o;
    o.first = 20;
    o.cached = 50;
    o.rpc = 50;
    o.pubsub.users = 40;
    o.pubsub.latency_samples = 13; // three rounds of 4, 4 and 5 pairs
    o.pubsub.messages = 400;
    o.pubsub.pair_messages = 300;
    o.pubsub.window = 40;
    o.latency_rounds = 3;
    o.latency_warmup = 20;
    o.only = "meshrt,floor";
    o.meshrt_exe = MESHRT_CLI;
    auto r = run_dm_bench(o);
    for (const char* system : {"meshrt_dm", "meshrt_dm_quiet", "floor"}) {
      CAPTURE(system);
      for (const char* pass :
           {"c2c_us", "c2c_again_us", "c2c_near_us", "c2c_near_again_us", "c2c_pair_us"})
        CHECK(samples(r, system, pass) == 13);
      CHECK(samples(r, system, "loaded_us") == 400);
      CHECK(r.get(system, "msgs_per_s") > 0);
      CHECK(r.get(system, "pair_msgs_per_s") > 0); // one user's burst to another
      CHECK(r.get(system, "lost") == 0);
      CHECK(r.get(system, "duplicated") == 0);
      CHECK(r.get(system, "users") == 40);
    }
    CHECK(r.get("meshrt_dm", "near_msgs_per_s") > 0); // four nodes: users of one node too
    CHECK(r.get("floor", "near_msgs_per_s") == 0);    // one server: every run is that
    // (the servers' CPU over so few messages may be below the clock's tick)
    CHECK(has(r, "meshrt_dm", "latency_server_cpu_per_msg_us"));
    CHECK(has(r, "floor", "latency_server_cpu_per_msg_us"));
    // (40 users' memory is within a page or two: there, not of any size)
    CHECK(has(r, "meshrt_dm", "bytes_per_user"));
    CHECK_FALSE(has(r, "meshrt_dm_quiet", "bytes_per_user")); // the first users' memory is there
    CHECK(r.get("meshrt_dm", "heal_after_kill_ms") > 0);
    CHECK(r.get("meshrt_rpc", "rtt_p50_us") > 0);
    CHECK(r.get("meshrt_dm", "first_p50_us") > 0);
    CHECK(r.get("nats", "c2c_p50_us") == 0); // not selected
  }
}
