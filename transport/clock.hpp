#pragma once

#include <algorithm>
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

/// The time from `now_us` until `deadline_us` as a request's timeout on the
/// wire: whole milliseconds, rounded up, at least 1 (whether the deadline
/// has passed is the caller's to check).
inline uint32_t wire_ms_until(uint64_t deadline_us, uint64_t now_us) {
  uint64_t left = deadline_us > now_us ? deadline_us - now_us : 0;
  uint64_t ms = left / 1000 + (left % 1000 != 0 ? 1 : 0);
  return static_cast<uint32_t>(std::clamp<uint64_t>(ms, 1, UINT32_MAX));
}

} // namespace meshrt
