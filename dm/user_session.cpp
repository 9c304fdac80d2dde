#include "dm/user_session.hpp"

#include <deque>
#include <functional>
#include <optional>
#include <unordered_map>
#include <vector>

#include <caf/all.hpp>

#include "actors/request_correlator.hpp"
#include "dm/dm_atoms.hpp"
#include "dm/dm_error.hpp"
#include "dm/dm_wire.hpp"
#include "transport/clock.hpp"

namespace meshrt {

namespace {

/// A message of this user waiting for, or in, its delivery.
struct outgoing {
  uint8_t ver = 0;
  uint16_t cmd = 0;
  byte_buffer message;
  uint64_t deadline_us = 0;
  /// Gets the outcome (no error: delivered).
  std::function<void(caf::error)> done;
};

/// The messages to one peer: the head is in flight while `busy`.
struct peer_queue {
  std::deque<outgoing> items;
  bool busy = false;
};

struct session_state {
  user_session_args args;
  /// Peer user id -> the mesh address of the node it is connected to.
  std::unordered_map<std::string, std::string> cache;
  std::unordered_map<std::string, peer_queue> queues;
  bool closing = false;
  std::vector<caf::response_promise> disconnect_promises;

  static inline const char* name = "meshrt.dm_session";
};

using session_actor = caf::stateful_actor<session_state>;

caf::timespan left_of(uint64_t deadline_us) {
  auto now = steady_micros();
  return std::chrono::microseconds{deadline_us > now ? deadline_us - now : 0};
}

// -- hooks -----------------------------------------------------------------------

/// Calls visit(hook, next) for each of `hooks` in order, where next() goes
/// on to the following one (an actor hook calls it from its answer), then
/// done(). `keep` holds the hook set while the chain runs.
template<class Hook>
void each_hook(std::shared_ptr<const dm_hooks> keep, const std::vector<Hook>* hooks, size_t i,
               std::function<void(const Hook&, std::function<void()>)> visit,
               std::function<void()> done) {
  if (i >= hooks->size()) {
    done();
    return;
  }
  auto next = [=] { each_hook(keep, hooks, i + 1, visit, done); };
  visit((*hooks)[i], next);
}

/// One message this user receives, as the hooks see it.
struct incoming {
  std::string from;
  uint8_t ver = 0;
  uint16_t cmd = 0;
  byte_buffer message;
};

/// The on_receive_message hooks: `done(true)` when none declined.
void accept_chain(session_actor* self, std::shared_ptr<const incoming> in,
                  std::function<void(bool)> done) {
  auto hooks = self->state.args.hooks->load();
  auto accepted = std::make_shared<bool>(true);
  auto uid = self->state.args.uid;
  each_hook<dm_hook<on_receive_message_fn>>(
    hooks, &hooks->on_receive_message, 0,
    [=](const dm_hook<on_receive_message_fn>& h, std::function<void()> next) {
      if (!*accepted)
        return next();
      if (!h.actor) {
        *accepted = h.fn(in->ver, in->cmd, in->message, in->from, uid);
        return next();
      }
      self
        ->request(h.actor, hook_timeout, dm_hook_receive_atom::value, in->ver, in->cmd, in->message,
                  in->from, uid)
        .await(
          [=](bool ok) {
            *accepted = ok;
            next();
          },
          [=](caf::error&) { next(); });
    },
    [=] { done(*accepted); });
}

/// The on_message hooks: `done` gets the message to hand on (the last
/// non-nullopt result, else the message as it came).
void rewrite_chain(session_actor* self, std::shared_ptr<const incoming> in,
                   std::function<void(byte_buffer)> done) {
  auto hooks = self->state.args.hooks->load();
  auto result = std::make_shared<std::optional<byte_buffer>>();
  auto uid = self->state.args.uid;
  each_hook<dm_hook<on_message_fn>>(
    hooks, &hooks->on_message, 0,
    [=](const dm_hook<on_message_fn>& h, std::function<void()> next) {
      if (!h.actor) {
        if (auto r = h.fn(in->ver, in->cmd, in->message, in->from, uid))
          *result = std::move(r);
        return next();
      }
      self
        ->request(h.actor, hook_timeout, dm_hook_message_atom::value, in->ver, in->cmd, in->message,
                  in->from, uid)
        .await(
          [=](bool replace, byte_buffer& msg) {
            if (replace)
              *result = std::move(msg);
            next();
          },
          [=](caf::error&) { next(); });
    },
    [=] { done(*result ? std::move(**result) : in->message); });
}

/// The on_user_disconnect hooks for `peer`: the last non-empty message.
void disconnect_chain(session_actor* self, const std::string& peer,
                      std::function<void(byte_buffer)> done) {
  auto hooks = self->state.args.hooks->load();
  auto result = std::make_shared<byte_buffer>();
  auto uid = self->state.args.uid;
  each_hook<dm_hook<on_user_disconnect_fn>>(
    hooks, &hooks->on_user_disconnect, 0,
    [=](const dm_hook<on_user_disconnect_fn>& h, std::function<void()> next) {
      if (!h.actor) {
        if (auto r = h.fn(uid, peer); !r.empty())
          *result = std::move(r);
        return next();
      }
      self->request(h.actor, hook_timeout, dm_hook_disconnect_atom::value, uid, peer)
        .await(
          [=](byte_buffer& msg) {
            if (!msg.empty())
              *result = std::move(msg);
            next();
          },
          [=](caf::error&) { next(); });
    },
    [=] { done(std::move(*result)); });
}

/// The on_clear_cache hooks: `cleared` left this user's channel.
void run_clear_hooks(session_actor* self, const std::string& cleared) {
  auto hooks = self->state.args.hooks->load();
  for (const auto& h : hooks->on_clear_cache) {
    if (h.actor)
      self->send(h.actor, dm_hook_clear_atom::value, cleared, self->state.args.uid);
    else
      h.fn(cleared, self->state.args.uid);
  }
}

// -- the sink ----------------------------------------------------------------------

void to_sink(session_actor* self, const std::string& from, uint8_t ver, uint16_t cmd,
             byte_buffer message) {
  auto& args = self->state.args;
  if (args.direct_sink)
    args.direct_sink->message(from, ver, cmd, std::move(message));
  else
    self->send(args.sink, dm_message_atom::value, from, ver, cmd, std::move(message));
}

void peer_gone_to_sink(session_actor* self, const std::string& peer, byte_buffer message) {
  auto& args = self->state.args;
  if (args.direct_sink)
    args.direct_sink->peer_gone(peer, std::move(message));
  else
    self->send(args.sink, dm_peer_gone_atom::value, peer, std::move(message));
}

void closed_to_sink(session_actor* self, const std::string& why) {
  auto& args = self->state.args;
  if (args.direct_sink)
    args.direct_sink->closed(why);
  else
    self->send(args.sink, dm_closed_atom::value, why);
}

/// What this user receives: through the hooks to the sink. `done` gets the
/// outcome the sender's node hears.
void receive(session_actor* self, std::shared_ptr<const incoming> in, const std::string& origin,
             std::function<void(dm_outcome)> done) {
  accept_chain(self, in, [=](bool accepted) {
    if (!accepted)
      return done(dm_outcome::declined);
    rewrite_chain(self, in, [=](byte_buffer out) {
      auto& st = self->state;
      st.cache[in->from] = origin; // the reverse channel: answers need no lookup
      if (out.empty())
        return done(dm_outcome::dropped);
      to_sink(self, in->from, in->ver, in->cmd, std::move(out));
      done(dm_outcome::delivered);
    });
  });
}

// -- sending ---------------------------------------------------------------------

void pump(session_actor* self, const std::string& to);
void find(session_actor* self, const std::string& to);

outgoing* head_of(session_actor* self, const std::string& to) {
  auto i = self->state.queues.find(to);
  if (i == self->state.queues.end() || i->second.items.empty())
    return nullptr;
  return &i->second.items.front();
}

/// Answers the head of `to`'s queue (no error: sent) and starts the next.
void finish_head(session_actor* self, const std::string& to, caf::error err) {
  auto i = self->state.queues.find(to);
  if (i == self->state.queues.end() || i->second.items.empty())
    return;
  auto& head = i->second.items.front();
  head.done(std::move(err));
  i->second.items.pop_front();
  i->second.busy = false;
  pump(self, to);
}

void forget(session_actor* self, const std::string& peer, const std::string& node) {
  auto& cache = self->state.cache;
  if (auto i = cache.find(peer); i != cache.end() && i->second == node)
    cache.erase(i);
}

/// What the head of `to`'s queue came to: `at` is the node the recipient
/// was looked for at (empty when the store had no location).
void settle(session_actor* self, const std::string& to, dm_outcome outcome, const std::string& at,
            bool from_cache) {
  switch (outcome) {
    case dm_outcome::delivered:
    case dm_outcome::dropped:
      self->state.cache[to] = at;
      return finish_head(self, to, {});
    case dm_outcome::not_here:
      forget(self, to, at);
      if (from_cache)
        return find(self, to); // stale: one fresh lookup
      return finish_head(
        self, to, make_error(dm_errc::user_not_found, "user " + to + " is not connected to " + at));
    case dm_outcome::declined:
      return finish_head(
        self, to, make_error(dm_errc::user_not_found, "user " + to + " did not take the message"));
    case dm_outcome::unknown_user:
      return finish_head(
        self, to,
        make_error(dm_errc::user_not_found, "user " + to + " is not connected to the cluster"));
    case dm_outcome::lookup_failed:
      return finish_head(
        self, to,
        make_error(dm_errc::reliable_timeout, "the storage node could not look up user " + to));
  }
  finish_head(self, to, make_error(dm_errc::reliable_timeout, "an unknown answer for " + to));
}

/// The request's failure as the sender hears it, and the cache forgets
/// `node` for `to` (when named).
void settle_error(session_actor* self, const std::string& to, const std::string& node,
                  caf::error err) {
  if (!node.empty())
    forget(self, to, node);
  if (dm_code_of(err) == 0)
    err = make_error(dm_errc::reliable_timeout,
                     "delivering to user " + to + ": " + self->system().render(err));
  finish_head(self, to, std::move(err));
}

/// The head goes to the node the cache names for `to`.
void deliver(session_actor* self, const std::string& to, const std::string& node) {
  auto& st = self->state;
  auto* head = head_of(self, to);
  if (head == nullptr)
    return;
  self
    ->request(st.args.service, caf::infinite, dm_deliver_atom::value, node, st.args.uid, to,
              head->ver, head->cmd, head->message, left_of(head->deadline_us))
    .then([=](uint8_t outcome,
              std::string& at) { settle(self, to, static_cast<dm_outcome>(outcome), at, true); },
          [=](caf::error& err) { settle_error(self, to, node, std::move(err)); });
}

/// The head goes with its lookup (FindData): to the node that owns the
/// recipient's location, which hands it on to the recipient's node.
void find(session_actor* self, const std::string& to) {
  auto& st = self->state;
  auto* head = head_of(self, to);
  if (head == nullptr)
    return;
  self
    ->request(st.args.service, caf::infinite, dm_find_atom::value, st.args.uid, to, head->ver,
              head->cmd, head->message, left_of(head->deadline_us))
    .then([=](uint8_t outcome,
              std::string& at) { settle(self, to, static_cast<dm_outcome>(outcome), at, false); },
          [=](caf::error& err) { settle_error(self, to, {}, std::move(err)); });
}

/// Starts the head of `to`'s queue unless one is in flight; drops heads
/// whose time ran out while they waited.
void pump(session_actor* self, const std::string& to) {
  auto& st = self->state;
  auto i = st.queues.find(to);
  if (i == st.queues.end() || i->second.busy)
    return;
  auto& q = i->second;
  auto now = steady_micros();
  while (!q.items.empty() && q.items.front().deadline_us <= now) {
    q.items.front().done(make_error(dm_errc::reliable_timeout,
                                    "the message waited for the ones before it past its timeout"));
    q.items.pop_front();
  }
  if (q.items.empty()) {
    st.queues.erase(i);
    return;
  }
  q.busy = true;
  if (auto c = st.cache.find(to); c != st.cache.end())
    deliver(self, to, c->second);
  else
    find(self, to);
}

// -- the end -------------------------------------------------------------------------

void fail_outgoing(session_actor* self, const std::string& why) {
  for (auto& [to, q] : self->state.queues)
    for (auto& item : q.items)
      item.done(make_error(dm_errc::reliable_timeout, why));
  self->state.queues.clear();
}

void finish_close(session_actor* self) {
  auto& st = self->state;
  self->request(st.args.service, caf::infinite, dm_logout_atom::value, st.args.uid)
    .then(
      [=] {
        for (auto& rp : self->state.disconnect_promises)
          rp.deliver(caf::unit);
        self->quit();
      },
      [=](caf::error& err) {
        for (auto& rp : self->state.disconnect_promises)
          rp.deliver(err);
        self->quit();
      });
}

/// Sends each cached peer its disconnect message, one after the other: in
/// a loop while the hooks answer at once (functions), from an actor hook's
/// answer otherwise, so a user with many peers does not deepen the stack.
void notify_peers(session_actor* self,
                  std::shared_ptr<std::vector<std::pair<std::string, std::string>>> peers,
                  size_t i) {
  for (; i < peers->size(); ++i) {
    auto in_loop = std::make_shared<bool>(true);
    auto done_now = std::make_shared<bool>(false);
    disconnect_chain(self, (*peers)[i].first, [=](byte_buffer msg) {
      const auto& [peer, node] = (*peers)[i];
      self->send(self->state.args.service, dm_channel_atom::value, node,
                 static_cast<uint8_t>(close_reason::disconnect), self->state.args.uid, peer,
                 uint8_t{0}, uint16_t{0}, std::move(msg));
      if (*in_loop)
        *done_now = true; // the loop goes on
      else
        notify_peers(self, peers, i + 1);
    });
    *in_loop = false;
    if (!*done_now)
      return; // an actor hook answers later and goes on from there
  }
  finish_close(self);
}

void close(session_actor* self) {
  auto& st = self->state;
  if (st.closing)
    return;
  st.closing = true;
  fail_outgoing(self, "the sender disconnected before the message was delivered");
  auto peers = std::make_shared<std::vector<std::pair<std::string, std::string>>>(st.cache.begin(),
                                                                                  st.cache.end());
  st.cache.clear();
  notify_peers(self, peers, 0);
}

/// SendMessageByUserID: queues the message for `to` (`done` gets the
/// outcome), or refuses it at once.
caf::error enqueue_send(session_actor* self, std::string& to, uint8_t ver, uint16_t cmd,
                        byte_buffer& message, caf::timespan timeout,
                        std::function<void(caf::error)> done) {
  auto& st = self->state;
  if (message.empty())
    return make_error(dm_errc::message_nil, "an empty message is not sent");
  if (!valid_user_id(to))
    return make_error(dm_errc::user_not_found,
                      "a user id has 1 to 256 bytes, not " + std::to_string(to.size()));
  if (st.closing)
    return make_error(dm_errc::reliable_timeout, "the sender is disconnecting");
  auto deadline = steady_micros() + uint64_t{wire_timeout_ms(timeout)} * 1000;
  st.queues[to].items.push_back(outgoing{ver, cmd, std::move(message), deadline, std::move(done)});
  pump(self, to);
  return {};
}

caf::behavior user_session(session_actor* self, user_session_args args) {
  self->state.args = std::move(args);
  // The session ends with the DM service (whatever ends it), and with an
  // actor sink.
  self->monitor(self->state.args.service);
  if (!self->state.args.direct_sink)
    self->monitor(self->state.args.sink);
  self->set_down_handler([=](caf::down_msg& msg) {
    if (msg.source == self->state.args.service) {
      fail_outgoing(self, "the node's DM service stopped");
      self->quit(msg.reason);
    } else if (msg.source == self->state.args.sink) {
      close(self); // the connection dropped
    }
  });
  return {
    [=](dm_send_atom, std::string& to, uint8_t ver, uint16_t cmd, byte_buffer& message,
        caf::timespan timeout) -> caf::result<void> {
      auto rp = self->make_response_promise();
      auto err = enqueue_send(self, to, ver, cmd, message, timeout, [rp](caf::error e) mutable {
        if (e)
          rp.deliver(std::move(e));
        else
          rp.deliver(caf::unit);
      });
      if (err)
        rp.deliver(std::move(err));
      return rp;
    },
    [=](dm_client_send_atom, uint32_t seq, std::string& to, uint8_t ver, uint16_t cmd,
        byte_buffer& message, caf::timespan timeout) {
      auto sink = self->state.args.direct_sink;
      if (!sink)
        return;
      auto report = [self, sink, seq](const caf::error& e) {
        if (!e)
          return sink->send_result(seq, 0, {});
        auto code = dm_code_of(e);
        sink->send_result(seq, code != 0 ? code : static_cast<uint8_t>(dm_errc::reliable_timeout),
                          self->system().render(e));
      };
      if (auto err = enqueue_send(self, to, ver, cmd, message, timeout, report))
        report(err);
    },
    [=](dm_clear_atom, std::string& peer, uint8_t ver, uint16_t cmd, byte_buffer& message) {
      auto& st = self->state;
      auto i = st.cache.find(peer);
      if (i == st.cache.end())
        return; // nothing cached: fails silently, as the reference says
      auto node = i->second;
      st.cache.erase(i);
      self->send(st.args.service, dm_channel_atom::value, node,
                 static_cast<uint8_t>(close_reason::clear), st.args.uid, peer, ver, cmd,
                 std::move(message));
    },
    [=](dm_disconnect_atom) -> caf::result<void> {
      auto rp = self->make_response_promise();
      self->state.disconnect_promises.push_back(rp);
      close(self);
      return rp;
    },
    // -- from the DM service ------------------------------------------------------
    [=](dm_incoming_atom, std::string& from, std::string& origin, uint8_t ver, uint16_t cmd,
        byte_buffer& message) -> caf::result<uint8_t> {
      if (self->state.closing)
        return static_cast<uint8_t>(dm_outcome::not_here);
      auto rp = self->make_response_promise();
      auto in = std::make_shared<const incoming>(incoming{from, ver, cmd, std::move(message)});
      receive(self, in, origin,
              [rp](dm_outcome outcome) mutable { rp.deliver(static_cast<uint8_t>(outcome)); });
      return rp;
    },
    [=](dm_channel_atom, uint8_t reason, std::string& from, std::string& origin, uint8_t ver,
        uint16_t cmd, byte_buffer& message) {
      auto& st = self->state;
      if (st.closing)
        return;
      forget(self, from, origin);
      if (static_cast<close_reason>(reason) == close_reason::disconnect) {
        bool quiet = message.empty();
        peer_gone_to_sink(self, from, std::move(message));
        if (quiet)
          run_clear_hooks(self, from);
        return;
      }
      if (message.empty())
        return run_clear_hooks(self, from);
      // ClearCacheByUserID's last message: a DM like any other, after which
      // the channel stays closed.
      auto in = std::make_shared<const incoming>(incoming{from, ver, cmd, std::move(message)});
      receive(self, in, origin, [=](dm_outcome) { forget(self, from, origin); });
    },
    [=](dm_closed_atom, std::string& why) {
      // The same user logged in again on this node: that session has the
      // location now, and the peers keep talking to the user there.
      fail_outgoing(self, why);
      closed_to_sink(self, why);
      self->quit();
    },
  };
}

} // namespace

caf::actor spawn_user_session(caf::actor_system& sys, user_session_args args) {
  return sys.spawn(user_session, std::move(args));
}

} // namespace meshrt
