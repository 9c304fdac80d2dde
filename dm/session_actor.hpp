#pragma once

#include <cstdint>
#include <string>

#include <caf/actor.hpp>
#include <caf/monitorable_actor.hpp>

namespace meshrt {

/// The actor of one connected user's session (user_session.hpp): an address
/// to send the session's messages to, to monitor and to link to. It is of
/// CAF's lightweight kind, a monitorable_actor like CAF's actor pools: it
/// has no mailbox or thread of its own and hands every message, with its
/// sender and request id, to the actor that holds the session's state (its
/// node's DM service) as (dm_session_call_atom, uid, id, message), where the
/// session's messages run one at a time. So a connected user costs a few
/// hundred bytes instead of a scheduled actor's kilobyte and more, and a
/// message to or from a user takes no actor hop of its own.
///
/// As an actor that does not trap exits, it ignores an exit message with
/// the normal reason; another reason disconnects the user (disconnect
/// messages, the location goes) and the actor ends with that reason.
class session_actor final : public caf::monitorable_actor {
public:
  session_actor(caf::actor_config& cfg, caf::strong_actor_ptr host, std::string uid, uint64_t id);

  /// Spawns the actor of session `id` of user `uid`, whose state `host` holds.
  static caf::actor make(caf::actor_system& sys, caf::strong_actor_ptr host, std::string uid,
                         uint64_t id);

  /// Hands `what` to the host (any thread).
  void enqueue(caf::mailbox_element_ptr what, caf::execution_unit* eu) override;

  const char* name() const override {
    return "meshrt.dm_session";
  }

  /// The session ended: those who monitor the actor or are linked to it
  /// hear `reason`. Later messages still reach the host, which answers a
  /// request to a session it no longer holds with an error.
  void end(caf::error reason);

protected:
  void on_destroy() override;

private:
  caf::strong_actor_ptr host_;
  std::string uid_;
  uint64_t id_;
};

} // namespace meshrt
