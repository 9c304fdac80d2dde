// Direct messages across processes: `meshrt mars` and four `meshrt node`
// processes (two storage nodes, two UDP nodes with client gateways), users
// on both gateways talking through `meshrt dm send`, `meshrt dm listen` and
// the client library.

#include "apps/dm_command.hpp"

#include <signal.h>

#include <map>
#include <set>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "benchmarks/child_process.hpp"
#include "dm/client.hpp"
#include "support/command.hpp"
#include "support/eventually.hpp"
#include "support/temp_dir.hpp"

using namespace meshrt;
using namespace meshrt::bench;
using namespace meshrt::test;
using namespace std::chrono_literals;

namespace {

const std::string cli_path = MESHRT_CLI;
constexpr uint16_t mars_port = 46700;
const std::string mars_flag = "127.0.0.1:46700";

std::unique_ptr<child_process> start_node(const temp_dir& dir, const std::string& type,
                                          uint16_t port, uint16_t client_port = 0) {
  std::vector<std::string> args{cli_path, "node",   "--type", type, "--port", std::to_string(port),
                                "--mars", mars_flag};
  if (client_port != 0) {
    args.push_back("--client-port");
    args.push_back(std::to_string(client_port));
  }
  return std::make_unique<child_process>(args,
                                         dir.path() + "/node" + std::to_string(port) + ".log");
}

/// The client endpoints of the UDP nodes, as `meshrt status --json` shows
/// them (empty until both are there).
std::vector<std::string> client_endpoints() {
  auto r = run_command("timeout 10 " + cli_path + " status --json --mars " + mars_flag);
  if (r.exit_code != 0)
    return {};
  std::vector<std::string> result;
  auto doc = nlohmann::json::parse(r.out);
  for (const auto& n : doc["nodes"])
    if (n["type"] == "UDP" && !n["public_endpoint"].get<std::string>().empty())
      result.push_back(n["public_endpoint"]);
  std::sort(result.begin(), result.end());
  return result;
}

#if defined(__SANITIZE_ADDRESS__)
// Under ASan every hop costs several times more; the Release run carries
// the full load, this one the same paths with fewer users.
constexpr size_t full_load_users = 2000;
#else
constexpr size_t full_load_users = 10000;
#endif

command_result dm_cli(const std::string& args) {
  return run_command("timeout 20 " + cli_path + " dm " + args);
}

} // namespace

TEST_SUITE("apps.dm") {
  TEST_CASE("users on two gateways talk through meshrt dm and the client library") {
    temp_dir dir;
    child_process mars{{cli_path, "mars", "--port", std::to_string(mars_port)},
                       dir.path() + "/mars.log"};
    std::vector<std::unique_ptr<child_process>> nodes;
    nodes.push_back(start_node(dir, "HTTP", 46701));
    nodes.push_back(start_node(dir, "HTTP", 46711));
    nodes.push_back(start_node(dir, "UDP", 46721, 46750));
    nodes.push_back(start_node(dir, "UDP", 46731, 46770));
    std::vector<std::string> eps;
    bool both = eventually(
      [&] {
        eps = client_endpoints();
        return eps.size() == 2;
      },
      15s);
    REQUIRE(both);
    // bob listens on the second gateway (a process of its own)
    child_process listener{{cli_path, "dm", "listen", "--node", eps[1], "--user", "bob", "--count",
                            "3", "--timeout", "20", "--json"},
                           dir.path() + "/listen.log"};
    REQUIRE(eventually([&] { return listener.log().find("listening as bob") != std::string::npos; },
                       10s));
    // ann sends through the CLI from the first gateway, then disconnects
    auto r = dm_cli("send --node " + eps[0]
                    + " --from ann --to bob --ver 2 --cmd 40 --text "
                      "'hello from ann'");
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    CHECK(r.out == "delivered\n");
    // cat sends through the client library
    dm_client cat;
    auto colon = eps[0].rfind(':');
    REQUIRE(!cat.connect(eps[0].substr(0, colon),
                         static_cast<uint16_t>(std::stoi(eps[0].substr(colon + 1)))));
    REQUIRE(!cat.login("cat"));
    auto err = cat.send("bob", 1, 1, "hello from cat");
    CHECK_MESSAGE(!err, err.text);
    // bob saw both messages and ann's disconnect, one JSON line each
    REQUIRE(listener.wait(15s) == 0);
    std::set<std::string> lines;
    for (const auto& line : [&] {
           std::vector<std::string> v;
           std::string log = listener.log();
           size_t at = 0;
           while (at < log.size()) {
             auto end = log.find('\n', at);
             v.push_back(log.substr(at, end - at));
             at = end == std::string::npos ? log.size() : end + 1;
           }
           return v;
         }())
      if (!line.empty() && line[0] == '{')
        lines.insert(nlohmann::json::parse(line).dump());
    CHECK(
      lines.count(nlohmann::json{
        {"event", "message"}, {"from", "ann"}, {"ver", 2}, {"cmd", 40}, {"text", "hello from ann"}}
                    .dump())
      == 1);
    CHECK(
      lines.count(nlohmann::json{
        {"event", "message"}, {"from", "cat"}, {"ver", 1}, {"cmd", 1}, {"text", "hello from cat"}}
                    .dump())
      == 1);
    CHECK(lines.count(nlohmann::json{{"event", "peer_gone"}, {"from", "ann"}, {"text", ""}}.dump())
          == 1);
    // bob is gone now: the sender hears it
    r = dm_cli("send --node " + eps[0] + " --from ann --to bob --text again");
    CHECK(r.exit_code == 1);
    CHECK(r.out == "user_not_found\n");
    CHECK(r.err.find("user_not_found") != std::string::npos);
    // and the errors of bad input are one clear line each
    r = dm_cli("send --node " + eps[0] + " --from ann --to bob --text ''");
    CHECK(r.out == "message_nil\n");
    r = dm_cli("send --node " + eps[0] + " --from '' --to bob --text x");
    CHECK(r.exit_code != 0);
    r = dm_cli("send --node 127.0.0.1:1 --from ann --to bob --text x");
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("connect_failed") != std::string::npos);
    r = dm_cli("listen --node nowhere --user bob");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--node") != std::string::npos);
  }
}

TEST_SUITE("apps.dm_load") {
  TEST_CASE("10,000 users message while storage nodes join, leave and die: each acknowledged "
            "message arrives once, in order") {
    // Every user is a connection of this process: take what the system allows.
    auto files = raise_open_files_limit();
    size_t users = full_load_users;
    if (files < users + 1000) {
      users = files > 3000 ? ((files - 1000) / 2) * 2 : 2000;
      MESSAGE("the open-files limit is " << files << " (its hard limit): too low for "
                                         << full_load_users << " users, "
                                         << "running " << users);
    }
    temp_dir dir;
    constexpr uint16_t base = 46900;
    child_process mars{{cli_path, "mars", "--port", std::to_string(base)},
                       dir.path() + "/mars.log"};
    auto node = [&](const std::string& type, uint16_t port, uint16_t client_port = 0) {
      std::vector<std::string> args{cli_path,      "node",
                                    "--type",      type,
                                    "--port",      std::to_string(port),
                                    "--mars",      "127.0.0.1:" + std::to_string(base),
                                    "--log-level", "warn"};
      if (client_port != 0) {
        args.push_back("--client-port");
        args.push_back(std::to_string(client_port));
      }
      return std::make_unique<child_process>(args,
                                             dir.path() + "/n" + std::to_string(port) + ".log");
    };
    std::vector<std::unique_ptr<child_process>> storage;
    for (uint16_t port : {46901, 46911, 46921})
      storage.push_back(node("HTTP", port));
    auto gw1 = node("UDP", 46931, 46950);
    auto gw2 = node("UDP", 46941, 46970);
    std::vector<std::string> eps;
    REQUIRE(eventually(
      [&] {
        auto r = run_command("timeout 10 " + cli_path
                             + " status --json --mars 127.0.0.1:" + std::to_string(base));
        if (r.exit_code != 0)
          return false;
        auto doc = nlohmann::json::parse(r.out);
        eps.clear();
        size_t http = 0;
        for (const auto& n : doc["nodes"]) {
          http += n["type"] == "HTTP" ? 1 : 0;
          if (n["type"] == "UDP" && !n["public_endpoint"].get<std::string>().empty())
            eps.push_back(n["public_endpoint"]);
        }
        std::sort(eps.begin(), eps.end());
        return eps.size() == 2 && http == 3;
      },
      15s));
    // users: u0, u2, ... on the first gateway, u1, u3, ... on the second
    std::vector<dm_client> clients(users);
    for (size_t i = 0; i < users; ++i) {
      const auto& ep = eps[i % 2];
      auto colon = ep.rfind(':');
      auto err = clients[i].connect(ep.substr(0, colon),
                                    static_cast<uint16_t>(std::stoi(ep.substr(colon + 1))));
      // The gateways' views may still lack a storage node: a login that
      // finds no storage node is tried again, as a client would.
      for (int attempt = 0; !err; ++attempt) {
        err = clients[i].login("u" + std::to_string(i));
        if (err.kind() != "login_failed" || attempt == 50)
          break;
        std::this_thread::sleep_for(100ms);
        err = clients[i].connect(ep.substr(0, colon),
                                 static_cast<uint16_t>(std::stoi(ep.substr(colon + 1))));
      }
      REQUIRE_MESSAGE(!err, "user " << i << ": " << err.text);
    }
    // Each round, every user sends two messages to a peer on the other
    // gateway it has not written to before (so each needs a lookup), while
    // the storage nodes change: a fourth joins, one leaves on SIGTERM, one
    // is killed.
    struct sent_message {
      size_t from, to;
      int seq;
    };
    // Senders work in threads, each on its own users (a client is used by
    // one thread at a time), so round trips overlap.
    constexpr size_t threads = 4;
    std::vector<std::vector<sent_message>> acked_by(threads);
    std::vector<std::map<std::string, size_t>> failures_by(threads);
    constexpr int rounds = 4;
    for (int round = 0; round < rounds; ++round) {
      if (round == 1)
        storage.push_back(node("HTTP", 46961));
      if (round == 2)
        storage[0]->signal(SIGTERM);
      if (round == 3)
        storage[1]->signal(SIGKILL);
      std::vector<std::thread> workers;
      for (size_t t = 0; t < threads; ++t)
        workers.emplace_back([&, t, round] {
          for (int k = 0; k < 2; ++k)
            for (size_t i = t; i < users; i += threads) {
              auto to = (i + 2 * static_cast<size_t>(round) + 1) % users;
              int seq = round * 2 + k;
              auto err = clients[i].send("u" + std::to_string(to), 0, static_cast<uint16_t>(seq),
                                         "u" + std::to_string(i) + "#" + std::to_string(seq));
              if (err)
                ++failures_by[t][err.kind()];
              else
                acked_by[t].push_back({i, to, seq});
            }
        });
      for (auto& w : workers)
        w.join();
    }
    std::vector<sent_message> acked;
    std::map<std::string, size_t> failures;
    for (size_t t = 0; t < threads; ++t) {
      acked.insert(acked.end(), acked_by[t].begin(), acked_by[t].end());
      for (const auto& [kind, n] : failures_by[t])
        failures[kind] += n;
    }
    // What every user received, in order.
    std::map<std::pair<size_t, size_t>, std::vector<int>> got; // (from, to) -> seqs
    size_t events = 0;
    std::this_thread::sleep_for(500ms);
    for (size_t i = 0; i < users; ++i)
      while (auto e = clients[i].receive(std::chrono::milliseconds{0})) {
        ++events;
        if (e->what != client_event::kind::message)
          continue;
        auto from = static_cast<size_t>(std::stoul(e->from.substr(1)));
        got[{from, i}].push_back(e->cmd);
      }
    size_t missing = 0, duplicated = 0, out_of_order = 0;
    std::map<std::pair<size_t, size_t>, std::vector<int>> want;
    for (const auto& m : acked)
      want[{m.from, m.to}].push_back(m.seq);
    for (const auto& [pair, seqs] : want) {
      const auto& in = got[pair];
      for (auto s : seqs) {
        auto n = std::count(in.begin(), in.end(), s);
        missing += n == 0 ? 1 : 0;
        duplicated += n > 1 ? 1 : 0;
      }
      out_of_order += std::is_sorted(in.begin(), in.end()) ? 0 : 1;
    }
    size_t total = users * rounds * 2;
    std::string failed;
    for (const auto& [kind, n] : failures)
      failed += " " + kind + "=" + std::to_string(n);
    MESSAGE(users << " users, " << total << " messages: " << acked.size() << " acknowledged, "
                  << events
                  << " events received; failures:" << (failed.empty() ? " none" : failed));
    CHECK(missing == 0);
    CHECK(duplicated == 0);
    CHECK(out_of_order == 0);
    // the failures are reported errors, and few
    CHECK(acked.size() + [&] {
      size_t n = 0;
      for (const auto& [kind, count] : failures)
        n += count;
      return n;
    }() == total);
    CHECK(acked.size() >= total * 95 / 100);
    storage[0]->wait(10s);
  }
}
