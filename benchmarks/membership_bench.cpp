#include "benchmarks/membership_bench.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <memory>
#include <stdexcept>
#include <thread>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/mars_client.hpp"
#include "actors/mars_protocol.hpp"
#include "actors/node_actor.hpp"
#include "actors/node_atoms.hpp"
#include "benchmarks/bench_util.hpp"
#include "benchmarks/child_process.hpp"
#include "runtime/config.hpp"
#include "runtime/system_config.hpp"

namespace meshrt::bench {

namespace {

using namespace std::chrono_literals;

/// Polls `pred` every 10 ms for up to `limit`; the milliseconds it took, or
/// -1 if it never held.
template<class Predicate>
double time_until(Predicate pred, clock_type::time_point t0,
                  std::chrono::milliseconds limit = 20s) {
  while (!pred()) {
    if (clock_type::now() - t0 > limit)
      return -1;
    std::this_thread::sleep_for(10ms);
  }
  return ms_since(t0);
}

/// A MARS process, and what the bench asks of it.
class mars_process {
public:
  mars_process(caf::actor_system& sys, std::string exe, uint16_t port) :
    sys_(sys), exe_(std::move(exe)), port_(port) {
    start();
  }

  void start() {
    proc_ = std::make_unique<child_process>(std::vector<std::string>{exe_, "mars", "--port",
                                                                     std::to_string(port_),
                                                                     "--log-level", "warn"},
                                            "/dev/null");
    // Up once it answers.
    auto t0 = clock_type::now();
    while (!status(300ms)) {
      if (clock_type::now() - t0 > 10s)
        throw std::runtime_error("MARS did not start on port " + std::to_string(port_));
    }
  }

  void kill() {
    proc_->signal(SIGKILL);
    proc_->wait(5s);
  }

  std::optional<mars_status> status(std::chrono::milliseconds limit = 3s) {
    try {
      return query_mars_status(sys_, address(), "", limit);
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }

  std::string address() const {
    return "127.0.0.1:" + std::to_string(port_);
  }

  double cpu_seconds() const {
    return proc_->cpu_seconds();
  }

private:
  caf::actor_system& sys_;
  std::string exe_;
  uint16_t port_;
  std::unique_ptr<child_process> proc_;
};

/// N in-process nodes and the questions the bench asks all of them.
class node_set {
public:
  node_set(caf::actor_system& sys, uint16_t mars_port, uint16_t first_port, int n) : self_(sys) {
    for (int i = 0; i < n; ++i) {
      config cfg;
      cfg.mesh.mars_port = mars_port;
      cfg.mesh.port = static_cast<uint16_t>(first_port + i);
      node_options opts;
      opts.type = i % 4 == 0 ? "HTTP" : "UDP";
      nodes_.push_back(spawn_node(sys, cfg.mesh, opts));
    }
  }

  ~node_set() {
    for (const auto& n : nodes_)
      self_->send_exit(n, caf::exit_reason::user_shutdown);
  }

  size_t view_size(const caf::actor& n) {
    size_t size = 0;
    self_->request(n, 2s, addresses_atom::value, std::vector<std::string>{})
      .receive([&](const std::vector<std::string>& v) { size = v.size(); }, [](caf::error&) {});
    return size;
  }

  bool all_see(size_t expected) {
    return std::all_of(nodes_.begin(), nodes_.end(),
                       [&](const caf::actor& n) { return view_size(n) == expected; });
  }

  bool none_sees(const std::string& addr) {
    return std::all_of(nodes_.begin(), nodes_.end(), [&](const caf::actor& n) {
      bool seen = true;
      self_->request(n, 2s, addresses_atom::value, std::vector<std::string>{})
        .receive(
          [&](const std::vector<std::string>& v) {
            seen = std::find(v.begin(), v.end(), addr) != v.end();
          },
          [](caf::error&) {});
      return !seen;
    });
  }

  bool all_members() {
    return std::all_of(nodes_.begin(), nodes_.end(), [&](const caf::actor& n) {
      bool member = false;
      self_->request(n, 2s, member_atom::value)
        .receive([&](bool m) { member = m; }, [](caf::error&) {});
      return member;
    });
  }

  nlohmann::json stats(const caf::actor& n) {
    std::string text = "{}";
    self_->request(n, 2s, stats_atom::value)
      .receive([&](const std::string& s) { text = s; }, [](caf::error&) {});
    return nlohmann::json::parse(text);
  }

  /// Every view synced with an incarnation other than `old_epoch`, whole.
  bool all_synced_past(uint64_t old_epoch, size_t expected) {
    return std::all_of(nodes_.begin(), nodes_.end(), [&](const caf::actor& n) {
      auto s = stats(n);
      return s["view_epoch"] != old_epoch && s["view_nodes"] == expected;
    });
  }

  /// Kills one node without goodbye; returns its address.
  std::string kill_one() {
    auto victim = nodes_.back();
    nodes_.pop_back();
    std::string addr;
    self_->request(victim, 2s, whoami_atom::value)
      .receive([&](const node_record& r) { addr = r.mesh_address; }, [](caf::error&) {});
    self_->send_exit(victim, caf::exit_reason::kill);
    return addr;
  }

  const std::vector<caf::actor>& nodes() const {
    return nodes_;
  }

private:
  caf::scoped_actor self_;
  std::vector<caf::actor> nodes_;
};

/// The baseline: `n` UDP sockets each send a heartbeat-sized datagram to an
/// echo thread that answers with an answer-sized one; the median time of a
/// whole round over 20 rounds.
double raw_heartbeat_round_ms(int n, size_t heartbeat_size, size_t answer_size) {
  auto make_socket = [] { return bound_udp_socket(200); };
  int echo = make_socket();
  sockaddr_in echo_addr{};
  socklen_t len = sizeof(echo_addr);
  ::getsockname(echo, reinterpret_cast<sockaddr*>(&echo_addr), &len);
  std::atomic<bool> stop{false};
  std::thread server{[&] {
    std::vector<uint8_t> buf(2048);
    std::vector<uint8_t> answer(answer_size, 0x42);
    while (!stop) {
      sockaddr_in from{};
      socklen_t from_len = sizeof(from);
      auto got = ::recvfrom(echo, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from),
                            &from_len);
      if (got > 0)
        ::sendto(echo, answer.data(), answer.size(), 0, reinterpret_cast<sockaddr*>(&from),
                 from_len);
    }
  }};
  std::vector<int> clients;
  clients.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i)
    clients.push_back(make_socket());
  std::vector<uint8_t> heartbeat(heartbeat_size, 0x17);
  std::vector<uint8_t> buf(2048);
  std::vector<double> rounds;
  for (int round = 0; round < 20; ++round) {
    auto t0 = clock_type::now();
    for (int fd : clients)
      ::sendto(fd, heartbeat.data(), heartbeat.size(), 0, reinterpret_cast<sockaddr*>(&echo_addr),
               sizeof(echo_addr));
    for (int fd : clients)
      ::recv(fd, buf.data(), buf.size(), 0);
    rounds.push_back(ms_since(t0));
  }
  stop = true;
  server.join();
  for (int fd : clients)
    ::close(fd);
  ::close(echo);
  std::sort(rounds.begin(), rounds.end());
  return rounds[rounds.size() / 2];
}

} // namespace

bench_report run_membership_bench(const membership_bench_options& opts) {
  if (opts.sizes.empty())
    throw std::invalid_argument("membership bench: no cluster sizes");
  auto exe = opts.meshrt_exe.empty() ? self_exe() : opts.meshrt_exe;
  caf::actor_system_config cfg;
  apply_meshrt_defaults(cfg, opts.mode);
  caf::actor_system sys{cfg};
  bench_report report{"membership"};
  auto largest = *std::max_element(opts.sizes.begin(), opts.sizes.end());
  auto mars_port = opts.mars_port;
  for (int n : opts.sizes) {
    mars_process mars{sys, exe, mars_port++};
    auto t0 = clock_type::now();
    node_set nodes{sys, static_cast<uint16_t>(mars_port - 1), opts.node_port, n};
    auto size = static_cast<size_t>(n);
    report.add("meshrt", "converge_ms_" + std::to_string(n),
               time_until([&] { return nodes.all_see(size); }, t0), "ms");
    if (n != largest)
      continue;
    // Steady state: what MARS spends on a quiet cluster.
    std::this_thread::sleep_for(1s);
    auto before = mars.status();
    auto cpu_before = mars.cpu_seconds();
    auto t_steady = clock_type::now();
    std::this_thread::sleep_for(std::chrono::seconds{opts.steady_seconds});
    auto after = mars.status();
    auto seconds = ms_since(t_steady) / 1000.0;
    auto cpu = mars.cpu_seconds() - cpu_before;
    if (before && after) {
      auto bytes = static_cast<double>((after->bytes_in + after->bytes_out)
                                       - (before->bytes_in + before->bytes_out));
      auto msgs = static_cast<double>(after->messages_in - before->messages_in);
      report.add("meshrt", "mars_bytes_per_node_s", bytes / seconds / n, "B/s");
      report.add("meshrt", "mars_msgs_per_node_s", msgs / seconds / n, "msg/s");
    }
    report.add("meshrt", "mars_cpu_pct", 100.0 * cpu / seconds, "%");
    // A node dies without a goodbye.
    auto victim = nodes.kill_one();
    auto t_kill = clock_type::now();
    report.add("meshrt", "failure_seen_ms",
               time_until([&] { return nodes.none_sees(victim); }, t_kill), "ms");
    // MARS dies the same way and comes back.
    auto old_epoch = nodes.stats(nodes.nodes().front())["view_epoch"].get<uint64_t>();
    mars.kill();
    std::this_thread::sleep_for(1s);
    auto t_restart = clock_type::now();
    mars.start();
    report.add("meshrt", "heal_member_ms",
               time_until([&] { return nodes.all_members(); }, t_restart), "ms");
    report.add("meshrt", "heal_synced_ms",
               time_until([&] { return nodes.all_synced_past(old_epoch, size - 1); }, t_restart),
               "ms");
    // The baseline: the same heartbeats over plain UDP.
    node_record rec;
    rec.mesh_address = "127.0.0.1:" + std::to_string(opts.node_port);
    rec.type = rec.role = "UDP";
    auto heartbeat = encode(mars_announce{"", rec, 1, 1, false, {}}).size();
    view_delta quiet;
    quiet.epoch = 1;
    quiet.version = 1;
    auto answer = encode(quiet).size();
    report.add("raw_udp", "heartbeat_round_ms_" + std::to_string(n),
               raw_heartbeat_round_ms(n, heartbeat, answer), "ms");
    report.add("raw_udp", "mars_bytes_per_node_s", 2.0 * static_cast<double>(heartbeat + answer),
               "B/s");
  }
  return report;
}

} // namespace meshrt::bench
