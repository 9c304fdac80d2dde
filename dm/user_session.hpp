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

  /// Messages to one peer out at once, at most (dm_config).
  virtual uint32_t messages_out_per_peer() const = 0;

  /// Hands a message from `from` to `to` at the node `node`; with an empty
  /// `node`, together with its lookup (FindData) to the node that owns the
  /// location of `to`. `pos` is its place in its stream. `done` is called
  /// exactly once.
  virtual void deliver(const std::string& node, const std::string& from, const std::string& to,
                       const dm_stream_pos& pos, uint8_t ver, uint16_t cmd, byte_buffer message,
                       caf::timespan timeout, delivery_done done)
    = 0;

  /// The node a hint (location_hints.hpp) names for `uid`, a user of
  /// another node, or nullptr: a first message may go straight there.
  virtual const std::string* hinted_node(const std::string& uid) = 0;

  /// The hint that `uid` is at `node` was wrong: that node answered
  /// `not_here`.
  virtual void hint_missed(const std::string& uid, const std::string& node) = 0;

  /// Tells `to` at `node` that `from` (a user here) disconnected, with its
  /// disconnect message (maybe empty): their channel closes.
  virtual void send_disconnect(const std::string& node, const std::string& from,
                               const std::string& to, byte_buffer message)
    = 0;

  /// The session of `uid`, number `id`, closed: its location goes (unless
  /// a newer session of the user has it), then `done`.
  virtual void logout(const std::string& uid, uint64_t id, std::function<void()> done) = 0;
};

/// One connected user: its channel cache (peer user id -> the node the peer
/// is connected to) and its outgoing messages, one queue per peer. The
/// messages of a queue go to the node the cache names, up to
/// `messages_out_per_peer` of them at once (a stream, dm_stream_pos, whose order
/// the recipient's session keeps); without a cached node the oldest goes
/// alone, to the node a hint names or with its lookup to the node that owns
/// the peer's location (FindData), and the rest follow once its answer
/// filled the cache. A message the recipient's node did not take (the user
/// moved, or one before it was not taken) goes again once every message out
/// before it was answered: so messages from one user to another arrive in
/// the order sent, and each at most once. It runs the hooks of what the
/// user receives, in order per sender, and of its disconnect.
///
/// A session lives in its node's DM service and runs in that actor's
/// thread; its actor (session_actor.hpp) is its address. Continuations
/// hold the session, so one that ended still finishes what it started
/// (without sending anything new).
class user_session : public std::enable_shared_from_this<user_session> {
public:
  /// `handle` is the session's actor; the user's messages go to `sink` or,
  /// when it is set, to `direct_sink`. `stream` (not 0) names the streams
  /// of the messages it sends, unique in the cluster.
  user_session(session_host& host, std::string uid, uint64_t id, uint64_t stream, caf::actor handle,
               caf::actor sink, std::shared_ptr<user_sink> direct_sink);

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
  caf::error send(const std::string& to, uint8_t ver, uint16_t cmd, byte_buffer message,
                  caf::timespan timeout, std::function<void(caf::error)> done);

  /// The same for a gateway connection: the outcome to its sink's
  /// send_result(seq, ...).
  void client_send(uint32_t seq, const std::string& to, uint8_t ver, uint16_t cmd,
                   byte_buffer message, caf::timespan timeout);

  /// ClearCacheByUserID (silent when nothing is cached), after the messages
  /// to `peer` still waiting or out: its last message is the last. `done`,
  /// if any, is called once the clear has left the queue, gone or failed.
  void clear(const std::string& peer, uint8_t ver, uint16_t cmd, byte_buffer message,
             std::function<void(caf::error)> done = nullptr);

  /// The same for a gateway connection: its end to the sink's cleared().
  void client_clear(const std::string& peer, uint8_t ver, uint16_t cmd, byte_buffer message);

  /// The disconnect: every cached peer gets its on_user_disconnect message,
  /// the location goes, then `rp` is answered and the actor ends with
  /// `reason`.
  void disconnect(caf::response_promise rp, caf::error reason = caf::error{});

  // -- what the node hands it --------------------------------------------------------

  /// A message for this user from `from`, whose node is `origin`, at `pos`
  /// in its stream: through the hooks to the user; `done` gets what the
  /// sender's node hears. An empty one that `closes` is a
  /// ClearCacheByUserID without a last message: the channel closes and the
  /// on_clear_cache hooks run.
  void incoming(std::string from, std::string origin, const dm_stream_pos& pos, uint8_t ver,
                uint16_t cmd, byte_buffer message, std::function<void(dm_outcome)> done);

  /// `from` at `origin` disconnected: its channel with this user closes,
  /// with its disconnect message (maybe empty: the on_clear_cache hooks run
  /// instead).
  void peer_disconnected(const std::string& from, const std::string& origin, byte_buffer message);

  /// The user logged in again on this node: this session ends quietly (no
  /// disconnect messages; the location is the new session's).
  void replaced(const std::string& why);

  /// The node's DM service stops: outgoing messages fail, the actor ends.
  void stop(caf::error reason, const std::string& why);

private:
  /// How a message goes out: to the node in the cache (when none is
  /// cached, to the node a hint names or with a lookup), to the node a
  /// hint names (alone, as a lookup goes; `not_here` sends it again with a
  /// lookup), with a lookup, or with a second lookup after the storage
  /// node could not do the first.
  enum class attempt : uint8_t { cached, hinted, lookup, lookup_again };

  /// A message of this user waiting for, or in, its delivery.
  struct outgoing {
    uint8_t ver = 0;
    uint16_t cmd = 0;
    byte_buffer message;
    uint64_t deadline_us = 0;
    /// Gets the outcome (no error: delivered).
    std::function<void(caf::error)> done;
    /// Its number in the session's streams.
    uint32_t seq = 0;
    /// How it goes out next.
    attempt next = attempt::cached;
    /// Out, its answer awaited.
    bool out = false;
    /// ClearCacheByUserID, whose turn comes after the messages before it:
    /// the channel closes, with `message` (if any) as its last one, sent
    /// as the stream's next message (dm_stream_pos::closes; empty: the
    /// clear alone) and answered like one, so what comes after it waits.
    /// Dropped when nothing is cached at its turn. No `done`;
    /// `deadline_us` UINT64_MAX until its turn.
    bool clears = false;
  };

  /// The messages to one peer, oldest first: those out, then those
  /// waiting. A list, since most queues hold one message for its round
  /// trip and then go: an empty deque already allocates its map and a
  /// block.
  struct peer_queue {
    std::list<outgoing> items;
    /// Of the items, out.
    uint32_t out = 0;
    /// The oldest is out with its lookup: the rest wait for the node it
    /// finds.
    bool looking = false;
    /// One was not taken: none goes until those out are answered.
    bool halted = false;
    /// pump() runs for this queue; `again`: a call from within it asked
    /// for another look.
    bool pumping = false;
    bool again = false;
  };

  /// A peer in the channel cache: the node it is connected to (empty: not
  /// known), and the last message of its stream to this user that this
  /// session took (stream 0: none yet).
  struct cached_peer {
    std::string node;
    uint64_t stream = 0;
    uint32_t last = 0;
  };

  struct incoming_message;

  bool take_in_order(const std::string& from, const dm_stream_pos& pos);
  void receive_in_turn(const std::shared_ptr<const incoming_message>& in, std::string origin,
                       std::function<void(dm_outcome)> done);
  void next_in_turn(const std::string& from);
  void receive(const std::shared_ptr<const incoming_message>& in, const std::string& origin,
               const std::function<void(dm_outcome)>& done);
  void accept_chain(const std::shared_ptr<const incoming_message>& in,
                    const std::function<void(bool)>& done);
  void rewrite_chain(const std::shared_ptr<const incoming_message>& in,
                     const std::function<void(byte_buffer)>& done);
  void disconnect_chain(const std::string& peer, const std::function<void(byte_buffer)>& done);
  void run_clear_hooks(const std::string& cleared);
  void hand_to_user(const std::string& from, const std::string& origin, uint8_t ver, uint16_t cmd,
                    byte_buffer message, const std::function<void(dm_outcome)>& done);

  void to_sink(const std::string& from, uint8_t ver, uint16_t cmd, byte_buffer message);
  void peer_gone_to_sink(const std::string& peer, byte_buffer message);

  const std::string* cached_node(const std::string& peer);
  void set_node(const std::string& peer, const std::string& node);
  void forget(const std::string& peer, const std::string& node);

  void pump(const std::string& to);
  bool start_next(const std::string& to);
  void answered(const std::string& to, uint32_t seq, attempt how, bool first,
                const std::string& node, dm_outcome outcome, const std::string& at, caf::error err);
  void finish(const std::string& to, std::list<outgoing>::iterator item, caf::error err);
  void send_again(const std::string& to, std::list<outgoing>::iterator item, bool first);

  void fail_outgoing(const std::string& why);
  void notify_peers(const std::shared_ptr<std::vector<std::pair<std::string, std::string>>>& peers,
                    size_t i);
  void finish_close();
  void end_actor(caf::error reason);

  session_host& host_;
  std::string uid_;
  uint64_t id_;
  caf::actor handle_;
  caf::actor sink_;
  std::shared_ptr<user_sink> direct_sink_;
  uint64_t stream_;
  uint32_t next_seq_ = 0;
  peer_table<cached_peer> cache_;
  peer_table<peer_queue> queues_;
  /// The senders whose message is in the hooks now, each with the
  /// messages that wait for it (only while hooks are set).
  peer_table<std::list<std::function<void()>>> receiving_;
  /// Who waits for the disconnect, and the reason the actor ends with.
  std::vector<caf::response_promise> disconnect_promises_;
  caf::error end_reason_;
  bool closing_ = false;
};

} // namespace meshrt
