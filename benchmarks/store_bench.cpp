#include "benchmarks/store_bench.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <deque>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "benchmarks/bench_util.hpp"
#include "benchmarks/child_process.hpp"
#include "benchmarks/request_driver.hpp"
#include "benchmarks/resp_client.hpp"
#include "runtime/config.hpp"
#include "runtime/store.hpp"
#include "runtime/system_config.hpp"

namespace meshrt::bench {

namespace {

using namespace std::chrono_literals;

/// Keys of 16 bytes and values of 24, numbered.
std::string key_of(const char* prefix, int i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%s%014d", prefix, i);
  return buf;
}

std::string value_of(int i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "v%023d", i);
  return buf;
}

// ---- Redis ------------------------------------------------------------------------

/// `total` commands with `window` outstanding; latencies in us. A reply
/// that is an error counts in `failed`.
double redis_run(resp_client& c, int total, int window,
                 const std::function<std::vector<std::string>(int)>& command,
                 std::vector<double>& latencies, int& failed) {
  std::deque<clock_type::time_point> sent;
  auto t0 = clock_type::now();
  int issued = 0;
  auto issue = [&] {
    c.queue(command(issued++));
    sent.push_back(clock_type::now());
  };
  for (; issued < std::min(window, total);)
    issue();
  c.flush();
  for (int done = 0; done < total; ++done) {
    auto reply = c.read();
    latencies.push_back(seconds_since(sent.front()) * 1e6);
    sent.pop_front();
    if (reply.what == resp_reply::kind::error)
      ++failed;
    if (issued < total)
      issue();
    if (!c.buffered())
      c.flush(); // what the replies read so far made room for
  }
  return seconds_since(t0);
}

double redis_used_memory(resp_client& c) {
  auto info = c.call({"INFO", "memory"}).text;
  auto pos = info.find("used_memory:");
  return pos == std::string::npos ? 0 : std::stod(info.substr(pos + 12));
}

void run_redis(bench_report& r, const store_bench_options& o) {
  auto port = free_port(SOCK_STREAM);
  auto server = start_redis(port);
  auto c = std::make_unique<resp_client>(port);
  int failed = 0;
  using command_fn = std::function<std::vector<std::string>(int)>;
  command_fn set = [](int i) {
    return std::vector<std::string>{"SET", key_of("bk", i), value_of(i)};
  };
  command_fn get = [](int i) { return std::vector<std::string>{"GET", key_of("bk", i)}; };
  std::vector<double> ignored;
  redis_run(*c, 2000, 1, set, ignored, failed); // warm-up
  for (auto [name, command] : {std::pair{"set", set}, std::pair{"get", get}}) {
    std::vector<double> one, wide;
    auto s1 = redis_run(*c, o.rounds, 1, command, one, failed);
    auto s256 = redis_run(*c, o.ops, 256, command, wide, failed);
    r.add("redis", std::string{name} + "_ops_1", o.rounds / s1, "op/s");
    r.add("redis", std::string{name} + "_ops_256", o.ops / s256, "op/s");
    add_latencies(r, "redis", std::string{name} + "_1", one);
    add_latencies(r, "redis", std::string{name} + "_256", wide);
  }
  c->call({"FLUSHALL"});
  auto before = redis_used_memory(*c);
  redis_run(
    *c, o.entries, 256,
    [](int i) {
      return std::vector<std::string>{"SET", key_of("mk", i), value_of(i)};
    },
    ignored, failed);
  auto after = redis_used_memory(*c);
  r.add("redis", "bytes_per_entry", (after - before) / o.entries, "B");
  if (failed > 0)
    throw std::runtime_error("redis: " + std::to_string(failed) + " commands failed");
}

// ---- meshrt -----------------------------------------------------------------------

/// MARS and `nodes` storage node processes, whose workers wait as `mode`
/// says, and a client node here.
class store_cluster {
public:
  store_cluster(caf::actor_system& sys, const std::string& exe, int nodes, uint32_t batch,
                uint32_t ring_size, uint16_t base, scheduling mode) :
    sys_(sys),
    exe_(exe), base_(base), mode_(mode) {
    dir_ = "/tmp/meshrt-bench-store-" + std::to_string(::getpid()) + "-" + std::to_string(base);
    std::system(("mkdir -p " + dir_).c_str());
    config_path_ = dir_ + "/store.json";
    std::ofstream{config_path_} << "{\"storageMigrationBatchSize\": " << batch
                                << ", \"storageRingSize\": " << ring_size << "}\n";
    mars_port_ = free_port(SOCK_DGRAM);
    mars_ = std::make_unique<child_process>(std::vector<std::string>{exe_, "mars", "--port",
                                                                     std::to_string(mars_port_),
                                                                     "--log-level", "warn"},
                                            dir_ + "/mars.log");
    for (int i = 0; i < nodes; ++i)
      add_storage();
    config cfg;
    cfg.mesh.mars_address = "127.0.0.1";
    cfg.mesh.mars_port = mars_port_;
    cfg.mesh.port = static_cast<uint16_t>(base_ + 50);
    cfg.dm.storage_ring_size = ring_size;
    node_options opts;
    opts.type = "BENCH";
    client_ = start_node(sys_, cfg, opts);
    if (!wait_until([&] { return storage_nodes() == storage_.size() && settled(); }, 20s))
      throw std::runtime_error("the storage nodes did not come up: " + storage_.front()->log());
  }

  ~store_cluster() {
    caf::anon_send_exit(client_.actor(), caf::exit_reason::user_shutdown);
  }

  const node& client() const {
    return client_;
  }

  void add_storage() {
    auto port = static_cast<uint16_t>(base_ + 10 * storage_.size());
    storage_.push_back(std::make_unique<child_process>(
      std::vector<std::string>{exe_, "node", "--type", "HTTP", "--port", std::to_string(port),
                               "--mars", "127.0.0.1:" + std::to_string(mars_port_), "--config",
                               config_path_, "--log-level", "warn", "--scheduling",
                               to_string(mode_)},
      dir_ + "/node" + std::to_string(port) + ".log"));
  }

  double storage_rss() const {
    double sum = 0;
    for (const auto& p : storage_)
      sum += rss_bytes(p->pid());
    return sum;
  }

  /// The stats of every storage node the client sees.
  std::vector<nlohmann::json> stats() {
    caf::scoped_actor self{sys_};
    std::vector<std::string> addresses;
    node_addresses_by_type(self, client_, "HTTP")
      .receive([&](std::vector<std::string>& a) { addresses = a; }, [](caf::error&) {});
    std::vector<nlohmann::json> result;
    for (const auto& a : addresses)
      store_stats(self, client_, a, 2s)
        .receive([&](std::string& s) { result.push_back(nlohmann::json::parse(s)); },
                 [](caf::error&) {});
    return result;
  }

  size_t storage_nodes() {
    caf::scoped_actor self{sys_};
    size_t n = 0;
    store_stats(self, client_)
      .receive([&](std::string& s) { n = nlohmann::json::parse(s)["ring_nodes"]; },
               [](caf::error&) {});
    return n;
  }

  /// No slot is moving, and the last storage node holds keys if `loaded`.
  bool settled(bool loaded = false) {
    auto all = stats();
    if (all.size() != storage_.size())
      return false;
    for (const auto& j : all)
      if (j["migrations_in_flight"] != 0 || j["ring_nodes"] != storage_.size()
          || (loaded && j["keys"] == 0))
        return false;
    return true;
  }

private:
  caf::actor_system& sys_;
  std::string exe_;
  uint16_t base_;
  std::string dir_;
  std::string config_path_;
  uint16_t mars_port_ = 0;
  scheduling mode_;
  std::unique_ptr<child_process> mars_;
  std::vector<std::unique_ptr<child_process>> storage_;
  node client_;
};

/// Loads `entries` entries "mk..." with set_many, 1000 keys a call.
void load(caf::actor_system& sys, const node& client, int entries) {
  constexpr int per_call = 1000;
  auto next = std::make_shared<int>(0);
  auto issue
    = [client, next, entries](caf::event_based_actor* self, const std::function<void(bool)>& done) {
        std::vector<std::string> keys, values;
        for (int k = 0; k < per_call && *next < entries; ++k, ++*next) {
          keys.push_back(key_of("mk", *next));
          values.push_back(value_of(*next));
        }
        store_write_options w;
        w.timeout = 30s;
        store_set_many(self, client, std::move(keys), std::move(values), w)
          .then([done] { done(true); }, [done](caf::error&) { done(false); });
      };
  auto run = drive(sys, issue, (entries + per_call - 1) / per_call, 4);
  if (run.failed > 0)
    throw std::runtime_error("meshrt: " + std::to_string(run.failed) + " set_many calls failed");
}

/// A fourth storage node joins: the time until the slots it wins are
/// moved, and the worst read while they move.
void migrate(bench_report& r, caf::actor_system& sys, store_cluster& c, int entries,
             const std::string& suffix) {
  std::atomic<bool> moving{true};
  double worst_us = 0;
  int reads = 0, wrong = 0;
  std::thread reader{[&] {
    caf::scoped_actor self{sys};
    std::mt19937 rng{1};
    while (moving) {
      int i = static_cast<int>(rng() % static_cast<unsigned>(entries));
      auto t0 = clock_type::now();
      store_get(self, c.client(), key_of("mk", i), 5s)
        .receive([&](std::optional<std::string>& v) { wrong += v != value_of(i) ? 1 : 0; },
                 [&](caf::error&) { ++wrong; });
      worst_us = std::max(worst_us, seconds_since(t0) * 1e6);
      ++reads;
    }
  }};
  auto t0 = clock_type::now();
  c.add_storage();
  bool done = wait_until([&] { return c.settled(true); }, 180s);
  auto ms = ms_since(t0);
  moving = false;
  reader.join();
  if (!done)
    throw std::runtime_error("meshrt: the migration" + suffix + " did not finish in 180 s");
  r.add("meshrt", "migrate_ms" + suffix, ms, "ms");
  r.add("meshrt", "migrate_worst_read_us" + suffix, worst_us, "us");
  r.add("meshrt", "migrate_reads" + suffix, reads, "reads");
  if (wrong > 0)
    throw std::runtime_error("meshrt: " + std::to_string(wrong) + " of " + std::to_string(reads)
                             + " reads during the migration" + suffix + " were wrong or failed");
}

void run_meshrt(bench_report& r, const store_bench_options& o) {
  auto exe = o.meshrt_exe.empty() ? self_exe() : o.meshrt_exe;
  caf::actor_system_config cfg;
  apply_meshrt_defaults(cfg, o.mode);
  caf::actor_system sys{cfg};
  {
    // One storage node process, as Redis is one: on two cores, more node
    // processes each polling for work take CPU from the one a request is for.
    store_cluster c{sys, exe, 1, 1000, o.ring_size, 47600, o.mode};
    const auto& client = c.client();
    auto set = [client](int i) {
      return [client, i](caf::event_based_actor* self, const std::function<void(bool)>& done) {
        store_set(self, client, key_of("bk", i), value_of(i))
          .then([done] { done(true); }, [done](caf::error&) { done(false); });
      };
    };
    auto get = [client](int i) {
      return [client, i](caf::event_based_actor* self, const std::function<void(bool)>& done) {
        store_get(self, client, key_of("bk", i))
          .then([done](std::optional<std::string>&) { done(true); },
                [done](caf::error&) { done(false); });
      };
    };
    using maker = std::function<issue_fn(int)>;
    auto numbered = [](const maker& make, int modulo) {
      auto n = std::make_shared<int>(0);
      return issue_fn{
        [make, n, modulo](caf::event_based_actor* self, std::function<void(bool)> done) {
          make((*n)++ % modulo)(self, std::move(done));
        }};
    };
    drive(sys, numbered(set, o.ops), 2000, 1); // warm-up
    for (auto [name, make] : {std::pair{"set", maker{set}}, std::pair{"get", maker{get}}}) {
      auto one = drive(sys, numbered(make, o.ops), o.rounds, 1);
      auto wide = drive(sys, numbered(make, o.ops), o.ops, 256);
      if (one.failed + wide.failed > 0)
        throw std::runtime_error("meshrt: " + std::to_string(one.failed + wide.failed) + " " + name
                                 + " requests failed");
      r.add("meshrt", std::string{name} + "_ops_1", o.rounds / one.seconds, "op/s");
      r.add("meshrt", std::string{name} + "_ops_256", o.ops / wide.seconds, "op/s");
      add_latencies(r, "meshrt", std::string{name} + "_1", one.latencies_us);
      add_latencies(r, "meshrt", std::string{name} + "_256", wide.latencies_us);
    }
    auto before = c.storage_rss();
    load(sys, client, o.entries);
    std::this_thread::sleep_for(500ms); // the last answers' buffers settle
    r.add("meshrt", "bytes_per_entry", (c.storage_rss() - before) / o.entries, "B");
  }
  {
    store_cluster c{sys, exe, 3, 1000, o.ring_size, 47700, o.mode};
    load(sys, c.client(), o.entries);
    migrate(r, sys, c, o.entries, "_batch1000");
  }
  if (o.default_move) {
    store_cluster c{sys, exe, 3, 10, o.ring_size, 47800, o.mode};
    load(sys, c.client(), o.entries);
    migrate(r, sys, c, o.entries, "_default");
  }
}

} // namespace

bench_report run_store_bench(const store_bench_options& opts) {
  bench_report r{"store"};
  auto selected = system_filter("store", opts.only, {"meshrt", "redis"});
  if (selected("redis"))
    run_redis(r, opts);
  if (selected("meshrt"))
    run_meshrt(r, opts);
  return r;
}

} // namespace meshrt::bench
