#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

struct sockaddr_in;

namespace meshrt::transport {

/// An IPv4 UDP address: what the mesh calls a node's mesh address.
struct endpoint {
  uint32_t address = 0; // host byte order
  uint16_t port = 0;

  /// "a.b.c.d:port".
  std::string to_string() const;

  /// Parses "a.b.c.d:port"; nullopt if malformed.
  static std::optional<endpoint> parse(const std::string& text);

  static endpoint from_sockaddr(const sockaddr_in& sa);
  void to_sockaddr(sockaddr_in& sa) const;

  friend bool operator==(const endpoint& x, const endpoint& y) {
    return x.address == y.address && x.port == y.port;
  }
  friend bool operator!=(const endpoint& x, const endpoint& y) {
    return !(x == y);
  }
};

/// The first IPv4 address of a host name or dotted address (getaddrinfo;
/// may block on DNS); nullopt if it does not resolve.
std::optional<std::string> resolve_ipv4(const std::string& host);

/// The local IPv4 address the routing table sends from to reach `address`
/// (dotted, no port), found without sending anything; nullopt if none
/// routes there.
std::optional<std::string> source_ipv4_towards(const std::string& address);

} // namespace meshrt::transport

template<>
struct std::hash<meshrt::transport::endpoint> {
  size_t operator()(const meshrt::transport::endpoint& x) const noexcept {
    return std::hash<uint64_t>{}((static_cast<uint64_t>(x.address) << 16) | x.port);
  }
};
