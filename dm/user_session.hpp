#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/error.hpp>
#include <caf/response_promise.hpp>
#include <caf/timespan.hpp>

#include "dm/dm_wire.hpp"
#include "dm/peer_table.hpp"
#include "transport/byte_buffer.hpp"

namespace caf {
class event_based_actor;
} // namespace caf

namespace meshrt {

struct dm_hooks;
class user_sink;

/// What a session needs of the actor it runs in (the node's DM service).
class session_host {
public:
  /// Gets what became of a delivery: the recipient's node's outcome and its
  /// address, or an error (then the outcome means nothing).
  using delivery_done = std::function<void(dm_outcome, const std::string& at, caf::error)>;

  virtual ~session_host() = default;

  /// The actor the sessions run in: requests to actor hooks leave from it.
  virtual caf::event_based_actor* actor() = 0;

  /// The hooks as they are now.
  virtual std::shared_ptr<const dm_hooks> hooks() = 0;

  /// Hands a message from `from` to `to` at the node `node`; with an empty
  /// `node`, together with its lookup (FindData) to the node that owns the
  /// location of `to`. `done` is called exactly once.
  virtual void deliver(const std::string& node, const std::string& from, const std::string& to,
                       uint8_t ver, uint16_t cmd, byte_buffer message, caf::timespan timeout,
                       delivery_done done)
    = 0;

  /// Closes the channel between `from` (a user here) and `to` at `node`,
  /// with a last message (maybe empty).
  virtual void close_channel(const std::string& node, close_reason reason, const std::string& from,
                             const std::string& to, uint8_t ver, uint16_t cmd, byte_buffer message)
    = 0;

  /// The session of `uid`, number `id`, closed: its location goes (unless
  /// a newer session of the user has it), then `done`.
  virtual void logout(const std::string& uid, uint64_t id, std::function<void()> done) = 0;
};

/// One connected user: its channel cache (peer user id -> the node the peer
/// is connected to) and its outgoing messages, one queue per peer. The head
/// of a queue goes to the node the cache names, else with its lookup to the
/// node that owns the peer's location (FindData), and is answered before
/// the next leaves, so messages from one user to another arrive in the
/// order sent, and a message is sent again only when the recipient's node
/// said it did not take it (exactly once). It runs the hooks of what the
/// user receives and of its disconnect.
///
/// A session lives in its node's DM service and runs in that actor's
/// thread; its actor (session_actor.hpp) is its address. Continuations
/// hold the session, so one that ended still finishes what it started
/// (without sending anything new).
class user_session : public std::enable_shared_from_this<user_session> {
public:
  /// `handle` is the session's actor; the user's messages go to `sink` or,
  /// when it is set, to `direct_sink`.
  user_session(session_host& host, std::string uid, uint64_t id, caf::actor handle, caf::actor sink,
               std::shared_ptr<user_sink> direct_sink);

  const std::string& uid() const {
    return uid_;
  }
  uint64_t id() const {
    return id_;
  }
  const caf::actor& handle() const {
    return handle_;
  }
  const caf::actor& sink() const {
    return sink_;
  }
  bool closing() const {
    return closing_;
  }

  // -- what the user asks (the messages of its actor) ------------------------------

  /// SendMessageByUserID: queues the message for `to`; `done` gets the
  /// outcome (no error: delivered). An error returned at once refuses it
  /// (then `done` is not called).
  caf::error send(std::string to, uint8_t ver, uint16_t cmd, byte_buffer message,
                  caf::timespan timeout, std::function<void(caf::error)> done);

  /// The same for a gateway connection: the outcome to its sink's
  /// send_result(seq, ...).
  void client_send(uint32_t seq, std::string to, uint8_t ver, uint16_t cmd, byte_buffer message,
                   caf::timespan timeout);

  /// ClearCacheByUserID (silent when nothing is cached).
  void clear(const std::string& peer, uint8_t ver, uint16_t cmd, byte_buffer message);

  /// The disconnect: every cached peer gets its on_user_disconnect message,
  /// the location goes, then `rp` is answered and the actor ends with
  /// `reason`.
  void disconnect(caf::response_promise rp, caf::error reason = caf::error{});

  // -- what the node hands it --------------------------------------------------------

  /// A message for this user from `from`, whose node is `origin`: through
  /// the hooks to the user; `done` gets what the sender's node hears.
  void incoming(std::string from, std::string origin, uint8_t ver, uint16_t cmd,
                byte_buffer message, std::function<void(dm_outcome)> done);

  /// `from` at `origin` closed its channel with this user.
  void channel(close_reason reason, std::string from, const std::string& origin, uint8_t ver,
               uint16_t cmd, byte_buffer message);

  /// The user logged in again on this node: this session ends quietly (no
  /// disconnect messages; the location is the new session's).
  void replaced(const std::string& why);

  /// The node's DM service stops: outgoing messages fail, the actor ends.
  void stop(caf::error reason, const std::string& why);

private:
  /// A message of this user waiting for, or in, its delivery.
  struct outgoing {
    uint8_t ver = 0;
    uint16_t cmd = 0;
    byte_buffer message;
    uint64_t deadline_us = 0;
    /// Gets the outcome (no error: delivered).
    std::function<void(caf::error)> done;
  };

  /// The messages to one peer: the head is in flight while `busy`. A list,
  /// since most queues hold one message for its round trip and then go:
  /// an empty deque already allocates its map and a block.
  struct peer_queue {
    std::list<outgoing> items;
    bool busy = false;
  };

  struct incoming_message;

  void receive(std::shared_ptr<const incoming_message> in, const std::string& origin,
               std::function<void(dm_outcome)> done);
  void accept_chain(std::shared_ptr<const incoming_message> in, std::function<void(bool)> done);
  void rewrite_chain(std::shared_ptr<const incoming_message> in,
                     std::function<void(byte_buffer)> done);
  void disconnect_chain(const std::string& peer, std::function<void(byte_buffer)> done);
  void run_clear_hooks(const std::string& cleared);
  void hand_to_user(const std::string& from, const std::string& origin, uint8_t ver, uint16_t cmd,
                    byte_buffer message, const std::function<void(dm_outcome)>& done);

  void to_sink(const std::string& from, uint8_t ver, uint16_t cmd, byte_buffer message);
  void peer_gone_to_sink(const std::string& peer, byte_buffer message);

  outgoing* head_of(const std::string& to);
  void pump(const std::string& to);
  /// How the head of a queue went out: to the node in the cache, with a
  /// lookup, or with a second lookup after the storage node could not do
  /// the first.
  enum class attempt : uint8_t { cached, lookup, lookup_again };
  void start_head(const std::string& to, const std::string& node, attempt how = attempt::lookup);
  void finish_head(const std::string& to, caf::error err);
  void settle(const std::string& to, dm_outcome outcome, const std::string& at, attempt how);
  void forget(const std::string& peer, const std::string& node);

  void fail_outgoing(const std::string& why);
  void notify_peers(std::shared_ptr<std::vector<std::pair<std::string, std::string>>> peers,
                    size_t i);
  void finish_close();
  void end_actor(caf::error reason);

  session_host& host_;
  std::string uid_;
  uint64_t id_;
  caf::actor handle_;
  caf::actor sink_;
  std::shared_ptr<user_sink> direct_sink_;
  peer_table<std::string> cache_;
  peer_table<peer_queue> queues_;
  /// Who waits for the disconnect, and the reason the actor ends with.
  std::vector<caf::response_promise> disconnect_promises_;
  caf::error end_reason_;
  bool closing_ = false;
};

} // namespace meshrt
