#pragma once

#include <chrono>

namespace meshrt::transport {

/// How long a worker that ran out of work keeps looking for more before it
/// sleeps, adapted to how soon work comes after it ran dry. Sans-I/O: the
/// caller measures each idle time and passes it in.
///
/// The rule is that of Linux's haltpoll cpuidle governor, with which a
/// virtual machine's kernel polls before it halts an idle vCPU (its
/// defaults: from 50 us, doubling, at most 200 us): when work came after
/// the spin had ended but within the longest spin allowed, a longer spin
/// would have found it, so the window doubles; when it came later still,
/// spinning was for nothing, so the window halves, down to where it
/// started. Work found during the spin changes nothing. A conversation
/// whose messages come a little too far apart for the base window so gets
/// a worker that stays awake for it, and an idle worker spins only the
/// base window after each wake-up.
class idle_spin_window {
public:
  using duration = std::chrono::nanoseconds;

  /// A window that starts at `base` and grows to `max` at most (at least
  /// `base`); with `base` 0 (or less) the worker never spins.
  idle_spin_window(duration base, duration max);

  /// How long to look for work before sleeping.
  duration current() const noexcept {
    return current_;
  }

  /// The longest it may grow to.
  duration max() const noexcept {
    return max_;
  }

  /// Work came `idle` after the worker ran out of it: adapts current().
  void work_came_after(duration idle) noexcept;

private:
  duration base_;
  duration max_;
  duration current_;
};

} // namespace meshrt::transport
