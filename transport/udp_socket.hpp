#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "transport/endpoint.hpp"

namespace meshrt::transport {

/// One datagram of a receive batch; `data` points into the socket's buffer.
struct datagram_view {
  endpoint from;
  const uint8_t* data = nullptr;
  size_t size = 0;
};

/// A non-blocking IPv4 UDP socket. Sending is safe from any thread (the
/// kernel serialises sendto on one socket); receiving belongs to one thread.
class udp_socket {
public:
  /// Binds `address`, trying `first_port`, then the next ports upward, up to
  /// `attempts` ports. Throws std::runtime_error naming the address and the
  /// range when none is free, or when the address is not local.
  static udp_socket bind_scan(const std::string& address, uint16_t first_port, int attempts = 100);

  udp_socket() = default;
  udp_socket(udp_socket&& other) noexcept;
  udp_socket& operator=(udp_socket&& other) noexcept;
  udp_socket(const udp_socket&) = delete;
  udp_socket& operator=(const udp_socket&) = delete;
  ~udp_socket();

  int fd() const {
    return fd_;
  }

  /// The address and port actually bound.
  endpoint local() const {
    return local_;
  }

  /// Sends `count` packets to one destination with as few system calls as
  /// possible. Returns how many the kernel took (the rest count as lost).
  size_t send_batch(const endpoint& to, const uint8_t* const* packets, const size_t* sizes,
                    size_t count);

  /// Receives up to max_batch datagrams without blocking; the views stay
  /// valid until the next call.
  const std::vector<datagram_view>& receive_batch();

  static constexpr size_t max_batch = 64;

private:
  int fd_ = -1;
  endpoint local_;
  std::vector<uint8_t> rx_buffers_;
  std::vector<datagram_view> rx_views_;
};

} // namespace meshrt::transport
