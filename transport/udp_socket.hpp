#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
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
///
/// Where the kernel offers it, the socket hands datagrams to the kernel in
/// trains and takes them back the same way (UDP generic segmentation and
/// receive offload, UDP_SEGMENT / UDP_GRO): consecutive packets of one size
/// to one destination go down the stack as one buffer and are cut into
/// datagrams of that size at the device, and datagrams of one flow may come
/// up as one buffer that receive_batch() cuts again. On the wire nothing
/// changes, every datagram is still at most max_packet_size; what changes is
/// that the kernel's per-packet cost is paid once per train. A kernel or
/// device that refuses a train turns segmentation off for the socket and the
/// packets go one by one.
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

  /// Receives what the socket holds without blocking, up to max_batch
  /// buffers from the kernel (each a datagram, or a train of them); the views
  /// stay valid until the next call.
  const std::vector<datagram_view>& receive_batch();

  /// True if the last receive_batch() took all the buffers it had room for:
  /// more may be waiting.
  bool batch_was_full() const {
    return batch_was_full_;
  }

  /// The destinations whose host answered one of our datagrams with ICMP
  /// port unreachable since the last call (nothing bound to that port: on
  /// the same host or a LAN, a process that died or closed its socket),
  /// each once. receive_batch() collects them as the kernel reports them
  /// (IP_RECVERR); the datagrams queued meanwhile are not lost. A host or
  /// firewall that sends no ICMP reports nothing.
  std::vector<endpoint> take_unreachable() {
    return std::exchange(unreachable_, {});
  }

  bool has_unreachable() const {
    return !unreachable_.empty();
  }

  /// Whether trains are sent (UDP_SEGMENT) and taken in (UDP_GRO).
  bool sends_trains() const {
    return segmentation_.load(std::memory_order_relaxed);
  }
  bool receives_trains() const {
    return coalescing_;
  }

  /// Buffers receive_batch() took from the kernel so far: a datagram each,
  /// or a whole train. Fewer than the datagrams when trains arrive whole.
  uint64_t buffers_received() const {
    return buffers_received_;
  }

  /// Sends every packet as a datagram of its own from now on (tests, and
  /// the fallback when the kernel refuses a train).
  void disable_segmentation() {
    segmentation_.store(false, std::memory_order_relaxed);
  }

  static constexpr size_t max_batch = 64;

private:
  size_t send_each(const void* sa, const uint8_t* const* packets, const size_t* sizes,
                   size_t count);
  /// One recvmmsg into the receive buffers: what it returned.
  int receive_into_views();
  /// Reads the socket's error queue, keeping the destinations that were
  /// refused (port unreachable) in unreachable_.
  void take_errors();

  int fd_ = -1;
  endpoint local_;
  std::atomic<bool> segmentation_{false};
  bool coalescing_ = false;
  bool batch_was_full_ = false;
  uint64_t buffers_received_ = 0;
  size_t rx_slots_ = 0;
  size_t rx_slot_size_ = 0;
  std::unique_ptr<uint8_t[]> rx_buffers_;
  std::vector<datagram_view> rx_views_;
  std::vector<endpoint> unreachable_;
};

} // namespace meshrt::transport
