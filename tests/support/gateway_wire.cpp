#include "support/gateway_wire.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include <doctest/doctest.h>

namespace meshrt::test {

std::optional<client_frame> raw_exchange(uint16_t port, const byte_buffer& bytes, bool& closed,
                                         int wait_ms) {
  closed = false;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  if (!bytes.empty())
    REQUIRE(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL)
            == static_cast<ssize_t>(bytes.size()));
  frame_reader r{1 << 20};
  std::optional<client_frame> first;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds{wait_ms};
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) != 1)
      continue;
    uint8_t buf[4096];
    auto n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
      closed = true;
      break;
    }
    r.feed(buf, static_cast<size_t>(n));
    if (auto f = r.next(); f && !first)
      first = std::move(f);
  }
  ::close(fd);
  return first;
}

byte_buffer frame_bytes(client_cmd cmd, std::string user, uint32_t seq) {
  client_frame f;
  f.cmd = cmd;
  f.user = std::move(user);
  f.seq = seq;
  f.message = {'h', 'i'};
  return encode(f);
}

} // namespace meshrt::test
