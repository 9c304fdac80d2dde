#include "benchmarks/dm_bench.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <functional>
#include <memory>
#include <stdexcept>
#include <thread>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/mesh_envelope.hpp"
#include "benchmarks/bench_util.hpp"
#include "benchmarks/child_process.hpp"
#include "benchmarks/floor_server.hpp"
#include "benchmarks/nats_cluster.hpp"
#include "benchmarks/pubsub_driver.hpp"
#include "dm/client.hpp"
#include "dm/dm_wire.hpp"
#include "runtime/node.hpp"
#include "runtime/store.hpp"
#include "runtime/system_config.hpp"

namespace meshrt::bench {

namespace {

using namespace std::chrono_literals;

/// Nodes of each kind (UDP, storage) in meshrt's cluster, each with a client
/// gateway; the NATS cluster has as many servers as meshrt has gateways.
constexpr int nodes_per_type = 2;
constexpr size_t dm_gateway_nodes = size_t{2} * nodes_per_type;

/// MARS, two storage (HTTP) nodes and two UDP nodes, each a process with
/// a client gateway, and a node in this process for the RPC baseline and
/// the location probes.
class dm_cluster {
public:
  dm_cluster(caf::actor_system& sys, const std::string& exe, scheduling mode, bool location_hints) :
    sys_(sys), exe_(exe) {
    dir_ = "/tmp/meshrt-bench-dm-" + std::to_string(::getpid());
    std::system(("mkdir -p " + dir_).c_str());
    std::vector<std::string> node_config;
    if (!location_hints) {
      auto path = dir_ + "/node.json";
      std::ofstream{path} << R"({"dmLocationHints": false})" << '\n';
      node_config = {"--config", path};
    }
    auto mars_port = free_port(SOCK_DGRAM);
    mars_flag_ = "127.0.0.1:" + std::to_string(mars_port);
    mars_ = spawn({"mars", "--port", std::to_string(mars_port)}, "mars");
    for (auto type : {"UDP", "HTTP"})
      for (int i = 0; i < nodes_per_type; ++i) {
        auto client_port = std::to_string(free_port(SOCK_STREAM));
        auto& group = type == std::string{"UDP"} ? gateways_ : storage_;
        std::vector<std::string> args{"node", "--type", type, "--mars", mars_flag_};
        args.insert(args.end(), {"--port", std::to_string(free_port(SOCK_DGRAM)), "--client-port",
                                 client_port, "--scheduling", to_string(mode)});
        args.insert(args.end(), node_config.begin(), node_config.end());
        group.push_back(spawn(std::move(args), std::string{type} + std::to_string(i)));
        client_endpoints_.push_back("127.0.0.1:" + client_port);
      }
    config cfg;
    cfg.mesh.mars_address = "127.0.0.1";
    cfg.mesh.mars_port = mars_port;
    cfg.mesh.port = free_port(SOCK_DGRAM);
    cfg.dm.location_hints = location_hints;
    node_options opts;
    opts.type = "BENCH";
    self_node_ = start_node(sys_, cfg, opts);
    if (!wait_until([&] { return ready(); }, 20s))
      throw std::runtime_error("the DM cluster did not come up: " + gateways_.front()->log());
  }

  ~dm_cluster() {
    caf::anon_send_exit(self_node_.actor(), caf::exit_reason::user_shutdown);
    std::system(("rm -rf " + dir_).c_str());
  }

  const node& self_node() const {
    return self_node_;
  }

  /// Mesh address and client endpoint of each UDP node.
  const std::vector<std::pair<std::string, std::string>>& gateways() const {
    return endpoints_;
  }

  /// The client endpoints of the UDP nodes, then of the storage nodes.
  const std::vector<std::string>& client_endpoints() const {
    return client_endpoints_;
  }

  double nodes_rss() const {
    return rss_bytes(gateways_) + rss_bytes(storage_);
  }

  /// CPU time the cluster's processes (MARS and the four nodes) used so
  /// far, in seconds.
  double cpu_seconds() const {
    return mars_->cpu_seconds() + bench::cpu_seconds(gateways_) + bench::cpu_seconds(storage_);
  }

  void kill_storage(size_t i) {
    storage_[i]->signal(SIGKILL);
  }

private:
  std::unique_ptr<child_process> spawn(std::vector<std::string> args, const std::string& name) {
    args.insert(args.begin(), exe_);
    args.emplace_back("--log-level");
    args.emplace_back("warn");
    return std::make_unique<child_process>(args, dir_ + "/" + name + ".log");
  }

  /// Both storage nodes in the ring here, both gateways in the view with
  /// their client endpoints.
  bool ready() {
    caf::scoped_actor self{sys_};
    size_t ring = 0;
    store_stats(self, self_node_)
      .receive([&](std::string& s) { ring = nlohmann::json::parse(s)["ring_nodes"]; },
               [](caf::error&) {});
    std::vector<std::string> udp;
    node_addresses_by_type(self, self_node_, "UDP")
      .receive([&](std::vector<std::string>& a) { udp = a; }, [](caf::error&) {});
    endpoints_.clear();
    for (const auto& a : udp)
      get_node(self, self_node_, a)
        .receive(
          [&](node_record& r) {
            if (!r.public_endpoint.empty())
              endpoints_.emplace_back(a, r.public_endpoint);
          },
          [](caf::error&) {});
    return ring == 2 && endpoints_.size() == 2;
  }

  caf::actor_system& sys_;
  std::string exe_;
  std::string dir_;
  std::string mars_flag_;
  std::unique_ptr<child_process> mars_;
  std::vector<std::unique_ptr<child_process>> storage_;
  std::vector<std::unique_ptr<child_process>> gateways_;
  node self_node_;
  std::vector<std::pair<std::string, std::string>> endpoints_;
  std::vector<std::string> client_endpoints_;
};

/// A logged-in client of the gateway at `endpoint` ("host:port").
dm_client user_at(const std::string& endpoint, const std::string& uid) {
  auto colon = endpoint.rfind(':');
  dm_client c;
  if (auto err = c.open(endpoint.substr(0, colon),
                        static_cast<uint16_t>(std::stoi(endpoint.substr(colon + 1))), uid))
    throw std::runtime_error("user " + uid + " could not log in at " + endpoint + ": " + err.text);
  return c;
}

double us_between(clock_type::time_point a, clock_type::time_point b) {
  return std::chrono::duration<double, std::micro>(b - a).count();
}

/// First messages from `first` users who never wrote before, then
/// `cached` over one channel, to one recipient whose thread stamps each
/// arrival: the one-way latencies of both, in microseconds.
std::pair<std::vector<double>, std::vector<double>> message_latencies(const dm_cluster& c,
                                                                      int first, int cached) {
  const auto& gws = c.gateways();
  auto rcv = user_at(gws[1].second, "bench-rcv");
  std::vector<dm_client> senders;
  senders.reserve(static_cast<size_t>(first));
  for (int i = 0; i < first; ++i)
    senders.push_back(user_at(gws[0].second, "bench-first-" + std::to_string(i)));
  auto chatty = user_at(gws[0].second, "bench-cached");
  int total = first + 1 + cached;
  std::vector<clock_type::time_point> sent(static_cast<size_t>(total));
  std::vector<clock_type::time_point> got(static_cast<size_t>(total));
  std::atomic<int> arrived{0};
  std::thread receiver{[&] {
    auto deadline = clock_type::now() + 120s;
    while (arrived < total && clock_type::now() < deadline)
      if (auto e = rcv.receive(200ms); e && e->what == client_event::kind::message) {
        got[e->cmd] = clock_type::now();
        ++arrived;
      }
  }};
  auto send = [&](dm_client& from, int index) {
    sent[static_cast<size_t>(index)] = clock_type::now();
    if (auto err = from.send("bench-rcv", 0, static_cast<uint16_t>(index), "x"))
      throw std::runtime_error("a benchmark message failed: " + err.text);
  };
  for (int i = 0; i < first; ++i)
    send(senders[static_cast<size_t>(i)], i);
  for (int i = first; i < total; ++i) // the first of these opens the channel
    send(chatty, i);
  receiver.join();
  if (arrived < total)
    throw std::runtime_error(std::to_string(total - arrived)
                             + " benchmark messages did not arrive");
  std::vector<double> first_us, cached_us;
  for (int i = 0; i < first; ++i)
    first_us.push_back(us_between(sent[static_cast<size_t>(i)], got[static_cast<size_t>(i)]));
  for (int i = first + 1; i < total; ++i)
    cached_us.push_back(us_between(sent[static_cast<size_t>(i)], got[static_cast<size_t>(i)]));
  return {first_us, cached_us};
}

/// Node-to-node RPC round trips from this process's node to a gateway node.
std::vector<double> rpc_rtts(caf::actor_system& sys, const dm_cluster& c, int rounds) {
  caf::scoped_actor self{sys};
  std::vector<double> result;
  const auto& to = c.gateways()[0].first;
  for (int i = 0; i < rounds; ++i) {
    auto t0 = clock_type::now();
    bool ok = false;
    send_rpc(self, c.self_node(), health_check_command, to, byte_buffer{})
      .receive([&](byte_buffer&) { ok = true; }, [](caf::error&) {});
    if (ok)
      result.push_back(us_between(t0, clock_type::now()));
  }
  return result;
}

/// A system the users' part measures: where its users connect, what its
/// servers hold and used so far, and its latency passes gathered over the
/// rounds.
struct contender {
  contender(std::string name, pubsub_system system, pubsub_options opts,
            std::function<double()> rss, std::function<double()> cpu_seconds) :
    name(std::move(name)),
    system(std::move(system)), opts(std::move(opts)), rss(std::move(rss)),
    cpu_seconds(std::move(cpu_seconds)) {}

  std::string name; // the report's column
  pubsub_system system;
  pubsub_options opts;
  std::function<double()> rss;         // of its servers, in bytes
  std::function<double()> cpu_seconds; // its servers' CPU time so far
  /// Bytes per user from its first connect; false where another
  /// contender's users left memory behind in the same servers.
  bool report_memory = true;
  /// Run after the load runs, their driver still connected (meshrt's
  /// healing after a kill -9).
  std::function<void(bench_report&)> after_load;
  pubsub_result passes;       // the latency passes of all rounds
  double latency_cpu_s = 0;   // the servers' CPU time in the rounds' passes
  uint64_t one_at_a_time = 0; // the messages of that time, warm-ups too
};

/// Waits until c's servers are idle again (under 2% of a core over 100
/// ms; at most 3 s): what the last users' disconnects started is done
/// before the next system's messages.
void settle(const contender& c) {
  auto limit = clock_type::now() + 3s;
  for (auto cpu = c.cpu_seconds(); clock_type::now() < limit;) {
    std::this_thread::sleep_for(100ms);
    auto now = c.cpu_seconds();
    if (now - cpu < 0.002)
      return;
    cpu = now;
  }
}

/// c's users connected by a driver of its own; with `first`, the users
/// and the memory they took are reported.
std::unique_ptr<pubsub_driver> connect_users(bench_report& r, const contender& c,
                                             const pubsub_options& o, bool first) {
  auto before = c.rss();
  auto d = std::make_unique<pubsub_driver>(c.system, o);
  d->connect();
  // (in a cluster, a subscription reaches the other servers over the
  // routes after its own server confirmed it)
  std::this_thread::sleep_for(500ms);
  if (first) {
    auto users = static_cast<double>(o.users);
    r.add(c.name, "users", users, "users");
    if (c.report_memory)
      r.add(c.name, "bytes_per_user", (c.rss() - before) / users, "B");
    r.add(c.name, "connect_s", d->result().connect_s, "s");
  }
  return d;
}

void add_losses(pubsub_result& into, const pubsub_result& from) {
  into.lost += from.lost;
  into.refused += from.refused;
  into.duplicated += from.duplicated;
}

/// Round `round` of `rounds` of c's latency passes: its users connect, send
/// `warmup` messages and their share of the samples (pairs of their own),
/// and disconnect.
void latency_round(bench_report& r, contender& c, int round, int rounds, int warmup) {
  auto o = c.opts;
  o.latency_warmup = warmup;
  auto share = c.opts.latency_samples / rounds;
  o.latency_offset = round * share;
  o.latency_samples = round + 1 < rounds ? share : c.opts.latency_samples - round * share;
  {
    auto d = connect_users(r, c, o, round == 0);
    auto cpu0 = c.cpu_seconds();
    d->measure_latency();
    c.latency_cpu_s += c.cpu_seconds() - cpu0;
    const auto& res = d->result();
    c.one_at_a_time += static_cast<uint64_t>(o.latency_warmup);
    for (const auto& pass : latency_passes) {
      auto& all = c.passes.*pass.record;
      all.insert(all.end(), (res.*pass.record).begin(), (res.*pass.record).end());
      c.one_at_a_time += (res.*pass.record).size();
    }
    add_losses(c.passes, res);
  }
  settle(c);
}

/// A throughput run of `d` (near: between users of one server) into `r`
/// under `system` with metric names starting with `prefix`: messages/s and
/// the CPU time per message, of the system's processes (`server_cpu` says
/// how much they used so far) and of the driver. Unlike messages/s on a
/// shared machine, what a message costs does not depend on what else runs.
void measure_load(bench_report& r, const std::string& system, const std::string& prefix,
                  pubsub_driver& d, load_shape shape, const std::function<double()>& server_cpu) {
  auto cpu0 = server_cpu();
  d.measure_throughput(shape);
  auto server_cpu_s = server_cpu() - cpu0;
  const auto& res = d.result();
  const auto& run = shape == load_shape::one_pair ? res.pair_load
                    : shape == load_shape::near   ? res.near_load
                                                  : res.load;
  r.add(system, prefix + "msgs_per_s", run.messages_per_s, "msg/s");
  if (run.delivered > 0) {
    auto n = static_cast<double>(run.delivered);
    r.add(system, prefix + "server_cpu_per_msg_us", server_cpu_s * 1e6 / n, "us");
    r.add(system, prefix + "driver_cpu_per_msg_us", run.driver_cpu_s * 1e6 / n, "us");
  }
}

/// c's latencies over all rounds (and the server CPU per message they cost:
/// a server that stays awake between messages, as meshrt's idle spin,
/// pays for it there); then its load runs, between users of two servers
/// and, with system.servers > 1, of one (what a one-server system does in
/// every run).
void load_runs(bench_report& r, contender& c) {
  const auto& res = c.passes;
  if (c.one_at_a_time > 0)
    r.add(c.name, "latency_server_cpu_per_msg_us",
          c.latency_cpu_s * 1e6 / static_cast<double>(c.one_at_a_time), "us");
  auto o = c.opts;
  o.latency_samples = 0;
  auto d = connect_users(r, c, o, false);
  measure_load(r, c.name, "", *d, load_shape::spread, c.cpu_seconds);
  if (c.system.servers > 1)
    measure_load(r, c.name, "near_", *d, load_shape::near, c.cpu_seconds);
  // a burst between two users (on two servers where there are several):
  // what one conversation can carry
  measure_load(r, c.name, "pair_", *d, load_shape::one_pair, c.cpu_seconds);
  for (const auto& pass : latency_passes)
    add_latencies(r, c.name, pass.name, res.*pass.record);
  add_latencies(r, c.name, "loaded", d->result().load.loaded_us);
  pubsub_result losses;
  add_losses(losses, c.passes);
  add_losses(losses, d->result());
  r.add(c.name, "lost", losses.lost, "msgs");
  r.add(c.name, "refused", losses.refused, "msgs");
  r.add(c.name, "duplicated", losses.duplicated, "msgs");
  if (c.after_load)
    c.after_load(r);
}

/// meshrt's side: this process's actor system (for its node) and the
/// cluster of node processes.
struct meshrt_under_test {
  explicit meshrt_under_test(const dm_bench_options& o) :
    sys(configured(cfg, o.mode)),
    cluster(sys, o.meshrt_exe.empty() ? self_exe() : o.meshrt_exe, o.mode, o.location_hints) {}

  static caf::actor_system_config& configured(caf::actor_system_config& cfg, scheduling mode) {
    apply_meshrt_defaults(cfg, mode); // as the node processes
    return cfg;
  }

  caf::actor_system_config cfg;
  caf::actor_system sys;
  dm_cluster cluster;
};

/// The time from a kill -9 of the first storage node (endpoint 2) until the
/// location of every user of `opts` connected to another node (all of them
/// connected now) resolves again.
void measure_healing(bench_report& r, meshrt_under_test& m, const pubsub_options& opts) {
  const auto& endpoints = m.cluster.client_endpoints();
  caf::scoped_actor self{m.sys};
  std::vector<std::string> keys;
  for (size_t i = 0; i < opts.users; ++i)
    if (i % endpoints.size() != 2)
      keys.push_back(location_key(opts.user_prefix + std::to_string(i)));
  auto resolved = [&] {
    size_t n = 0;
    store_get_many(self, m.cluster.self_node(), keys, caf::timespan{500ms})
      .receive(
        [&](std::vector<std::optional<std::string>>& v) {
          n = static_cast<size_t>(
            std::count_if(v.begin(), v.end(), [](const auto& x) { return x.has_value(); }));
        },
        [](caf::error&) {});
    return n;
  };
  if (resolved() != keys.size())
    throw std::runtime_error("not every user's location resolves before the kill");
  auto t_kill = clock_type::now();
  m.cluster.kill_storage(0);
  std::this_thread::sleep_for(50ms);
  if (!wait_until([&] { return resolved() == keys.size(); }, 30s))
    throw std::runtime_error("the users' locations did not come back within 30 s of the kill");
  r.add("meshrt_dm", "heal_after_kill_ms", ms_since(t_kill), "ms");
}

/// Starts meshrt's cluster and measures what only meshrt has (the RPC
/// round trip, first and cached messages of two users); its contenders:
/// users whose every send has its result, and users logged in quiet (a
/// send answered only when it fails, which is what NATS's driver asks for:
/// verbose:false), other users ("q") so that the first ones' logouts do
/// not meet their logins. The quiet users' load driver measures the
/// healing.
void add_meshrt(bench_report& r, std::vector<contender>& cs, std::unique_ptr<meshrt_under_test>& m,
                const dm_bench_options& o, const pubsub_options& opts) {
  m = std::make_unique<meshrt_under_test>(o);
  auto& c = m->cluster;
  add_latencies(r, "meshrt_rpc", "rtt", rpc_rtts(m->sys, c, o.rpc));
  auto [first, cached] = message_latencies(c, o.first, o.cached);
  add_latencies(r, "meshrt_dm", "first", first);
  add_latencies(r, "meshrt_dm", "cached", cached);
  auto endpoints = c.client_endpoints();
  auto spread = [endpoints](size_t i) { return endpoints[i % endpoints.size()]; };
  auto rss = [&c] { return c.nodes_rss(); };
  auto cpu = [&c] { return c.cpu_seconds(); };
  cs.emplace_back(
    "meshrt_dm",
    pubsub_system{"meshrt", spread, [] { return make_meshrt_codec(false); }, endpoints.size()},
    opts, rss, cpu);
  auto quiet_opts = opts;
  quiet_opts.user_prefix = "q";
  auto& quiet = cs.emplace_back(
    "meshrt_dm_quiet",
    pubsub_system{"meshrt", spread, [] { return make_meshrt_codec(true); }, endpoints.size()},
    quiet_opts, rss, cpu);
  quiet.report_memory = false;
  quiet.after_load = [&m, quiet_opts](bench_report& r) { measure_healing(r, *m, quiet_opts); };
}

/// One baseline server process, its users all on it.
contender one_server(const std::string& name, const child_process& server, pubsub_system system,
                     const pubsub_options& opts) {
  auto pid = server.pid();
  return {name, std::move(system), opts, [pid] { return rss_bytes(pid); },
          [&server] { return server.cpu_seconds(); }};
}

} // namespace

bench_report run_dm_bench(const dm_bench_options& o) {
  bench_report r{"dm"};
  auto selected = system_filter(
    "dm", o.only, {"meshrt", "nats", "nats_cluster", "redis", "floor", "floor_cluster"});
  // every user's connection is a file here, and in the server
  auto opts = o.pubsub;
  auto files = raise_open_files_limit();
  if (files < opts.users + 500) {
    opts.users = files > 1500 ? files - 500 : 1000;
    std::fprintf(stderr, "bench dm: the open-files limit is %llu: %zu users, not %zu\n",
                 static_cast<unsigned long long>(files), opts.users, o.pubsub.users);
  }
  // Every selected system's servers run from here to the end, so that the
  // latency rounds can take turns between them.
  std::vector<contender> cs;
  std::unique_ptr<meshrt_under_test> meshrt;
  if (selected("meshrt"))
    add_meshrt(r, cs, meshrt, o, opts);
  std::unique_ptr<child_process> nats;
  if (selected("nats")) {
    auto port = free_port(SOCK_STREAM);
    nats = start_tcp_server({nats_server_program(), "-a", "127.0.0.1", "-p", std::to_string(port)},
                            "/tmp/meshrt-bench-nats-" + std::to_string(::getpid()) + ".log", port);
    auto endpoint = "127.0.0.1:" + std::to_string(port);
    cs.push_back(one_server(
      "nats", *nats, {"nats", [endpoint](size_t) { return endpoint; }, make_nats_codec}, opts));
  }
  // NATS spread over as many servers as meshrt has gateways, users placed
  // round robin as on meshrt's: a message between users of two servers
  // takes a route between them, as meshrt's takes a hop between nodes.
  std::unique_ptr<nats_cluster> cluster;
  if (selected("nats_cluster")) {
    cluster = std::make_unique<nats_cluster>(
      dm_gateway_nodes, "/tmp/meshrt-bench-nats-cluster-" + std::to_string(::getpid()) + "-");
    auto endpoints = cluster->endpoints();
    auto* nc = cluster.get();
    cs.emplace_back(
      "nats_cluster",
      pubsub_system{"nats_cluster",
                    [endpoints](size_t i) { return endpoints[i % endpoints.size()]; },
                    make_nats_codec, endpoints.size()},
      opts, [nc] { return nc->rss(); }, [nc] { return nc->cpu_seconds(); });
  }
  std::unique_ptr<child_process> redis;
  if (selected("redis")) {
    auto port = free_port(SOCK_STREAM);
    redis = start_redis(port, {"--maxclients", std::to_string(opts.users + 100)});
    auto endpoint = "127.0.0.1:" + std::to_string(port);
    cs.push_back(one_server("redis_pubsub", *redis,
                            {"redis", [endpoint](size_t) { return endpoint; }, make_redis_codec},
                            opts));
  }
  // Floor servers (benchmarks/floor_server.hpp), users placed round robin:
  // in one process, the floor of NATS's and Redis's shape; in as many as
  // meshrt has gateways, of meshrt's.
  auto exe = o.meshrt_exe.empty() ? self_exe() : o.meshrt_exe;
  std::vector<std::unique_ptr<floor_processes>> floors;
  for (auto [name, servers] :
       {std::pair{"floor", size_t{1}}, {"floor_cluster", dm_gateway_nodes}}) {
    if (!selected(name))
      continue;
    auto& f = *floors.emplace_back(std::make_unique<floor_processes>(start_floor_servers(
      exe, servers,
      "/tmp/meshrt-bench-" + std::string{name} + "-" + std::to_string(::getpid()) + "-")));
    auto endpoints = f.endpoints;
    cs.emplace_back(
      name,
      pubsub_system{name, [endpoints](size_t i) { return endpoints[i % endpoints.size()]; },
                    make_floor_codec, servers},
      opts, [&f] { return rss_bytes(f.procs); }, [&f] { return cpu_seconds(f.procs); });
  }
  // The one-at-a-time passes, in rounds that take turns between the systems
  // (each round starting at the next): what this shared machine does
  // meanwhile falls on all of them alike.
  auto rounds = std::max(1, std::min(o.latency_rounds, opts.latency_samples));
  for (int round = 0; round < rounds; ++round)
    for (size_t i = 0; i < cs.size(); ++i)
      latency_round(r, cs[(static_cast<size_t>(round) + i) % cs.size()], round, rounds,
                    o.latency_warmup);
  for (auto& c : cs)
    load_runs(r, c);
  return r;
}

} // namespace meshrt::bench
