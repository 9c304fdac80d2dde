#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <vector>

namespace meshrt::transport {

/// Percentages of outgoing datagrams to tamper with, for tests and
/// benchmarks. A seed makes every run with the same traffic the same run.
struct fault_options {
  double drop_percent = 0;
  double duplicate_percent = 0;
  double reorder_percent = 0;
  uint64_t seed = 1;

  bool active() const {
    return drop_percent > 0 || duplicate_percent > 0 || reorder_percent > 0;
  }
};

/// Sits between a session's output and the socket: drops, duplicates, or
/// holds a datagram back until after the next one (reordering).
class fault_injector {
public:
  using emit_fn = std::function<void(const uint8_t*, size_t)>;

  explicit fault_injector(fault_options opts);

  /// Passes one datagram through.
  void submit(const uint8_t* data, size_t size, const emit_fn& emit);

  /// Releases a held-back datagram, e.g. at the end of a flush.
  void release(const emit_fn& emit);

  uint64_t dropped() const {
    return dropped_;
  }

private:
  bool roll(double percent);

  fault_options opts_;
  std::mt19937_64 rng_;
  std::vector<uint8_t> held_;
  bool holding_ = false;
  uint64_t dropped_ = 0;
};

} // namespace meshrt::transport
