#pragma once

#include <csignal>

namespace meshrt::cli {

/// SIGINT and SIGTERM, turned from asynchronous interrupts into something a
/// server's main thread waits for. Construct it before any thread starts
/// (the actor system's included): threads inherit the blocked mask, so the
/// signals wait for wait() instead of interrupting whichever thread.
class stop_signals {
public:
  stop_signals();

  /// Blocks until SIGINT or SIGTERM arrives; returns its number.
  int wait();

private:
  sigset_t set_;
};

} // namespace meshrt::cli
