#include "benchmarks/resp_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace meshrt::bench {

resp_client::resp_client(uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0)
    throw std::runtime_error(std::string{"socket: "} + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    auto err = std::string{std::strerror(errno)};
    ::close(fd_);
    fd_ = -1;
    throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + ": " + err);
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  timeval tv{10, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

resp_client::~resp_client() {
  if (fd_ >= 0)
    ::close(fd_);
}

void resp_client::queue(const std::vector<std::string>& args) {
  out_ += '*' + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) {
    out_ += '$' + std::to_string(a.size()) + "\r\n";
    out_ += a;
    out_ += "\r\n";
  }
}

void resp_client::flush() {
  size_t sent = 0;
  while (sent < out_.size()) {
    auto n = ::send(fd_, out_.data() + sent, out_.size() - sent, MSG_NOSIGNAL);
    if (n <= 0)
      throw std::runtime_error(std::string{"redis: send: "} + std::strerror(errno));
    sent += static_cast<size_t>(n);
  }
  out_.clear();
}

bool resp_client::fill() {
  if (pos_ > 0 && pos_ == in_.size()) {
    in_.clear();
    pos_ = 0;
  }
  char buf[65536];
  auto n = ::recv(fd_, buf, sizeof(buf), 0);
  if (n <= 0)
    return false;
  in_.append(buf, static_cast<size_t>(n));
  return true;
}

std::string resp_client::line() {
  for (;;) {
    auto end = in_.find("\r\n", pos_);
    if (end != std::string::npos) {
      auto result = in_.substr(pos_, end - pos_);
      pos_ = end + 2;
      return result;
    }
    if (!fill())
      throw std::runtime_error("redis: the connection closed or timed out");
  }
}

resp_reply resp_client::read() {
  if (!out_.empty())
    flush();
  auto head = line();
  if (head.empty())
    throw std::runtime_error("redis: an empty reply line");
  resp_reply r;
  auto rest = head.substr(1);
  switch (head[0]) {
    case '+':
      r.what = resp_reply::kind::status;
      r.text = rest;
      return r;
    case '-':
      r.what = resp_reply::kind::error;
      r.text = rest;
      return r;
    case ':':
      r.what = resp_reply::kind::integer;
      r.number = std::stoll(rest);
      return r;
    case '*': {
      // Not needed by the benchmark beyond skipping: read the elements.
      r.what = resp_reply::kind::array;
      auto count = std::stoll(rest);
      for (int64_t i = 0; i < count; ++i)
        read();
      return r;
    }
    case '$': {
      auto size = std::stoll(rest);
      if (size < 0)
        return r; // nil
      while (in_.size() - pos_ < static_cast<size_t>(size) + 2)
        if (!fill())
          throw std::runtime_error("redis: the connection closed inside a reply");
      r.what = resp_reply::kind::bulk;
      r.text = in_.substr(pos_, static_cast<size_t>(size));
      pos_ += static_cast<size_t>(size) + 2;
      return r;
    }
    default:
      throw std::runtime_error("redis: a reply starting with '" + head.substr(0, 1) + "'");
  }
}

resp_reply resp_client::call(const std::vector<std::string>& args) {
  queue(args);
  return read();
}

} // namespace meshrt::bench
