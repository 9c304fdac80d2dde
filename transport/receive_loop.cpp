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
#include <spdlog/spdlog.h>

#include "transport/atoms.hpp"
#include "transport/clock.hpp"
#include "transport/io_poller.hpp"
#include "transport/logger.hpp"
#include "transport/packed_messages.hpp"
#include "transport/packet_guard.hpp"

namespace meshrt::transport {

namespace {

/// Batches of datagrams one turn in the I/O scheduler's worker reads before
/// the actors run again (a flood must not starve them; epoll reports the
/// rest at the next look).
constexpr size_t batches_per_turn = 4;

} // namespace

receive_loop::receive_loop(std::shared_ptr<udp_socket> sock, std::shared_ptr<link_directory> peers,
                           std::shared_ptr<packet_guard> guard, caf::actor transport,
                           io_poller* poller) :
  sock_(std::move(sock)),
  peers_(std::move(peers)), guard_(std::move(guard)), transport_(std::move(transport)),
  poller_(poller) {
  if (poller_ != nullptr) {
    poller_->watch(sock_->fd(), [this] { dispatch(batches_per_turn); });
    return;
  }
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
  if (wake_fd_ >= 0)
    close(wake_fd_);
  if (epoll_fd_ >= 0)
    close(epoll_fd_);
}

void receive_loop::stop() {
  if (poller_ != nullptr) {
    poller_->unwatch(sock_->fd());
    poller_ = nullptr; // stopped: a second stop() finds no thread either
    transport_ = nullptr;
    return;
  }
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
      dispatch(0);
    }
  }
}

void receive_loop::dispatch(size_t max_batches) {
  // Drain the socket; group each batch by sender so that a peer link gets
  // one actor message and one buffer per batch, not one per datagram.
  std::vector<std::pair<endpoint, packed_messages>> groups;
  for (size_t n = 0; max_batches == 0 || n < max_batches; ++n) {
    const auto& batch = sock_->receive_batch();
    if (sock_->has_unreachable())
      for (const auto& to : sock_->take_unreachable())
        caf::anon_send(transport_, unreachable_atom::value, to.address, to.port);
    if (batch.empty())
      return;
    datagrams_.fetch_add(batch.size(), std::memory_order_relaxed);
    groups.clear();
    for (const auto& dg : batch) {
      size_t size = dg.size;
      auto verdict = guard_->open(dg.from, dg.data, size);
      if (verdict != guard_verdict::pass) {
        refused(dg.from, verdict);
        continue;
      }
      auto pos = groups.begin();
      while (pos != groups.end() && pos->first != dg.from)
        ++pos;
      if (pos == groups.end())
        pos = groups.insert(groups.end(), {dg.from, {}});
      pos->second.add({dg.data, size});
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

void receive_loop::refused(const endpoint& from, guard_verdict verdict) {
  bool forged = verdict == guard_verdict::unauthenticated || verdict == guard_verdict::bad_mac;
  if (forged && guard_->should_refuse(from, steady_micros() / 1000)) {
    auto notice = packet_guard::refusal_notice();
    const uint8_t* packets[] = {notice.data()};
    size_t sizes[] = {notice.size()};
    sock_->send_batch(from, packets, sizes, 1);
  }
  // One line per sender and kind; bounded, as spoofed senders are many.
  auto id = (std::hash<endpoint>{}(from) << 3) ^ static_cast<uint64_t>(verdict);
  if (logged_.size() >= 1024 || !logged_.insert(id).second)
    return;
  const char* why = "";
  switch (verdict) {
    case guard_verdict::unauthenticated:
      why = "no cluster key MAC (the sender has no cluster key; this node requires one)";
      break;
    case guard_verdict::bad_mac:
      why = "a MAC that does not match (the sender has another cluster key, or the packet was "
            "altered)";
      break;
    case guard_verdict::replayed:
      why = "replayed (a packet number seen before)";
      break;
    case guard_verdict::stale_epoch:
      why = "from an earlier run of the sender (replayed)";
      break;
    case guard_verdict::unexpected_mac:
      why = "a cluster key MAC, but this node has no cluster key (clusterKeyFile)";
      break;
    case guard_verdict::unsupported_cipher:
      why = "sealed with AES-256-GCM, which this CPU cannot check (no AES instructions)";
      break;
    case guard_verdict::refused_by_peer:
      why = "a refusal: it does not take our packets (our cluster key differs from its own, or "
            "one of us has none)";
      break;
    case guard_verdict::pass:
      return;
  }
  logger("transport")->warn("dropping packets from {}: {}", from.to_string(), why);
}

} // namespace meshrt::transport
