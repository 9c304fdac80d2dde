#include "transport/endpoint.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace meshrt::transport {

std::string endpoint::to_string() const {
  in_addr a{};
  a.s_addr = htonl(address);
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &a, text, sizeof(text));
  return std::string{text} + ":" + std::to_string(port);
}

std::optional<endpoint> endpoint::parse(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size() || text.size() - colon > 6)
    return std::nullopt;
  in_addr a{};
  if (inet_pton(AF_INET, text.substr(0, colon).c_str(), &a) != 1)
    return std::nullopt;
  uint32_t port = 0;
  for (size_t i = colon + 1; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9')
      return std::nullopt;
    port = port * 10 + static_cast<uint32_t>(text[i] - '0');
  }
  if (port == 0 || port > 65535)
    return std::nullopt;
  return endpoint{ntohl(a.s_addr), static_cast<uint16_t>(port)};
}

endpoint endpoint::from_sockaddr(const sockaddr_in& sa) {
  return endpoint{ntohl(sa.sin_addr.s_addr), ntohs(sa.sin_port)};
}

void endpoint::to_sockaddr(sockaddr_in& sa) const {
  sa = sockaddr_in{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(address);
  sa.sin_port = htons(port);
}

std::optional<std::string> resolve_ipv4(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0 || found == nullptr)
    return std::nullopt;
  char text[INET_ADDRSTRLEN] = {};
  const auto* sa = reinterpret_cast<const sockaddr_in*>(found->ai_addr);
  inet_ntop(AF_INET, &sa->sin_addr, text, sizeof(text));
  freeaddrinfo(found);
  return std::string{text};
}

std::optional<std::string> source_ipv4_towards(const std::string& address) {
  auto to = endpoint::parse(address + ":9");
  if (!to)
    return std::nullopt;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0)
    return std::nullopt;
  // A UDP connect sends nothing: it only asks the routing table.
  sockaddr_in sa{};
  to->to_sockaddr(sa);
  sockaddr_in local{};
  socklen_t len = sizeof(local);
  bool ok = connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) == 0
            && getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0;
  close(fd);
  if (!ok)
    return std::nullopt;
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &local.sin_addr, text, sizeof(text));
  return std::string{text};
}

} // namespace meshrt::transport
