#pragma once

#include <chrono>
#include <thread>

namespace meshrt::test {

/// Calls `pred` every 20 ms until it holds or `limit` passes.
template<class Predicate>
bool eventually(Predicate pred, std::chrono::milliseconds limit = std::chrono::seconds{6}) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  return true;
}

} // namespace meshrt::test
