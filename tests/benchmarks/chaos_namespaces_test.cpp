// Chaos with real packet loss: MARS and the nodes each in a network
// namespace of their own, joined by veth pairs on a bridge, nftables
// dropping UDP datagrams inside each namespace. Skipped, with one line
// saying why, where `ip netns` or nftables are missing or we are not root.

#include <chrono>
#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "benchmarks/child_process.hpp"
#include "benchmarks/netns_lab.hpp"
#include "support/command.hpp"
#include "support/scenario_run.hpp"

using namespace meshrt::bench;
using namespace meshrt::test;

namespace {

/// True where a lab can be built; otherwise says why in one line.
bool lab_available() {
  auto why = netns_lab::unavailable();
  if (!why.empty())
    MESSAGE("skipped: " << why);
  return why.empty();
}

} // namespace

TEST_SUITE("chaos.namespaces") {

  TEST_CASE("through 10% then 30% packet loss every acknowledged message arrives exactly once") {
    if (!lab_available())
      return;
    temp_dir dir;
    auto run = run_shipped("chaos-namespaces", dir);
    const auto& r = run.cli;
    INFO(r.out);
    INFO(r.err);
    // Exit 0: no reliable message (send, DM) lost or delivered twice.
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("reliable messages lost: 0, duplicated: 0") != std::string::npos);
    // The loss was real: nftables dropped datagrams.
    auto at = r.out.find("datagrams dropped by nftables: ");
    REQUIRE(at != std::string::npos);
    CHECK(std::stoull(r.out.substr(at + 31)) > 100);
    REQUIRE(run.doc.is_object());
    auto figure = [&](const std::string& metric) { return run.figure(metric); };
    // Every operation went on through the loss: RPC, SendMany, the store
    // and DM answered nearly all (a request may exhaust its 3 s now and
    // then; it is reported failed, never lost), and no fan-out or message
    // arrived twice.
    for (const std::string op : {"rpc", "send", "fanout", "store", "dm"}) {
      CAPTURE(op);
      CHECK(figure(op + "_duplicated") == 0);
      CHECK(figure(op + "_ok") >= 0.98 * figure(op + "_issued"));
    }
  }

  TEST_CASE("at 40% packet loss meshrt ping degrades but never collapses") {
    // Measured before the fix: runs of 300 gave 1, 278, 299, 299, 300 and
    // 300 answered; in the run with 1, one unlucky health check had made
    // the node "unhealthy" and 298 checks failed at once.
    if (!lab_available())
      return;
    using namespace std::chrono_literals;
    temp_dir dir;
    netns_lab lab{2};
    auto mars_at = lab.address(0) + ":6789";
    child_process mars{
      lab.command_in(0, {MESHRT_CLI, "mars", "--address", lab.address(0), "--port", "6789"}),
      dir.path() + "/mars.log"};
    REQUIRE_MESSAGE(mars.wait_for_log("MARS listening", 10s), mars.log());
    // The node finds its address through `nic`.
    auto cfg = dir.write("node.json", std::string{"{\"nic\": \""} + netns_lab::interface + "\"}");
    child_process node{lab.command_in(1, {MESHRT_CLI, "node", "--config", cfg, "--mars", mars_at}),
                       dir.path() + "/node.log"};
    REQUIRE_MESSAGE(node.wait_for_log("part of the cluster", 10s), node.log());
    auto node_at = word_after(node.log(), "mesh node ");
    CHECK(node_at == lab.address(1) + ":8000");
    lab.set_drop(40);
    auto r = run_command("timeout 200 " + std::string{MESHRT_CLI} + " ping --mars " + mars_at
                         + " --node " + node_at + " --count 300 --json --log-level error");
    auto dropped = lab.dropped();
    lab.set_drop(0);
    INFO(r.out);
    INFO(r.err);
    auto doc = nlohmann::json::parse(r.out, nullptr, false);
    REQUIRE(doc.is_object());
    MESSAGE("ping at 40% loss: " << r.out);
    CHECK(doc["ok"].get<int>() >= 285);
    CHECK(dropped > 100);
    // The node served throughout and stops cleanly.
    CHECK(node.stop(10s) == 0);
    CHECK(mars.stop(10s) == 0);
  }
}
