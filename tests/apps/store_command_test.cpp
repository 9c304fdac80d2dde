// The store across processes: `meshrt mars` and `meshrt node` processes hold
// it, a UDP node in this process and `meshrt store` use it, while storage
// nodes join, leave (SIGTERM) and die (kill -9).

#include "apps/store_command.hpp"

#include <signal.h>

#include <map>
#include <random>

#include <caf/all.hpp>
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "benchmarks/child_process.hpp"
#include "runtime/store.hpp"
#include "support/command.hpp"
#include "support/node_cluster.hpp"
#include "support/temp_dir.hpp"
#include "support/test_system.hpp"

using namespace meshrt;
using namespace meshrt::bench;
using namespace meshrt::test;
using namespace std::chrono_literals;

namespace {

const std::string cli_path = MESHRT_CLI;
constexpr uint16_t mars_port = 46600;
const std::string mars_flag = " --mars 127.0.0.1:46600 --log-level warn";

std::unique_ptr<child_process> start_storage(const temp_dir& dir, uint16_t port) {
  return std::make_unique<child_process>(
    std::vector<std::string>{cli_path, "node", "--type", "HTTP", "--port", std::to_string(port),
                             "--mars", "127.0.0.1:" + std::to_string(mars_port)},
    dir.path() + "/node" + std::to_string(port) + ".log");
}

command_result store_cli(const std::string& args) {
  return run_command("timeout 20 " + cli_path + " store " + args + mars_flag);
}

/// Every storage node as `meshrt store stats --json` tells it.
nlohmann::json stats() {
  auto r = store_cli("stats --json");
  if (r.exit_code != 0)
    return nlohmann::json::object();
  return nlohmann::json::parse(r.out);
}

using opt_string = std::optional<std::string>;

} // namespace

TEST_SUITE("apps.store") {
  TEST_CASE("storage processes join, leave and die under a client's reads and writes") {
    temp_dir dir;
    auto mars = std::make_unique<child_process>(
      std::vector<std::string>{cli_path, "mars", "--port", std::to_string(mars_port)},
      dir.path() + "/mars.log");
    std::vector<std::unique_ptr<child_process>> storage;
    for (uint16_t port : {46601, 46611, 46621})
      storage.push_back(start_storage(dir, port));
    caf::actor_system sys{test_system_config()};
    config cfg;
    cfg.mesh.mars_address = "127.0.0.1";
    cfg.mesh.mars_port = mars_port;
    cfg.mesh.port = 46640;
    node_options opts;
    opts.type = "UDP";
    auto client = start_node(sys, cfg, opts);
    caf::scoped_actor self{sys};
    auto ring_of = [&] {
      std::string text = "{}";
      store_stats(self, client).receive([&](std::string& s) { text = s; }, [](caf::error&) {});
      return nlohmann::json::parse(text)["ring_nodes"].get<size_t>();
    };
    REQUIRE(eventually([&] { return ring_of() == 3; }, 10s));
    REQUIRE(eventually([&] { return stats()["totals"]["migrations_in_flight"] == 0; }, 10s));

    // The CLI: set, get, del, and a bad key.
    auto r = store_cli("set greeting hello");
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    CHECK(r.out == "OK\n");
    r = store_cli("get greeting");
    CHECK(r.exit_code == 0);
    CHECK(r.out == "hello\n");
    r = store_cli("del greeting");
    CHECK(r.out == "deleted\n");
    r = store_cli("get greeting");
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("not found") != std::string::npos);
    r = store_cli("set " + std::string(300, 'k') + " v");
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("store.key_too_long") != std::string::npos);
    auto st = stats();
    REQUIRE(st["nodes"].size() == 3);
    CHECK(st["totals"]["keys"] == 0);

    // 10,000 keys written and read in a loop while a fourth storage node
    // joins and one leaves on SIGTERM: every read sees the last
    // acknowledged write.
    std::map<std::string, std::string> model;
    std::mt19937 rng{7};
    size_t bad_reads = 0, failed_ops = 0;
    std::unique_ptr<child_process> leaver;
    for (int i = 0; i < 10000; ++i) {
      if (i == 2000)
        storage.push_back(start_storage(dir, 46631));
      if (i == 5000) {
        leaver = std::move(storage[0]);
        storage.erase(storage.begin());
        leaver->signal(SIGTERM);
      }
      auto key = "key" + std::to_string(i);
      auto value = "value" + std::to_string(i);
      caf::error err;
      store_set(self, client, key, value).receive([] {}, [&](caf::error& e) { err = e; });
      if (err) {
        ++failed_ops;
        MESSAGE("set " << key << ": " << to_string(err));
      } else {
        model[key] = value;
      }
      auto probe = "key" + std::to_string(rng() % (i + 1));
      store_get(self, client, probe)
        .receive(
          [&](opt_string& v) {
            auto at = model.find(probe);
            auto want = at == model.end() ? std::nullopt : opt_string{at->second};
            if (v != want && ++bad_reads <= 3) // what it read, for the log
              MESSAGE("get " << probe << " after write " << i << ": "
                             << (v ? *v : std::string{"(none)"}) << ", expected "
                             << (want ? *want : std::string{"(none)"}));
          },
          [&](caf::error& e) {
            ++failed_ops;
            MESSAGE("get " << probe << ": " << to_string(e));
          });
    }
    CHECK(bad_reads == 0);
    CHECK(failed_ops == 0);
    REQUIRE(leaver->wait(20s) == 0);
    auto leaver_log = leaver->log();
    CHECK_MESSAGE(leaver_log.find("migration done:") != std::string::npos, leaver_log);
    CHECK(leaver_log.find("every slot is handed over; leaving") != std::string::npos);
    REQUIRE(eventually([&] { return ring_of() == 3; }, 10s));
    REQUIRE(eventually([&] { return stats()["totals"]["migrations_in_flight"] == 0; }, 20s));
    std::vector<std::string> keys;
    for (const auto& kv : model)
      keys.push_back(kv.first);
    std::vector<opt_string> values;
    store_get_many(self, client, keys, 10s)
      .receive([&](std::vector<opt_string>& v) { values = std::move(v); },
               [](caf::error& e) { FAIL(to_string(e)); });
    REQUIRE(values.size() == keys.size());
    size_t wrong = 0;
    for (size_t i = 0; i < keys.size(); ++i)
      wrong += values[i] != opt_string{model[keys[i]]} ? 1 : 0;
    CHECK(wrong == 0);
    auto totals = stats();
    CHECK_MESSAGE(totals["totals"]["keys"] == keys.size(), totals.dump(2));

    // kill -9 of a storage node: the client's owned entries come back
    // within failure detection + 1 s.
    auto owned_keys = std::vector<std::string>{};
    store_write_options owned;
    owned.owned = true;
    for (int i = 0; i < 500; ++i) {
      owned_keys.push_back("user:" + std::to_string(i));
      store_set(self, client, owned_keys.back(), "here", owned)
        .receive([] {}, [](caf::error& e) { FAIL(to_string(e)); });
    }
    storage[0]->signal(SIGKILL);
    auto killed_at = std::chrono::steady_clock::now();
    REQUIRE(eventually([&] { return ring_of() == 2; }, 10s));
    REQUIRE(eventually(
      [&] {
        bool all = false;
        store_get_many(self, client, owned_keys, 500ms)
          .receive(
            [&](std::vector<opt_string>& v) {
              all
                = std::all_of(v.begin(), v.end(), [](auto& x) { return x == opt_string{"here"}; });
            },
            [](caf::error&) {});
        return all;
      },
      5s));
    auto healed = std::chrono::steady_clock::now() - killed_at;
    MESSAGE(
      "owned entries back " << std::chrono::duration_cast<std::chrono::milliseconds>(healed).count()
                            << " ms after kill -9");
    // MARS drops a node silent for 3 heartbeats (1.5 s), the others learn
    // it with their next heartbeat (0.5 s): the bound is that plus 1 s.
    CHECK(healed < 3s);
    self->send_exit(client.actor(), caf::exit_reason::user_shutdown);
    for (auto& p : storage)
      p->signal(SIGTERM);
    for (auto& p : storage)
      p->wait(10s);
  }
}
