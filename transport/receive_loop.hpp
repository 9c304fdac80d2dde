#pragma once

#include <atomic>
#include <memory>
#include <thread>

#include <caf/actor.hpp>

#include "transport/link_directory.hpp"
#include "transport/udp_socket.hpp"

namespace meshrt::transport {

/// The transport's I/O thread: waits on the socket with epoll, drains it with
/// recvmmsg, and hands each batch of datagrams to the peer link of their
/// sender (or to the transport actor for a sender it has not seen).
class receive_loop {
public:
  receive_loop(std::shared_ptr<udp_socket> sock, std::shared_ptr<link_directory> peers,
               caf::actor transport);
  ~receive_loop();
  receive_loop(const receive_loop&) = delete;
  receive_loop& operator=(const receive_loop&) = delete;

  /// Wakes the thread and waits for it to end.
  void stop();

  /// Datagrams taken off the socket.
  uint64_t datagrams() const {
    return datagrams_.load(std::memory_order_relaxed);
  }

private:
  void run();
  void dispatch();

  std::shared_ptr<udp_socket> sock_;
  std::shared_ptr<link_directory> peers_;
  caf::actor transport_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::atomic<uint64_t> datagrams_{0};
  std::thread thread_;
};

} // namespace meshrt::transport
