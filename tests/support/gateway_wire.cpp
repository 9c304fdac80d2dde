#include "support/gateway_wire.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include <doctest/doctest.h>

namespace meshrt::test {

raw_connection::raw_connection(uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd_ >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
}

raw_connection::~raw_connection() {
  ::close(fd_);
}

void raw_connection::write(const byte_buffer& bytes) {
  REQUIRE(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL)
          == static_cast<ssize_t>(bytes.size()));
}

std::vector<client_frame> raw_connection::read(int wait_ms) {
  std::vector<client_frame> frames;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds{wait_ms};
  while (!closed_ && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) != 1)
      continue;
    uint8_t buf[4096];
    auto n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) {
      closed_ = true;
      break;
    }
    reader_.feed(buf, static_cast<size_t>(n));
    while (auto f = reader_.next())
      frames.push_back(std::move(*f));
  }
  return frames;
}

std::optional<client_frame> raw_exchange(uint16_t port, const byte_buffer& bytes, bool& closed,
                                         int wait_ms) {
  raw_connection c{port};
  if (!bytes.empty())
    c.write(bytes);
  auto frames = c.read(wait_ms);
  closed = c.closed();
  if (frames.empty())
    return std::nullopt;
  return std::move(frames.front());
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
