#include "benchmarks/bench_util.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <stdexcept>
#include <thread>

namespace meshrt::bench {

double percentile(std::vector<double> v, double p) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  auto idx = static_cast<size_t>(p * static_cast<double>(v.size() - 1));
  return v[idx];
}

void add_rtts(bench_report& r, const std::string& system, const std::vector<double>& rtts) {
  r.add(system, "rtt_p50_us", percentile(rtts, 0.50), "us");
  r.add(system, "rtt_p99_us", percentile(rtts, 0.99), "us");
}

int bound_udp_socket(int timeout_ms) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0)
    throw std::runtime_error("raw UDP baseline: cannot bind a loopback socket");
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

std::vector<double> raw_udp_pingpong(int rounds, size_t size) {
  int client = bound_udp_socket();
  int server = bound_udp_socket();
  sockaddr_in server_addr{};
  socklen_t addr_len = sizeof(server_addr);
  getsockname(server, reinterpret_cast<sockaddr*>(&server_addr), &addr_len);
  std::thread echo{[&] {
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

std::string self_exe() {
  char buf[PATH_MAX] = {};
  auto n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0)
    throw std::runtime_error("cannot find the meshrt executable (/proc/self/exe)");
  return std::string(buf, static_cast<size_t>(n));
}

} // namespace meshrt::bench
