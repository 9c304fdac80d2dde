#include "benchmarks/floor_server.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <unordered_map>

#include "benchmarks/bench_util.hpp"
#include "dm/client.hpp" // raise_open_files_limit

namespace meshrt::bench {

namespace {

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

/// Writes all of `data` to a non-blocking socket, waiting while it is full
/// (the driver reads all the time; a floor does not queue).
void write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    auto n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n > 0) {
      data += n;
      size -= static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, 100);
    } else {
      return; // the client is gone
    }
  }
}

/// The number a user id ends in.
size_t user_number(const std::string& user) {
  size_t digits = user.size();
  while (digits > 0 && user[digits - 1] >= '0' && user[digits - 1] <= '9')
    --digits;
  size_t n = 0;
  for (auto i = digits; i < user.size(); ++i)
    n = n * 10 + static_cast<size_t>(user[i] - '0'); // wraps on overlong ids: any server will do
  return n;
}

class floor_server {
public:
  floor_server(int listener, int udp, const std::vector<uint16_t>& udp_ports, size_t index) :
    listener_(listener), udp_(udp), ports_(udp_ports), index_(index) {}

  void run() {
    ep_ = ::epoll_create1(EPOLL_CLOEXEC);
    watch(listener_);
    if (udp_ >= 0)
      watch(udp_);
    epoll_event events[256];
    for (;;) {
      int n = ::epoll_wait(ep_, events, 256, -1);
      for (int i = 0; i < n; ++i) {
        int fd = events[i].data.fd;
        if (fd == listener_)
          accept_all();
        else if (fd == udp_)
          receive_datagrams();
        else
          read_client(fd);
      }
    }
  }

private:
  void watch(int fd) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    ::epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
  }

  void accept_all() {
    for (;;) {
      int fd = ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0)
        return;
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      watch(fd);
    }
  }

  void read_client(int fd) {
    char buf[65536];
    auto n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
      if (n == 0 || (errno != EAGAIN && errno != EINTR))
        close_client(fd);
      return;
    }
    auto& in = pending_[fd];
    in.append(buf, static_cast<size_t>(n));
    size_t pos = 0;
    while (pos + 2 <= in.size()) {
      auto kind = in[pos];
      if (kind != 'H' && kind != 'P') { // not the floor's wire: drop the client
        close_client(fd);
        return;
      }
      size_t len = static_cast<uint8_t>(in[pos + 1]);
      if (pos + 2 + len > in.size())
        break;
      std::string user = in.substr(pos + 2, len);
      if (kind == 'H') {
        users_[user] = fd;
        user_of_[fd] = user;
        write_all(fd, "R", 1);
        pos += 2 + len;
        continue;
      }
      auto at = pos + 2 + len;
      if (at + 2 > in.size())
        break;
      size_t size
        = static_cast<uint8_t>(in[at]) | static_cast<size_t>(static_cast<uint8_t>(in[at + 1])) << 8;
      if (at + 2 + size > in.size())
        break;
      publish(user, in.data() + at + 2, size);
      pos = at + 2 + size;
    }
    in.erase(0, pos);
  }

  void close_client(int fd) {
    ::close(fd); // leaves the epoll set with it
    pending_.erase(fd);
    if (auto i = user_of_.find(fd); i != user_of_.end()) {
      if (auto u = users_.find(i->second); u != users_.end() && u->second == fd)
        users_.erase(u);
      user_of_.erase(i);
    }
  }

  /// A message for `user`: to its client here, else to its server.
  void publish(const std::string& user, const char* payload, size_t size) {
    auto server = user_number(user) % ports_.size();
    if (server == index_)
      return push(user, payload, size);
    std::string dg;
    dg.push_back(static_cast<char>(user.size()));
    dg += user;
    dg.append(payload, size);
    auto to = loopback(ports_[server]);
    ::sendto(udp_, dg.data(), dg.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
  }

  void push(const std::string& user, const char* payload, size_t size) {
    auto i = users_.find(user);
    if (i == users_.end())
      return;
    std::string frame{'M', static_cast<char>(size & 0xff), static_cast<char>(size >> 8)};
    frame.append(payload, size);
    write_all(i->second, frame.data(), frame.size());
  }

  void receive_datagrams() {
    char buf[65536];
    for (;;) {
      auto n = ::recv(udp_, buf, sizeof(buf), MSG_DONTWAIT);
      if (n <= 0)
        return;
      size_t len = static_cast<uint8_t>(buf[0]);
      if (1 + len > static_cast<size_t>(n))
        continue;
      push(std::string{buf + 1, len}, buf + 1 + len, static_cast<size_t>(n) - 1 - len);
    }
  }

  int listener_;
  int udp_;
  int ep_ = -1;
  std::vector<uint16_t> ports_;
  size_t index_;
  std::unordered_map<std::string, int> users_;
  std::unordered_map<int, std::string> user_of_; // by connection
  std::unordered_map<int, std::string> pending_; // bytes of a frame not yet whole
};

} // namespace

int run_floor_server(uint16_t port, const std::vector<uint16_t>& udp_ports, size_t index) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL); // never outlive the benchmark
  if (udp_ports.empty() || index >= udp_ports.size()) {
    std::fprintf(stderr, "floor server: index %zu of %zu servers\n", index, udp_ports.size());
    return 1;
  }
  raise_open_files_limit(); // a connection per user
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  auto addr = loopback(port);
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0
      || ::listen(listener, 4096) != 0) {
    std::fprintf(stderr, "floor server: cannot listen on port %u: %s\n", port,
                 std::strerror(errno));
    return 1;
  }
  int udp = -1;
  if (udp_ports.size() > 1) {
    udp = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    // A large buffer, as meshrt's transport asks for: the floor has no
    // retransmission, and the throughput run's bursts must fit.
    int bytes = 8 << 20;
    if (::setsockopt(udp, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) != 0)
      ::setsockopt(udp, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
    auto self = loopback(udp_ports[index]);
    if (::bind(udp, reinterpret_cast<sockaddr*>(&self), sizeof(self)) != 0) {
      std::fprintf(stderr, "floor server: cannot bind UDP port %u: %s\n", udp_ports[index],
                   std::strerror(errno));
      return 1;
    }
  }
  floor_server{listener, udp, udp_ports, index}.run();
  return 0;
}

floor_processes start_floor_servers(const std::string& exe, size_t count,
                                    const std::string& log_prefix) {
  std::string udp_ports;
  for (size_t i = 0; i < count; ++i)
    udp_ports += (i > 0 ? "," : "") + std::to_string(free_port(SOCK_DGRAM));
  floor_processes result;
  for (size_t i = 0; i < count; ++i) {
    auto port = free_port(SOCK_STREAM);
    result.procs.push_back(
      start_tcp_server({exe, "bench-floor", "--port", std::to_string(port), "--udp-ports",
                        udp_ports, "--index", std::to_string(i)},
                       log_prefix + std::to_string(i) + ".log", port));
    result.endpoints.push_back("127.0.0.1:" + std::to_string(port));
  }
  return result;
}

} // namespace meshrt::bench
