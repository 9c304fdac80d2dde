#pragma once

#include <chrono>
#include <cstdint>

namespace meshrt {

/// Monotonic microseconds: what the sans-I/O cores are fed as "now".
inline uint64_t steady_micros() {
  using namespace std::chrono;
  return static_cast<uint64_t>(
    duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count());
}

/// Wall-clock microseconds: larger in every later incarnation of a process,
/// which makes it a good epoch for sessions and registries.
inline uint64_t wall_micros() {
  using namespace std::chrono;
  return static_cast<uint64_t>(
    duration_cast<microseconds>(system_clock::now().time_since_epoch()).count());
}

} // namespace meshrt
