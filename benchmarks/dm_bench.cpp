#include "benchmarks/dm_bench.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
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
constexpr size_t dm_gateway_nodes = 2 * nodes_per_type;

/// MARS, two storage (HTTP) nodes and two UDP nodes, each a process with
/// a client gateway, and a node in this process for the RPC baseline and
/// the location probes.
class dm_cluster {
public:
  dm_cluster(caf::actor_system& sys, const std::string& exe, scheduling mode) :
    sys_(sys), exe_(exe) {
    dir_ = "/tmp/meshrt-bench-dm-" + std::to_string(::getpid());
    std::system(("mkdir -p " + dir_).c_str());
    auto mars_port = free_port(SOCK_DGRAM);
    mars_flag_ = "127.0.0.1:" + std::to_string(mars_port);
    mars_ = spawn({"mars", "--port", std::to_string(mars_port)}, "mars");
    for (auto type : {"UDP", "HTTP"})
      for (int i = 0; i < nodes_per_type; ++i) {
        auto client_port = std::to_string(free_port(SOCK_STREAM));
        auto& group = type == std::string{"UDP"} ? gateways_ : storage_;
        group.push_back(
          spawn({"node", "--type", type, "--port", std::to_string(free_port(SOCK_DGRAM)), "--mars",
                 mars_flag_, "--client-port", client_port, "--scheduling", to_string(mode)},
                std::string{type} + std::to_string(i)));
        client_endpoints_.push_back("127.0.0.1:" + client_port);
      }
    config cfg;
    cfg.mesh.mars_address = "127.0.0.1";
    cfg.mesh.mars_port = mars_port;
    cfg.mesh.port = free_port(SOCK_DGRAM);
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
    args.push_back("--log-level");
    args.push_back("warn");
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

/// A throughput run of `d` (near: between users of one server) into `r`
/// under `system` with metric names starting with `prefix`: messages/s and
/// the CPU time per message, of the system's processes (`server_cpu` says
/// how much they used so far) and of the driver. Unlike messages/s on a
/// shared machine, what a message costs does not depend on what else runs.
void measure_load(bench_report& r, const std::string& system, const std::string& prefix,
                  pubsub_driver& d, bool near, const std::function<double()>& server_cpu) {
  auto cpu0 = server_cpu();
  d.measure_throughput(near);
  auto server_cpu_s = server_cpu() - cpu0;
  const auto& run = near ? d.result().near_load : d.result().load;
  r.add(system, prefix + "msgs_per_s", run.messages_per_s, "msg/s");
  if (run.delivered > 0) {
    auto n = static_cast<double>(run.delivered);
    r.add(system, prefix + "server_cpu_per_msg_us", server_cpu_s * 1e6 / n, "us");
    r.add(system, prefix + "driver_cpu_per_msg_us", run.driver_cpu_s * 1e6 / n, "us");
  }
}

/// Latency and throughput of `d` (connected) into `r` under `system`; with
/// `servers` > 1, a second throughput run between users of one server
/// (what a one-server system does in every run). The latency passes'
/// server CPU per message says what a system's latency costs it when
/// messages come one at a time: a server that stays awake between them
/// (meshrt's idle spin) pays for it there.
void measure_messaging(bench_report& r, const std::string& system, pubsub_driver& d, size_t servers,
                       const std::function<double()>& server_cpu) {
  auto cpu0 = server_cpu();
  d.measure_latency();
  auto one_at_a_time = d.result().latency_us.size() + d.result().repeat_us.size()
                       + d.result().near_us.size() + d.result().near_repeat_us.size();
  if (one_at_a_time > 0)
    r.add(system, "latency_server_cpu_per_msg_us",
          (server_cpu() - cpu0) * 1e6 / static_cast<double>(one_at_a_time), "us");
  measure_load(r, system, "", d, false, server_cpu);
  if (servers > 1)
    measure_load(r, system, "near_", d, true, server_cpu);
  const auto& res = d.result();
  add_latencies(r, system, "c2c", res.latency_us);
  add_latencies(r, system, "c2c_again", res.repeat_us);
  add_latencies(r, system, "c2c_near", res.near_us);
  add_latencies(r, system, "c2c_near_again", res.near_repeat_us);
  add_latencies(r, system, "loaded", res.load.loaded_us);
  r.add(system, "lost", res.lost, "msgs");
  r.add(system, "refused", res.refused, "msgs");
  r.add(system, "duplicated", res.duplicated, "msgs");
  r.add(system, "connect_s", res.connect_s, "s");
}

/// The same users and messages against a baseline's server processes,
/// which hold `rss()` bytes and used `cpu_seconds()` so far; with
/// system.servers > 1, between users of one server too.
void run_baseline(bench_report& r, const std::string& name, pubsub_system system,
                  const pubsub_options& opts, const std::function<double()>& rss,
                  const std::function<double()>& cpu_seconds) {
  auto servers = system.servers;
  auto before = rss();
  pubsub_driver d{std::move(system), opts};
  d.connect();
  // (in a cluster, a subscription reaches the other servers over the
  // routes after its own server confirmed it)
  std::this_thread::sleep_for(500ms);
  auto users = static_cast<double>(opts.users);
  r.add(name, "users", users, "users");
  r.add(name, "bytes_per_user", (rss() - before) / users, "B");
  measure_messaging(r, name, d, servers, cpu_seconds);
}

/// The same against one server process.
void run_baseline(bench_report& r, const std::string& name, const child_process& server,
                  pubsub_system system, const pubsub_options& opts) {
  run_baseline(
    r, name, std::move(system), opts, [&] { return rss_bytes(server.pid()); },
    [&] { return server.cpu_seconds(); });
}

void run_meshrt(bench_report& r, const dm_bench_options& o, const pubsub_options& opts) {
  caf::actor_system_config cfg;
  apply_meshrt_defaults(cfg, o.mode); // as the node processes
  caf::actor_system sys{cfg};
  dm_cluster c{sys, o.meshrt_exe.empty() ? self_exe() : o.meshrt_exe, o.mode};

  // -- latency: first and cached messages beside the RPC round trip ----------
  add_latencies(r, "meshrt_rpc", "rtt", rpc_rtts(sys, c, o.rpc));
  auto [first, cached] = message_latencies(c, o.first, o.cached);
  add_latencies(r, "meshrt_dm", "first", first);
  add_latencies(r, "meshrt_dm", "cached", cached);

  // -- users on all four nodes: memory, latency, throughput, healing --------
  const auto& endpoints = c.client_endpoints();
  auto spread = [&](size_t i) { return endpoints[i % endpoints.size()]; };
  auto cpu = [&] { return c.cpu_seconds(); };
  {
    auto before = c.nodes_rss();
    pubsub_driver meshrt{
      {"meshrt", spread, [] { return make_meshrt_codec(false); }, endpoints.size()}, opts};
    meshrt.connect();
    std::this_thread::sleep_for(500ms);
    auto users = static_cast<double>(opts.users);
    r.add("meshrt_dm", "users", users, "users");
    r.add("meshrt_dm", "bytes_per_user", (c.nodes_rss() - before) / users, "B");
    measure_messaging(r, "meshrt_dm", meshrt, endpoints.size(), cpu);
  }
  // The same with users logged in quiet: a send answered only when it
  // fails, which is what NATS's driver asks for (verbose:false). Other
  // users ("q"), so that the first ones' logouts do not meet their logins.
  auto quiet_opts = opts;
  quiet_opts.user_prefix = "q";
  pubsub_driver quiet{{"meshrt", spread, [] { return make_meshrt_codec(true); }, endpoints.size()},
                      quiet_opts};
  quiet.connect();
  std::this_thread::sleep_for(500ms);
  measure_messaging(r, "meshrt_dm_quiet", quiet, endpoints.size(), cpu);

  // healing: kill -9 the first storage node (endpoint 2), until the
  // location of every user connected elsewhere resolves again
  caf::scoped_actor self{sys};
  std::vector<std::string> keys;
  for (size_t i = 0; i < opts.users; ++i)
    if (i % endpoints.size() != 2)
      keys.push_back(location_key(quiet_opts.user_prefix + std::to_string(i)));
  auto resolved = [&] {
    size_t n = 0;
    store_get_many(self, c.self_node(), keys, caf::timespan{500ms})
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
  c.kill_storage(0);
  std::this_thread::sleep_for(50ms);
  if (!wait_until([&] { return resolved() == keys.size(); }, 30s))
    throw std::runtime_error("the users' locations did not come back within 30 s of the kill");
  r.add("meshrt_dm", "heal_after_kill_ms", ms_since(t_kill), "ms");
}

void run_nats(bench_report& r, const pubsub_options& opts) {
  auto port = free_port(SOCK_STREAM);
  auto server
    = start_tcp_server({nats_server_program(), "-a", "127.0.0.1", "-p", std::to_string(port)},
                       "/tmp/meshrt-bench-nats-" + std::to_string(::getpid()) + ".log", port);
  auto endpoint = "127.0.0.1:" + std::to_string(port);
  run_baseline(r, "nats", *server, {"nats", [&](size_t) { return endpoint; }, make_nats_codec},
               opts);
}

/// NATS spread over as many servers as meshrt has gateways, users placed
/// round robin as on meshrt's: a message between users of two servers
/// takes a route between them, as meshrt's takes a hop between nodes.
void run_nats_cluster(bench_report& r, const pubsub_options& opts, size_t servers) {
  nats_cluster cluster{servers,
                       "/tmp/meshrt-bench-nats-cluster-" + std::to_string(::getpid()) + "-"};
  const auto& endpoints = cluster.endpoints();
  run_baseline(
    r, "nats_cluster",
    {"nats_cluster", [&](size_t i) { return endpoints[i % servers]; }, make_nats_codec, servers},
    opts, [&] { return cluster.rss(); }, [&] { return cluster.cpu_seconds(); });
}

/// Floor servers (benchmarks/floor_server.hpp) in `servers` processes, users
/// placed round robin: with one, the floor of NATS's and Redis's shape;
/// with as many as meshrt has gateways, of meshrt's.
void run_floor(bench_report& r, const std::string& name, const pubsub_options& opts, size_t servers,
               const std::string& exe) {
  auto floor = start_floor_servers(
    exe, servers, "/tmp/meshrt-bench-" + name + "-" + std::to_string(::getpid()) + "-");
  const auto& endpoints = floor.endpoints;
  run_baseline(
    r, name, {name, [&](size_t i) { return endpoints[i % servers]; }, make_floor_codec, servers},
    opts, [&] { return rss_bytes(floor.procs); }, [&] { return cpu_seconds(floor.procs); });
}

void run_redis_pubsub(bench_report& r, const pubsub_options& opts) {
  auto port = free_port(SOCK_STREAM);
  auto server = start_redis(port, {"--maxclients", std::to_string(opts.users + 100)});
  auto endpoint = "127.0.0.1:" + std::to_string(port);
  run_baseline(r, "redis_pubsub", *server,
               {"redis", [&](size_t) { return endpoint; }, make_redis_codec}, opts);
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
  if (selected("meshrt"))
    run_meshrt(r, o, opts);
  if (selected("nats"))
    run_nats(r, opts);
  if (selected("nats_cluster"))
    run_nats_cluster(r, opts, dm_gateway_nodes);
  if (selected("redis"))
    run_redis_pubsub(r, opts);
  auto exe = o.meshrt_exe.empty() ? self_exe() : o.meshrt_exe;
  if (selected("floor"))
    run_floor(r, "floor", opts, 1, exe);
  if (selected("floor_cluster"))
    run_floor(r, "floor_cluster", opts, dm_gateway_nodes, exe);
  return r;
}

} // namespace meshrt::bench
