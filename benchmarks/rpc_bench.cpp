#include "benchmarks/rpc_bench.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/mars_actor.hpp"
#include "actors/node_actor.hpp"
#include "actors/node_atoms.hpp"
#include "benchmarks/bench_util.hpp"
#include "benchmarks/child_process.hpp"
#include "benchmarks/request_driver.hpp"
#include "runtime/config.hpp"
#include "runtime/handlers.hpp"
#include "runtime/node.hpp"
#include "runtime/system_config.hpp"

namespace meshrt::bench {

namespace {

using namespace std::chrono_literals;

constexpr size_t payload_size = 64;
constexpr uint16_t echo_command = 1;

/// Round trips (after a warm-up) and throughput at 1, 16 and 256
/// outstanding requests of one system.
void measure(bench_report& r, const std::string& system, caf::actor_system& sys,
             const issue_fn& issue, const rpc_bench_options& o) {
  drive(sys, issue, 500, 1); // warm-up: connections, caches, congestion windows
  auto seq = drive(sys, issue, o.rounds, 1);
  if (seq.failed > 0)
    throw std::runtime_error(system + ": " + std::to_string(seq.failed) + " requests failed");
  add_latencies(r, system, "rtt", seq.latencies_us);
  for (int window : {1, 16, 256}) {
    auto count = window == 256 ? o.pipelined_wide : o.pipelined;
    auto run = drive(sys, issue, count, window);
    auto rps = run.failed == 0 && run.seconds > 0 ? count / run.seconds : 0.0;
    r.add(system, window == 256 ? "throughput_rps" : "throughput_rps_" + std::to_string(window),
          rps, "req/s");
  }
}

/// The peer process, and what it printed after "ready ".
struct peer_process {
  std::unique_ptr<child_process> proc;
  std::string ready;

  peer_process(const std::string& exe, const std::string& kind, uint16_t port,
               const std::string& mars, const std::string& key_file = "",
               scheduling mode = scheduling::efficiency) {
    std::vector<std::string> args{
      exe,      "bench-peer", "--kind",      kind,   "--port",       std::to_string(port),
      "--mars", mars,         "--log-level", "warn", "--scheduling", to_string(mode)};
    if (!key_file.empty()) {
      args.emplace_back("--cluster-key-file");
      args.push_back(key_file);
    }
    proc = std::make_unique<child_process>(args, "/tmp/meshrt-bench-peer-" + kind + "-"
                                                   + std::to_string(::getpid()) + ".log");
    auto t0 = clock_type::now();
    while (seconds_since(t0) < 15) {
      auto log = proc->log();
      auto pos = log.find("ready ");
      if (pos != std::string::npos && log.find('\n', pos) != std::string::npos) {
        ready = log.substr(pos + 6, log.find('\n', pos) - pos - 6);
        return;
      }
      if (proc->wait(10ms))
        break;
    }
    throw std::runtime_error("the " + kind + " peer did not come up: " + proc->log());
  }
};

// ---- systems ------------------------------------------------------------------------

void caf_remote(bench_report& r, const rpc_bench_options& o, const std::string& exe) {
  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>(); // CAF as it ships: its own scheduler defaults
  caf::actor_system sys{cfg};
  peer_process peer{exe, "caf", 0, ""};
  auto remote
    = sys.middleman().remote_actor("127.0.0.1", static_cast<uint16_t>(std::stoi(peer.ready)));
  if (!remote)
    throw std::runtime_error("CAF remote actor: " + sys.render(remote.error()));
  auto server = *remote;
  auto payload = std::string(payload_size, 'x');
  measure(
    r, "caf_remote", sys,
    [server, payload](caf::event_based_actor* self, const std::function<void(bool)>& done) {
      // No timer per request, as the meshrt caller: CAF's clock thread
      // would cost both the same (about 15% of their throughput here).
      self->request(server, caf::infinite, payload)
        .then([done](const std::string&) { done(true); }, [done](caf::error&) { done(false); });
    },
    o);
}

caf::actor start_mars(caf::actor_system& sys, uint16_t& port,
                      const std::optional<secret_key>& key = std::nullopt) {
  for (int attempt = 0; attempt < 50; ++attempt, ++port) {
    try {
      mars_config mc;
      mc.port = port;
      mc.cluster_key = key;
      return spawn_mars(sys, mc);
    } catch (const std::runtime_error&) {
      // taken; the next one
    }
  }
  throw std::runtime_error("no free port for MARS");
}

/// meshrt's RPC as `system`; with a key file, every node and MARS seal
/// their packets with it ("meshrt_keyed").
void meshrt_rpc(bench_report& r, const rpc_bench_options& o, const std::string& exe,
                const std::string& system, const std::string& key_file) {
  caf::actor_system_config cfg;
  apply_meshrt_defaults(cfg, o.mode);
  caf::actor_system sys{cfg};
  std::optional<secret_key> key;
  if (!key_file.empty())
    key = load_secret_key(key_file);
  uint16_t mars_port = key ? 46700 : 46600;
  auto mars = start_mars(sys, mars_port, key);
  auto mars_addr = "127.0.0.1:" + std::to_string(mars_port);
  peer_process peer{exe,       "mesh",   static_cast<uint16_t>(key ? 46720 : 46620),
                    mars_addr, key_file, o.mode};
  config ncfg;
  ncfg.mesh.mars_port = mars_port;
  ncfg.mesh.port = key ? 46750 : 46650;
  ncfg.mesh.cluster_key = key;
  node_options nopts;
  nopts.type = "BENCH";
  // Requests go to the node's correlator, as meshrt::request on a node
  // handle sends them (runtime/node.hpp).
  auto n = start_node(sys, ncfg, nopts);
  auto target = peer.ready;
  auto payload = byte_buffer(payload_size, 0x42);
  measure(
    r, system, sys,
    [n, target, payload](caf::event_based_actor* self, const std::function<void(bool)>& done) {
      // SendRPC as an application calls it: the correlator owns the deadline.
      send_rpc(self, n, echo_command, target, payload, caf::timespan{5s})
        .then([done](const byte_buffer&) { done(true); }, [done](caf::error&) { done(false); });
    },
    o);
  caf::anon_send_exit(n.actor(), caf::exit_reason::user_shutdown);
  caf::anon_send_exit(mars, caf::exit_reason::user_shutdown);
}

// ---- fan-out ------------------------------------------------------------------------

/// Counts acknowledgements; wakes the bench when a round is complete.
class ack_counter {
public:
  void add() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      ++count_;
    }
    cv_.notify_one();
  }

  int value() {
    std::lock_guard<std::mutex> guard{mtx_};
    return count_;
  }

  bool wait_for(int n, std::chrono::milliseconds limit) {
    std::unique_lock<std::mutex> guard{mtx_};
    return cv_.wait_for(guard, limit, [&] { return count_ >= n; });
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  int count_ = 0;
};

double raw_udp_fanout_ms(int nodes, int rounds) {
  int sender = bound_udp_socket();
  std::vector<int> echoes;
  std::vector<sockaddr_in> addrs;
  for (int i = 0; i < nodes; ++i) {
    echoes.push_back(bound_udp_socket());
    sockaddr_in sa{};
    socklen_t len = sizeof(sa);
    getsockname(echoes.back(), reinterpret_cast<sockaddr*>(&sa), &len);
    addrs.push_back(sa);
  }
  std::atomic<bool> stop{false};
  std::thread echo{[&] {
    std::vector<pollfd> fds;
    fds.reserve(echoes.size());
    for (int fd : echoes)
      fds.push_back({fd, POLLIN, 0});
    uint8_t buf[2048];
    while (!stop) {
      if (::poll(fds.data(), fds.size(), 100) <= 0)
        continue;
      for (auto& p : fds) {
        if ((p.revents & POLLIN) == 0)
          continue;
        sockaddr_in from{};
        socklen_t len = sizeof(from);
        auto n = recvfrom(p.fd, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n > 0)
          sendto(p.fd, buf, static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), len);
      }
    }
  }};
  std::vector<double> times;
  uint8_t buf[2048] = {};
  for (int round = 0; round < rounds; ++round) {
    auto t0 = clock_type::now();
    for (const auto& a : addrs)
      sendto(sender, buf, payload_size, 0, reinterpret_cast<const sockaddr*>(&a), sizeof(a));
    int got = 0;
    while (got < nodes && recv(sender, buf, sizeof(buf), 0) > 0)
      ++got;
    if (got == nodes)
      times.push_back(ms_since(t0));
  }
  stop = true;
  echo.join();
  close(sender);
  for (int fd : echoes)
    close(fd);
  return percentile(times, 0.5);
}

} // namespace

bench_report run_rpc_bench(const rpc_bench_options& opts) {
  auto exe = opts.meshrt_exe.empty() ? self_exe() : opts.meshrt_exe;
  auto wanted
    = system_filter("rpc", opts.only, {"meshrt", "meshrt_keyed", "raw_udp", "caf_remote"});
  bench_report report{"rpc"};
  if (wanted("raw_udp"))
    add_raw_udp_rtts(report, opts.rounds, payload_size);
  if (wanted("caf_remote"))
    caf_remote(report, opts, exe);
  if (wanted("meshrt"))
    meshrt_rpc(report, opts, exe, "meshrt", "");
  if (wanted("meshrt_keyed")) {
    auto key_file = "/tmp/meshrt-bench-cluster-" + std::to_string(::getpid()) + ".key";
    std::remove(key_file.c_str());
    write_new_key_file(key_file);
    try {
      meshrt_rpc(report, opts, exe, "meshrt_keyed", key_file);
    } catch (...) {
      std::remove(key_file.c_str());
      throw;
    }
    std::remove(key_file.c_str());
  }
  return report;
}

bench_report run_fanout_bench(const fanout_bench_options& opts) {
  bench_report report{"fanout"};
  report.add("raw_udp", "fanout64_ms", raw_udp_fanout_ms(opts.nodes, opts.rounds), "ms");
  caf::actor_system_config cfg;
  apply_meshrt_defaults(cfg, opts.mode);
  caf::actor_system sys{cfg};
  uint16_t mars_port = 46700;
  auto mars = start_mars(sys, mars_port);
  config ncfg;
  ncfg.mesh.mars_port = mars_port;
  ncfg.mesh.port = 46710;
  auto acks = std::make_shared<ack_counter>();
  auto origin = spawn_node(sys, ncfg.mesh, node_options{});
  caf::anon_send(origin, handle_atom::value, uint16_t{3},
                 spawn_handler(sys, [acks](const byte_buffer&, const std::string&) {
                   acks->add();
                   return caf::expected<byte_buffer>{byte_buffer{}};
                 }));
  std::vector<caf::actor> nodes;
  std::vector<std::string> addrs;
  caf::scoped_actor self{sys};
  for (int i = 0; i < opts.nodes; ++i) {
    auto n = spawn_node(sys, ncfg.mesh, node_options{});
    // Each node acknowledges with a Send to the caller (the message's sender).
    caf::anon_send(n, handle_atom::value, uint16_t{2},
                   spawn_handler(sys, [n](const byte_buffer&, const std::string& sender) {
                     caf::anon_send(n, send_atom::value, uint16_t{3}, sender, byte_buffer{});
                     return caf::expected<byte_buffer>{byte_buffer{}};
                   }));
    self->request(n, 5s, whoami_atom::value)
      .receive([&](const node_record& rec) { addrs.push_back(rec.mesh_address); },
               [](caf::error&) {});
    nodes.push_back(n);
  }
  auto payload = byte_buffer(payload_size, 0x42);
  int expected = 0;
  // Warm-up: every link is set up before anything is timed.
  for (uint16_t limit : {uint16_t{64}, uint16_t{64}}) {
    self->send(origin, send_many_atom::value, uint16_t{2}, addrs, payload, limit);
    expected += opts.nodes;
    acks->wait_for(expected, 5s);
  }
  for (uint16_t limit : {1, 2, 4, 8, 64}) {
    std::vector<double> times;
    for (int round = 0; round < opts.rounds; ++round) {
      auto t0 = clock_type::now();
      self->send(origin, send_many_atom::value, uint16_t{2}, addrs, payload, limit);
      expected += opts.nodes;
      if (acks->wait_for(expected, 5s))
        times.push_back(ms_since(t0));
      else
        expected = acks->value(); // a lost round is not timed
    }
    auto ms = percentile(times, 0.5);
    report.add("meshrt", "fanout64_ms_limit" + std::to_string(limit), ms, "ms");
    if (limit == 4)
      report.add("meshrt", "fanout64_ms", ms, "ms");
  }
  for (const auto& n : nodes)
    self->send_exit(n, caf::exit_reason::user_shutdown);
  self->send_exit(origin, caf::exit_reason::user_shutdown);
  self->send_exit(mars, caf::exit_reason::user_shutdown);
  return report;
}

int run_bench_peer(const std::string& kind, uint16_t port, const std::string& mars,
                   const std::string& key_file, scheduling mode) {
  // Never outlive the benchmark that started this process.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (kind == "caf") {
    caf::actor_system_config cfg;
    cfg.load<caf::io::middleman>();
    caf::actor_system sys{cfg};
    auto echo = sys.spawn(
      [](caf::event_based_actor*, int) -> caf::behavior {
        return {[](std::string& s) { return std::move(s); }};
      },
      0);
    auto bound = sys.middleman().publish(echo, port, "127.0.0.1");
    if (!bound)
      throw std::runtime_error("cannot publish: " + sys.render(bound.error()));
    std::printf("ready %u\n", *bound);
    std::fflush(stdout);
    for (;;)
      ::pause();
  }
  if (kind != "mesh")
    throw std::invalid_argument("--kind: expected mesh or caf, got '" + kind + "'");
  auto colon = mars.rfind(':');
  if (colon == std::string::npos)
    throw std::invalid_argument("--mars: expected HOST:PORT, got '" + mars + "'");
  config cfg;
  cfg.mesh.mars_address = mars.substr(0, colon);
  cfg.mesh.mars_port = static_cast<uint16_t>(std::stoi(mars.substr(colon + 1)));
  cfg.mesh.port = port;
  if (!key_file.empty())
    cfg.mesh.cluster_key = load_secret_key(key_file);
  caf::actor_system_config sys_cfg;
  apply_meshrt_defaults(sys_cfg, mode);
  caf::actor_system sys{sys_cfg};
  node_options nopts;
  nopts.type = "BENCH";
  auto node = spawn_node(sys, cfg.mesh, nopts);
  // The echo runs inside the node: a function, not an actor of its own.
  caf::anon_send(node, handle_atom::value, echo_command,
                 handler_function{[](const byte_buffer& data, const std::string&) {
                   return caf::expected<byte_buffer>{data};
                 }});
  caf::scoped_actor self{sys};
  std::string addr;
  self->request(node, 5s, whoami_atom::value)
    .receive([&](const node_record& rec) { addr = rec.mesh_address; }, [](caf::error&) {});
  std::printf("ready %s\n", addr.c_str());
  std::fflush(stdout);
  for (;;)
    ::pause();
}

} // namespace meshrt::bench
