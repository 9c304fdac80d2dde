#pragma once

#include <mutex>
#include <unordered_map>

#include <caf/actor.hpp>

#include "transport/endpoint.hpp"

namespace meshrt::transport {

/// Which peer link serves which remote address. The transport actor writes,
/// the receive thread reads, so that datagrams of known peers go straight to
/// their peer link without a detour through the transport actor.
class link_directory {
public:
  /// The peer link of `peer`, or an invalid handle.
  caf::actor find(const endpoint& peer) const {
    std::lock_guard<std::mutex> guard{mx_};
    auto i = links_.find(peer);
    return i != links_.end() ? i->second : caf::actor{};
  }

  void add(const endpoint& peer, caf::actor link) {
    std::lock_guard<std::mutex> guard{mx_};
    links_.emplace(peer, std::move(link));
  }

  /// Forgets the link of `peer`: its next datagram goes to the transport.
  void remove(const endpoint& peer) {
    std::lock_guard<std::mutex> guard{mx_};
    links_.erase(peer);
  }

  /// Drops every handle, so the peer links can terminate.
  void clear() {
    std::lock_guard<std::mutex> guard{mx_};
    links_.clear();
  }

private:
  mutable std::mutex mx_;
  std::unordered_map<endpoint, caf::actor> links_;
};

} // namespace meshrt::transport
