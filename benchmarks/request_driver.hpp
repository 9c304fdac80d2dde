#pragma once

// The load of the request benchmarks (rpc, store): an actor that keeps a
// window of requests outstanding and times each one.

#include <functional>
#include <vector>

namespace caf {
class actor_system;
class event_based_actor;
} // namespace caf

namespace meshrt::bench {

/// Issues one request from `self` and calls `done(ok)` when it is answered.
using issue_fn = std::function<void(caf::event_based_actor*, std::function<void(bool)>)>;

struct drive_result {
  double seconds = 0;
  /// The time of every request, issue to answer, in microseconds.
  std::vector<double> latencies_us;
  int failed = 0;
};

/// Runs `total` requests with `window` of them outstanding (the next one
/// goes as one is answered), within 60 s.
drive_result drive(caf::actor_system& sys, const issue_fn& issue, int total, int window);

} // namespace meshrt::bench
