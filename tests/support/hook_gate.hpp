#pragma once

// An on_receive_message actor hook that holds what it is asked until the
// test lets it go: a way to keep messages on their way for a while.

#include <atomic>
#include <memory>

#include <caf/actor.hpp>

namespace caf {
class actor_system;
} // namespace caf

namespace meshrt::test {

/// The gate's actor lives as long as this object: a test that fails
/// half-way still ends it (an actor left running keeps the actor system,
/// and so the test, from ending). A node waits for an actor hook at most
/// dm_hooks.hpp's hook_timeout (1 s), then takes the message.
class hook_gate {
public:
  explicit hook_gate(caf::actor_system& sys);
  ~hook_gate();

  hook_gate(const hook_gate&) = delete;
  hook_gate& operator=(const hook_gate&) = delete;

  /// The hook, for set_on_receive_message.
  const caf::actor& actor() const {
    return actor_;
  }

  /// The questions asked so far.
  int asked() const {
    return asked_->load();
  }

  /// Answers the questions held (`true`).
  void release();

  /// Answers those held and every later one at once.
  void open();

private:
  std::shared_ptr<std::atomic<int>> asked_;
  caf::actor actor_;
};

} // namespace meshrt::test
