#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <unordered_set>

#include <caf/actor.hpp>

#include "transport/link_directory.hpp"
#include "transport/udp_socket.hpp"

namespace meshrt::transport {

class io_poller;
class packet_guard;
enum class guard_verdict : uint8_t;

/// The transport's reading side: waits for the socket, drains it with
/// recvmmsg, lets `guard` judge each datagram (the cluster key), and hands
/// each batch of those it passes to the peer link of their sender (or to
/// the transport actor for a sender it has not seen). A datagram the guard
/// refuses is dropped, its sender sent a refusal notice (at most once a
/// second), and the first of each kind from each sender logged. A peer
/// whose host reported its port closed (ICMP port unreachable) is named to
/// the transport actor as (unreachable_atom, address, port).
///
/// It waits in `poller`, the actor system's worker (io_scheduler.hpp),
/// when there is one; then it reads a few batches per turn and lets the
/// actors run. Without one it is a thread of its own (epoll) that drains
/// the socket at each wake-up.
class receive_loop {
public:
  receive_loop(std::shared_ptr<udp_socket> sock, std::shared_ptr<link_directory> peers,
               std::shared_ptr<packet_guard> guard, caf::actor transport, io_poller* poller);
  ~receive_loop();
  receive_loop(const receive_loop&) = delete;
  receive_loop& operator=(const receive_loop&) = delete;

  /// Stops reading: the thread ends, or the poller lets the socket go
  /// (after a turn under way in another thread). Idempotent.
  void stop();

  /// Datagrams taken off the socket.
  uint64_t datagrams() const {
    return datagrams_.load(std::memory_order_relaxed);
  }

private:
  void run();
  /// Reads up to `max_batches` batches of datagrams (0: until the socket
  /// is empty) and hands them on.
  void dispatch(size_t max_batches);
  /// A datagram the guard did not pass.
  void refused(const endpoint& from, guard_verdict verdict);

  std::shared_ptr<udp_socket> sock_;
  std::shared_ptr<link_directory> peers_;
  std::shared_ptr<packet_guard> guard_;
  caf::actor transport_;
  /// Where it waits while it reads in the I/O scheduler's worker; null
  /// with a thread of its own, and once stopped.
  io_poller* poller_ = nullptr;
  /// (sender, verdict) pairs already logged.
  std::unordered_set<uint64_t> logged_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::atomic<uint64_t> datagrams_{0};
  std::thread thread_;
};

} // namespace meshrt::transport
