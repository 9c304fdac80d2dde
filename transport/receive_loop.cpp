#include "transport/receive_loop.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>
#include <vector>

#include <caf/send.hpp>

#include "transport/atoms.hpp"
#include "transport/packed_messages.hpp"

namespace meshrt::transport {

receive_loop::receive_loop(std::shared_ptr<udp_socket> sock, std::shared_ptr<link_directory> peers,
                           caf::actor transport) :
  sock_(std::move(sock)),
  peers_(std::move(peers)), transport_(std::move(transport)) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0)
    throw std::runtime_error(std::string{"cannot start receive thread: "} + std::strerror(errno));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = sock_->fd();
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, sock_->fd(), &ev);
  ev.data.fd = wake_fd_;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  thread_ = std::thread{[this] { run(); }};
}

receive_loop::~receive_loop() {
  stop();
  close(wake_fd_);
  close(epoll_fd_);
}

void receive_loop::stop() {
  if (!thread_.joinable())
    return;
  uint64_t one = 1;
  [[maybe_unused]] auto n = write(wake_fd_, &one, sizeof(one));
  thread_.join();
  transport_ = nullptr;
}

void receive_loop::run() {
  epoll_event events[2];
  for (;;) {
    int n = epoll_wait(epoll_fd_, events, 2, -1);
    if (n < 0 && errno != EINTR)
      return;
    for (int i = 0; i < n; ++i) {
      if (events[i].data.fd == wake_fd_)
        return;
      dispatch();
    }
  }
}

void receive_loop::dispatch() {
  // Drain the socket; group each batch by sender so that a peer link gets
  // one actor message and one buffer per batch, not one per datagram.
  std::vector<std::pair<endpoint, packed_messages>> groups;
  for (;;) {
    const auto& batch = sock_->receive_batch();
    if (batch.empty())
      return;
    datagrams_.fetch_add(batch.size(), std::memory_order_relaxed);
    groups.clear();
    for (const auto& dg : batch) {
      auto pos = groups.begin();
      while (pos != groups.end() && pos->first != dg.from)
        ++pos;
      if (pos == groups.end())
        pos = groups.insert(groups.end(), {dg.from, {}});
      pos->second.add({dg.data, dg.size});
    }
    for (auto& [from, datagrams] : groups) {
      if (auto link = peers_->find(from))
        caf::anon_send(link, datagram_atom::value, std::move(datagrams));
      else
        caf::anon_send(transport_, datagram_atom::value, from.address, from.port,
                       std::move(datagrams));
    }
    if (!sock_->batch_was_full())
      return;
  }
}

} // namespace meshrt::transport
