#include "benchmarks/bench_util.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <fstream>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include "benchmarks/child_process.hpp"

namespace meshrt::bench {

double percentile(std::vector<double> v, double p) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  auto idx = static_cast<size_t>(p * static_cast<double>(v.size() - 1));
  return v[idx];
}

void add_latencies(bench_report& r, const std::string& system, const std::string& prefix,
                   const std::vector<double>& us) {
  r.add(system, prefix + "_p50_us", percentile(us, 0.50), "us");
  r.add(system, prefix + "_p99_us", percentile(us, 0.99), "us");
  r.add_histogram(system, prefix + "_us", latency_histogram::of(us));
}

int bound_udp_socket(int timeout_ms) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0)
    throw std::runtime_error("raw UDP baseline: cannot bind a loopback socket");
  timeval tv{timeout_ms / 1000, static_cast<suseconds_t>(timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

namespace {

/// Pins the calling thread to `cpu`; false if it cannot run there.
bool pin_to(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0;
}

/// The calling thread's CPUs, restored when this goes out of scope.
class affinity_guard {
public:
  affinity_guard() {
    ok_ = pthread_getaffinity_np(pthread_self(), sizeof(saved_), &saved_) == 0;
  }
  ~affinity_guard() {
    if (ok_)
      pthread_setaffinity_np(pthread_self(), sizeof(saved_), &saved_);
  }
  affinity_guard(const affinity_guard&) = delete;
  affinity_guard& operator=(const affinity_guard&) = delete;

  /// The n-th CPU this thread may run on, or -1.
  int cpu(int n) const {
    if (!ok_)
      return -1;
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &saved_) && n-- == 0)
        return c;
    return -1;
  }

private:
  cpu_set_t saved_;
  bool ok_ = false;
};

} // namespace

std::vector<double> raw_udp_pingpong(int rounds, size_t size, placement where) {
  affinity_guard guard;
  int client_cpu = guard.cpu(0);
  int echo_cpu = where == placement::same_core ? client_cpu : guard.cpu(1);
  bool pinned = client_cpu >= 0 && echo_cpu >= 0 && pin_to(client_cpu);
  int client = bound_udp_socket();
  int server = bound_udp_socket();
  sockaddr_in server_addr{};
  socklen_t addr_len = sizeof(server_addr);
  getsockname(server, reinterpret_cast<sockaddr*>(&server_addr), &addr_len);
  std::thread echo{[&] {
    if (pinned)
      pin_to(echo_cpu);
    uint8_t buf[2048];
    for (int i = 0; i < rounds; ++i) {
      sockaddr_in from{};
      socklen_t len = sizeof(from);
      auto n = recvfrom(server, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n <= 0)
        return;
      sendto(server, buf, static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), len);
    }
  }};
  std::vector<double> rtts;
  rtts.reserve(static_cast<size_t>(rounds));
  uint8_t buf[2048] = {};
  for (int i = 0; i < rounds; ++i) {
    auto t0 = clock_type::now();
    sendto(client, buf, std::min(size, sizeof(buf)), 0, reinterpret_cast<sockaddr*>(&server_addr),
           sizeof(server_addr));
    if (recv(client, buf, sizeof(buf), 0) <= 0)
      break;
    rtts.push_back(seconds_since(t0) * 1e6);
  }
  echo.join();
  close(client);
  close(server);
  return rtts;
}

void add_raw_udp_rtts(bench_report& r, int rounds, size_t size) {
  add_latencies(r, "raw_udp", "rtt", raw_udp_pingpong(rounds, size, placement::cross_core));
  r.add("raw_udp", "rtt_p50_us_same_core",
        percentile(raw_udp_pingpong(rounds, size, placement::same_core), 0.5), "us");
}

std::function<bool(const char*)> system_filter(const std::string& scenario, const std::string& only,
                                               const std::vector<std::string>& systems) {
  std::set<std::string> chosen;
  for (size_t from = 0; !only.empty() && from <= only.size();) {
    auto comma = std::min(only.find(',', from), only.size());
    auto name = only.substr(from, comma - from);
    if (std::find(systems.begin(), systems.end(), name) == systems.end()) {
      std::string names;
      for (const auto& s : systems)
        names += (names.empty() ? "" : ", ") + s;
      throw std::invalid_argument("unknown system '" + name + "' (" + scenario + " has: " + names
                                  + ")");
    }
    chosen.insert(name);
    from = comma + 1;
  }
  return [chosen](const char* system) { return chosen.empty() || chosen.count(system) > 0; };
}

uint16_t free_port(int type) {
  static std::mutex mtx;
  static std::set<uint16_t> given;
  std::lock_guard<std::mutex> guard{mtx};
  // Bounded: the ephemeral range has ~28,000 ports, a bench takes dozens.
  for (int attempt = 0; attempt < 1000; ++attempt) {
    int fd = ::socket(AF_INET, type, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0
              && ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
    if (fd >= 0)
      ::close(fd);
    if (!ok)
      break;
    if (given.insert(ntohs(addr.sin_port)).second)
      return ntohs(addr.sin_port);
  }
  throw std::runtime_error("no free loopback port");
}

double rss_bytes(int pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stod(line.substr(6)) * 1024;
  return 0;
}

double rss_bytes(const std::vector<std::unique_ptr<child_process>>& procs) {
  double sum = 0;
  for (const auto& p : procs)
    sum += rss_bytes(p->pid());
  return sum;
}

double cpu_seconds(const std::vector<std::unique_ptr<child_process>>& procs) {
  double sum = 0;
  for (const auto& p : procs)
    sum += p->cpu_seconds();
  return sum;
}

std::unique_ptr<child_process> start_tcp_server(const std::vector<std::string>& args,
                                                const std::string& log_path, uint16_t port) {
  auto server = std::make_unique<child_process>(args, log_path);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  auto t0 = clock_type::now();
  for (;;) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    bool up = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    if (fd >= 0)
      ::close(fd);
    if (up)
      return server;
    if (seconds_since(t0) > 10 || server->wait(std::chrono::milliseconds{50}))
      throw std::runtime_error(args[0] + " did not come up on port " + std::to_string(port) + ": "
                               + server->log());
  }
}

std::string nats_server_program() {
  return ::access("/usr/sbin/nats-server", X_OK) == 0 ? "/usr/sbin/nats-server" : "nats-server";
}

std::unique_ptr<child_process> start_redis(uint16_t port, const std::vector<std::string>& extra) {
  std::vector<std::string> args{
    "redis-server", "--port", std::to_string(port), "--bind", "127.0.0.1", "--save", "",
    "--appendonly", "no",     "--protected-mode",   "no"};
  args.insert(args.end(), extra.begin(), extra.end());
  return start_tcp_server(args, "/tmp/meshrt-bench-redis-" + std::to_string(::getpid()) + ".log",
                          port);
}

std::string self_exe() {
  char buf[PATH_MAX] = {};
  auto n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0)
    throw std::runtime_error("cannot find the meshrt executable (/proc/self/exe)");
  return std::string(buf, static_cast<size_t>(n));
}

} // namespace meshrt::bench
