#pragma once

// Network namespaces for chaos runs: MARS and nodes each in a namespace of
// their own, on addresses of their own, joined to this host by veth pairs
// on one bridge, with real packet loss from nftables (`numgen random`)
// inside each namespace. Needs root, `ip` (iproute2) and `nft` (nftables);
// unavailable() says in one line what is missing. Everything made is
// removed again by the destructor.
//
//            this host: bridge mrtb<id>, 10.A.B.1/24 (the runner's guests)
//              |            |              |
//   namespace meshrt-<id>-0 -1 ...        -N: veth "mesh0", 10.A.B.(i+2)/24

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace meshrt::bench {

/// A bridge on this host and `count` network namespaces hanging off it.
class netns_lab {
public:
  /// The interface every namespace reaches the others through (a node
  /// there finds its address with `"nic": "mesh0"`).
  static constexpr const char* interface = "mesh0";

  /// "" if this machine can build a lab (it builds a small one and removes
  /// it), else one line saying why not.
  static std::string unavailable();

  /// Builds the bridge and the namespaces. Throws std::runtime_error with
  /// the command that failed and what it printed.
  explicit netns_lab(size_t count);

  ~netns_lab();

  netns_lab(const netns_lab&) = delete;
  netns_lab& operator=(const netns_lab&) = delete;

  size_t size() const {
    return count_;
  }

  /// This host's address on the bridge.
  std::string host_address() const;

  /// The address of namespace `i`.
  std::string address(size_t i) const;

  /// The name of namespace `i`.
  std::string name(size_t i) const;

  /// The command that runs `args` (a program and its arguments) in
  /// namespace `i`.
  std::vector<std::string> command_in(size_t i, std::vector<std::string> args) const;

  /// Drops `percent` (0 to 100, in hundredths) of the UDP datagrams that
  /// leave each namespace and of those that enter it from this host: every
  /// datagram between two parties crosses one such rule. 0 lifts it.
  void set_drop(double percent);

  /// The datagrams those rules dropped so far, in every namespace.
  uint64_t dropped() const;

private:
  /// Removes what the constructor made.
  void teardown();

  size_t count_;
  std::string id_;
  int subnet_a_;
  int subnet_b_;
  std::string scratch_;  // a directory for command output
  uint64_t dropped_ = 0; // by rules set_drop replaced
};

} // namespace meshrt::bench
