// `meshrt mars` and `meshrt node` as separate processes on loopback: what an
// operator does to a cluster (kill -9, SIGTERM, restarting MARS), and what
// each node's log says about its view.

#include "apps/node_command.hpp"

#include <signal.h>

#include <set>
#include <sstream>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "benchmarks/child_process.hpp"
#include "runtime/system_config.hpp"
#include "support/command.hpp"
#include "support/node_cluster.hpp"
#include "support/scrape.hpp"
#include "support/temp_dir.hpp"

using namespace meshrt::bench;
using namespace meshrt::test;
using namespace std::chrono_literals;

namespace {

const std::string cli = MESHRT_CLI;

/// A `meshrt node` process and what its log says.
struct node_process {
  std::unique_ptr<child_process> proc;

  /// The mesh address the node bound ("" until it logged it).
  std::string address() const {
    return word_after(proc->log(), "mesh node ");
  }

  /// The node's view as its log tells it: joins minus departures.
  std::set<std::string> view() const {
    std::set<std::string> result;
    std::istringstream lines{proc->log()};
    for (std::string line; std::getline(lines, line);) {
      if (auto joined = word_after(line, "view: joined "); !joined.empty())
        result.insert(joined);
      else if (auto left = word_after(line, "view: left "); !left.empty())
        result.erase(left);
    }
    return result;
  }

  size_t count(const std::string& text) const {
    auto log = proc->log();
    size_t n = 0;
    for (auto pos = log.find(text); pos != std::string::npos; pos = log.find(text, pos + 1))
      ++n;
    return n;
  }
};

std::unique_ptr<child_process> start_mars(const temp_dir& dir, uint16_t port, int generation) {
  return std::make_unique<child_process>(
    std::vector<std::string>{cli, "mars", "--port", std::to_string(port)},
    dir.path() + "/mars" + std::to_string(generation) + ".log");
}

node_process start_node(const temp_dir& dir, uint16_t mars_port, uint16_t port,
                        const std::string& type, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args{cli,      "node",
                                "--type", type,
                                "--port", std::to_string(port),
                                "--mars", "127.0.0.1:" + std::to_string(mars_port)};
  args.insert(args.end(), extra.begin(), extra.end());
  return {
    std::make_unique<child_process>(args, dir.path() + "/node" + std::to_string(port) + ".log")};
}

nlohmann::json status_of(uint16_t mars_port) {
  auto r = run_command("timeout 10 " + cli
                       + " status --json --mars 127.0.0.1:" + std::to_string(mars_port));
  if (r.exit_code != 0)
    return nlohmann::json::object();
  return nlohmann::json::parse(r.out);
}

} // namespace

TEST_SUITE("apps.node") {

  TEST_CASE("a cluster of processes survives kill -9, SIGTERM and a MARS restart") {
    temp_dir dir;
    constexpr uint16_t mars_port = 46000;
    auto mars = start_mars(dir, mars_port, 1);
    std::vector<node_process> nodes;
    const char* types[] = {"HTTP", "UDP", "TCP", "MATCH", "MATCH"};
    for (uint16_t i = 0; i < 4; ++i)
      nodes.push_back(start_node(dir, mars_port, static_cast<uint16_t>(46001 + i), types[i]));
    nodes.push_back(start_node(dir, mars_port, 46005, types[4],
                               {"--scheduling", "efficiency", "--idle-spin-max-us", "400"}));
    auto guest = start_node(dir, mars_port, 46010, "HTTP",
                            {"--guest", "--scheduling", "efficiency", "--idle-spin-us", "0"});
    std::set<std::string> all;
    REQUIRE(eventually([&] {
      all.clear();
      for (const auto& n : nodes)
        all.insert(n.address());
      return all.size() == 5 && all.count("") == 0;
    }));
    // Every node's view, and the guest's, holds the five members.
    for (const auto& n : nodes)
      REQUIRE_MESSAGE(eventually([&] { return n.view() == all; }, 8s), n.proc->log());
    REQUIRE_MESSAGE(eventually([&] { return guest.view() == all; }), guest.proc->log());
    // Each said how it schedules before it logged a view: by default as the
    // machine's cores choose.
    auto scheduling_line
      = std::string{"scheduling "}
        + to_string(meshrt::scheduling_for_cores(std::thread::hardware_concurrency())) + " (auto: ";
    for (size_t i = 0; i < 4; ++i)
      CHECK_MESSAGE(nodes[i].count(scheduling_line) == 1, nodes[i].proc->log());
    // The last chose its mode and how far its idle spin may grow, the guest
    // a worker that sleeps at once.
    CHECK_MESSAGE(nodes[4].count("scheduling efficiency, idle spin 50-400 us") == 1,
                  nodes[4].proc->log());
    CHECK_MESSAGE(guest.count("scheduling efficiency, idle spin 0 us") == 1, guest.proc->log());
    auto st = status_of(mars_port);
    REQUIRE(st["nodes"].size() == 5);
    std::multiset<std::string> seen_types;
    for (const auto& n : st["nodes"])
      seen_types.insert(n["type"].get<std::string>());
    CHECK(seen_types == std::multiset<std::string>{"HTTP", "MATCH", "MATCH", "TCP", "UDP"});

    // kill -9: every other node sees it gone within 3 s.
    auto victim = nodes[4].address();
    nodes[4].proc->signal(SIGKILL);
    auto killed_at = std::chrono::steady_clock::now();
    for (int i = 0; i < 4; ++i)
      REQUIRE(eventually([&] { return nodes[i].view().count(victim) == 0; }, 6s));
    CHECK(std::chrono::steady_clock::now() - killed_at < 3s);

    // SIGTERM: offline first, then gone; the process exits 0.
    auto leaver = nodes[3].address();
    nodes[3].proc->signal(SIGTERM);
    for (int i = 0; i < 3; ++i) {
      REQUIRE(eventually([&] { return nodes[i].view().count(leaver) == 0; }, 5s));
      auto log = nodes[i].proc->log();
      auto offline = log.find("view: " + leaver + " is offline");
      CHECK(offline != std::string::npos);
      CHECK(offline < log.find("view: left " + leaver));
    }
    CHECK(nodes[3].proc->wait(5s) == 0);

    // MARS dies hard and comes back: the views heal with no node restarted,
    // and nobody saw the survivors leave.
    mars->signal(SIGKILL);
    REQUIRE(mars->wait(2s));
    for (int i = 0; i < 3; ++i)
      REQUIRE(eventually([&] { return nodes[i].count("MARS lost") == 1; }, 4s));
    mars = start_mars(dir, mars_port, 2);
    // The healing is timed from when the new MARS listens: its process start
    // (seconds under ASan on a busy machine) is not the nodes' doing.
    REQUIRE_MESSAGE(mars->wait_for_log("MARS listening", 10s), mars->log());
    auto restarted_at = std::chrono::steady_clock::now();
    for (int i = 0; i < 3; ++i)
      REQUIRE_MESSAGE(
        eventually([&] { return nodes[i].count("synced with MARS incarnation") == 2; }, 5s),
        nodes[i].proc->log());
    CHECK(std::chrono::steady_clock::now() - restarted_at < 3s);
    REQUIRE(eventually([&] { return status_of(mars_port)["nodes"].size() == 3; }));
    for (int i = 0; i < 3; ++i) {
      CHECK(nodes[i].view().size() == 3);
      CHECK(nodes[i].count("view: left") == 2); // the killed node and the leaver only
    }
    CHECK(mars->log().find("error") == std::string::npos);
  }

  TEST_CASE("meshrt mars and meshrt node serve Prometheus metrics on --metrics-port") {
    temp_dir dir;
    auto mars = std::make_unique<child_process>(
      std::vector<std::string>{cli, "mars", "--port", "46120", "--metrics-port", "46121"},
      dir.path() + "/mars.log");
    auto n = start_node(dir, 46120, 46122, "HTTP",
                        {"--client-port", "46125", "--metrics-port", "46123"});
    REQUIRE_MESSAGE(eventually([&] { return n.view().size() == 1; }, 8s), n.proc->log());
    REQUIRE(eventually([&] { return sample(scrape(46121), "meshrt_mars_nodes{app=\"\"}") == 1; }));
    auto m = scrape(46121);
    CHECK(sample(m, "meshrt_mars_messages_received_total") > 0);
    CHECK(sample(m, "meshrt_transport_peers") == 1);
    CHECK(m.find("# TYPE meshrt_mars_messages_received_total counter\n") != std::string::npos);
    auto text = scrape(46123);
    CHECK(sample(text, "meshrt_view_nodes") == 1);
    CHECK(sample(text, "meshrt_mars_member") == 1);
    CHECK(sample(text, "meshrt_gateway_connections") == 0);
    CHECK(sample(text, "meshrt_dm_connected_users") == 0);
    for (const auto& part : {"node", "transport", "store", "dm", "gateway"})
      CHECK_MESSAGE(sample(text, std::string{"meshrt_scrape_part_up{part=\""} + part + "\"}") == 1,
                    part);
    CHECK(n.proc->log().find("serving Prometheus metrics on http://127.0.0.1:46123/metrics")
          != std::string::npos);
    // A port already taken: one clear line, exit 1.
    auto clash = run_command("timeout 10 " + cli
                             + " node --port 46130 --mars 127.0.0.1:46120 --metrics-port 46123");
    CHECK(clash.exit_code == 1);
    CHECK(clash.err.find("metrics: cannot listen on 127.0.0.1:46123 (metricsPort)")
          != std::string::npos);
    n.proc->signal(SIGTERM);
    CHECK(n.proc->wait(5s) == 0);
    mars->signal(SIGTERM);
    CHECK(mars->wait(5s) == 0);
  }

  TEST_CASE("with --cluster-key-file only holders of the key join, ask or ping") {
    temp_dir dir;
    auto key = dir.path() + "/cluster.key";
    auto other = dir.path() + "/other.key";
    REQUIRE(run_command(cli + " keygen --out " + key).exit_code == 0);
    REQUIRE(run_command(cli + " keygen --out " + other).exit_code == 0);
    auto mars = std::make_unique<child_process>(
      std::vector<std::string>{cli, "mars", "--port", "46140", "--cluster-key-file", key},
      dir.path() + "/mars.log");
    auto cfg = dir.write("node.json", R"({"clusterKeyFile": ")" + key + R"("})");
    auto member = start_node(dir, 46140, 46141, "HTTP", {"--config", cfg});
    auto stranger = start_node(dir, 46140, 46151, "UDP", {"--cluster-key-file", other});
    auto open_node = start_node(dir, 46140, 46161, "UDP");
    REQUIRE_MESSAGE(eventually([&] { return member.view().size() == 1; }, 8s), member.proc->log());
    // the others are told why nobody answers them, in one line each
    for (auto* n : {&stranger, &open_node})
      CHECK(eventually([&] { return n->count("does not take our packets") == 1; }, 5s));
    CHECK(mars->wait_for_log("a MAC that does not match", 1s));
    CHECK(mars->wait_for_log("no cluster key MAC", 1s));
    auto status = [&](const std::string& extra) {
      return run_command("timeout 10 " + cli + " status --mars 127.0.0.1:46140 --log-level error "
                         + extra);
    };
    auto r = status("--json --cluster-key-file " + key);
    REQUIRE(r.exit_code == 0);
    auto doc = nlohmann::json::parse(r.out);
    REQUIRE(doc["nodes"].size() == 1); // the member alone
    CHECK(doc["nodes"][0]["mesh_address"] == member.address());
    r = status("--cluster-key-file " + other);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("meshrt: MARS at 127.0.0.1:46140 refused our packets: its cluster key is "
                     "not ours\n")
          != std::string::npos);
    r = status("");
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("(we have none: --cluster-key-file)") != std::string::npos);
    r = run_command("timeout 20 " + cli + " ping --mars 127.0.0.1:46140 --node " + member.address()
                    + " --count 3 --log-level error --cluster-key-file " + key);
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    r = status("--cluster-key-file " + dir.path() + "/none");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--cluster-key-file: key file") != std::string::npos);
    for (auto* n : {&member, &stranger, &open_node}) {
      n->proc->signal(SIGTERM);
      CHECK(n->proc->wait(5s) == 0);
    }
    mars->signal(SIGTERM);
    CHECK(mars->wait(5s) == 0);
  }

  TEST_CASE("a node with no MARS says it is not part of the cluster and probes calmly") {
    temp_dir dir;
    auto lonely = start_node(dir, 46098, 46090, "HTTP"); // nothing listens on 46098
    REQUIRE(eventually([&] { return lonely.count("does not answer") == 1; }, 5s));
    // Idle while it waits: a probe per heartbeat, no busy loop.
    auto cpu_before = lonely.proc->cpu_seconds();
    std::this_thread::sleep_for(2s);
    auto cpu_used = lonely.proc->cpu_seconds() - cpu_before;
    CHECK_MESSAGE(cpu_used < 0.2, "CPU seconds used in 2 s: " << cpu_used);
    CHECK(lonely.count("part of the cluster:") == 0);
    lonely.proc->signal(SIGTERM);
    CHECK(lonely.proc->wait(5s) == 0);
  }

  TEST_CASE("meshrt node rejects bad flags and configs in one line") {
    auto r = run_command("timeout 10 " + cli + " node --mars nowhere");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--mars") != std::string::npos);
    r = run_command("timeout 10 " + cli + " node --config /nonexistent.json");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("/nonexistent.json") != std::string::npos);
  }

} // TEST_SUITE
