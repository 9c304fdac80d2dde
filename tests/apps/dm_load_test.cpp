// Direct messages under load, across processes: MARS, storage nodes and two
// gateway nodes as `meshrt node` processes, 10,000 users as connections of
// this process. In the serial test binary: its load would starve the timing
// of tests running beside it.

#include <signal.h>

#include <algorithm>
#include <map>
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

#if defined(__SANITIZE_ADDRESS__)
// Under ASan every hop costs several times more; the Release run carries
// the full load, this one the same paths with fewer users.
constexpr size_t full_load_users = 2000;
#else
constexpr size_t full_load_users = 10000;
#endif

} // namespace

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
      // The gateways' views may still lack a storage node: a login that
      // finds no storage node is tried again, as a client would.
      auto err = clients[i].open(ep.substr(0, colon),
                                 static_cast<uint16_t>(std::stoi(ep.substr(colon + 1))),
                                 "u" + std::to_string(i));
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
    // (round, error kind) -> how many, for each thread
    std::vector<std::map<std::pair<int, std::string>, size_t>> failures_by(threads);
    // what each error said, the first of each kind in a round, for the report
    std::vector<std::map<std::pair<int, std::string>, std::string>> why_by(threads);
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
              if (!err)
                acked_by[t].push_back({i, to, seq});
              else if (++failures_by[t][{round, err.kind()}] == 1)
                why_by[t][{round, err.kind()}] = err.text;
            }
        });
      for (auto& w : workers)
        w.join();
    }
    std::vector<sent_message> acked;
    std::map<std::pair<int, std::string>, size_t> failures;
    std::map<std::pair<int, std::string>, std::string> why;
    for (size_t t = 0; t < threads; ++t) {
      acked.insert(acked.end(), acked_by[t].begin(), acked_by[t].end());
      for (const auto& [what, n] : failures_by[t])
        failures[what] += n;
      why.insert(why_by[t].begin(), why_by[t].end());
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
    const char* round_names[rounds] = {"steady", "join", "leave", "kill"};
    for (const auto& [what, n] : failures)
      failed += std::string{" "} + round_names[what.first] + ":" + what.second + "="
                + std::to_string(n) + " (" + why[what] + ")";
    MESSAGE(users << " users, " << total << " messages: " << acked.size() << " acknowledged, "
                  << events
                  << " events received; failures:" << (failed.empty() ? " none" : failed));
    CHECK(missing == 0);
    CHECK(duplicated == 0);
    CHECK(out_of_order == 0);
    // every failure is a reported error; none is expected: a lookup that
    // went to the killed node before the views lost it is sent again to the
    // slot's new owner, and one whose storage node could not read the
    // location is tried once more (before that: 4-8 timeouts in the kill
    // round). The bound leaves room for a send slower than its 5 s timeout
    // on a loaded machine.
    CHECK(acked.size() + [&] {
      size_t n = 0;
      for (const auto& [what, count] : failures)
        n += count;
      return n;
    }() == total);
    CHECK(acked.size() >= total - total / 1000);
    // Every user stays connected: "not found" would be a wrong answer, even
    // while a dead node's slots are set again (storageRebuildWindow).
    for (const auto& [what, n] : failures)
      CHECK_MESSAGE(what.second != "user_not_found",
                    n << " user_not_found in the " << round_names[what.first] << " round");
    storage[0]->wait(10s);
  }
}
