#include "dm/user_session.hpp"

#include <optional>

#include <caf/all.hpp>

#include "actors/request_correlator.hpp"
#include "dm/dm_atoms.hpp"
#include "dm/dm_error.hpp"
#include "dm/dm_hooks.hpp"
#include "dm/session_actor.hpp"
#include "dm/user_sink.hpp"
#include "transport/clock.hpp"

namespace meshrt {

namespace {

caf::timespan left_of(uint64_t deadline_us) {
  auto now = steady_micros();
  return std::chrono::microseconds{deadline_us > now ? deadline_us - now : 0};
}

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

} // namespace

/// One message this user receives, as the hooks see it.
struct user_session::incoming_message {
  std::string from;
  uint8_t ver = 0;
  uint16_t cmd = 0;
  byte_buffer message;
};

user_session::user_session(session_host& host, std::string uid, uint64_t id, caf::actor handle,
                           caf::actor sink, std::shared_ptr<user_sink> direct_sink) :
  host_(host),
  uid_(std::move(uid)), id_(id), handle_(std::move(handle)), sink_(std::move(sink)),
  direct_sink_(std::move(direct_sink)) {}

// -- hooks -----------------------------------------------------------------------

/// The on_receive_message hooks: `done(true)` when none declined.
void user_session::accept_chain(std::shared_ptr<const incoming_message> in,
                                std::function<void(bool)> done) {
  auto hooks = host_.hooks();
  if (hooks->on_receive_message.empty())
    return done(true);
  auto accepted = std::make_shared<bool>(true);
  auto self = shared_from_this();
  each_hook<dm_hook<on_receive_message_fn>>(
    hooks, &hooks->on_receive_message, 0,
    [=](const dm_hook<on_receive_message_fn>& h, std::function<void()> next) {
      if (!*accepted)
        return next();
      if (!h.actor) {
        *accepted = h.fn(in->ver, in->cmd, in->message, in->from, self->uid_);
        return next();
      }
      self->host_.actor()
        ->request(h.actor, hook_timeout, dm_hook_receive_atom::value, in->ver, in->cmd, in->message,
                  in->from, self->uid_)
        .then(
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
void user_session::rewrite_chain(std::shared_ptr<const incoming_message> in,
                                 std::function<void(byte_buffer)> done) {
  auto hooks = host_.hooks();
  if (hooks->on_message.empty())
    return done(in->message);
  auto result = std::make_shared<std::optional<byte_buffer>>();
  auto self = shared_from_this();
  each_hook<dm_hook<on_message_fn>>(
    hooks, &hooks->on_message, 0,
    [=](const dm_hook<on_message_fn>& h, std::function<void()> next) {
      if (!h.actor) {
        if (auto r = h.fn(in->ver, in->cmd, in->message, in->from, self->uid_))
          *result = std::move(r);
        return next();
      }
      self->host_.actor()
        ->request(h.actor, hook_timeout, dm_hook_message_atom::value, in->ver, in->cmd, in->message,
                  in->from, self->uid_)
        .then(
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
void user_session::disconnect_chain(const std::string& peer,
                                    std::function<void(byte_buffer)> done) {
  auto hooks = host_.hooks();
  auto result = std::make_shared<byte_buffer>();
  auto self = shared_from_this();
  each_hook<dm_hook<on_user_disconnect_fn>>(
    hooks, &hooks->on_user_disconnect, 0,
    [=](const dm_hook<on_user_disconnect_fn>& h, std::function<void()> next) {
      if (!h.actor) {
        if (auto r = h.fn(self->uid_, peer); !r.empty())
          *result = std::move(r);
        return next();
      }
      self->host_.actor()
        ->request(h.actor, hook_timeout, dm_hook_disconnect_atom::value, self->uid_, peer)
        .then(
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
void user_session::run_clear_hooks(const std::string& cleared) {
  auto hooks = host_.hooks();
  for (const auto& h : hooks->on_clear_cache) {
    if (h.actor)
      host_.actor()->send(h.actor, dm_hook_clear_atom::value, cleared, uid_);
    else
      h.fn(cleared, uid_);
  }
}

// -- the sink ----------------------------------------------------------------------

void user_session::to_sink(const std::string& from, uint8_t ver, uint16_t cmd,
                           byte_buffer message) {
  if (direct_sink_)
    direct_sink_->message(from, ver, cmd, std::move(message));
  else
    host_.actor()->send(sink_, dm_message_atom::value, from, ver, cmd, std::move(message));
}

void user_session::peer_gone_to_sink(const std::string& peer, byte_buffer message) {
  if (direct_sink_)
    direct_sink_->peer_gone(peer, std::move(message));
  else
    host_.actor()->send(sink_, dm_peer_gone_atom::value, peer, std::move(message));
}

// -- receiving -------------------------------------------------------------------

void user_session::receive(std::shared_ptr<const incoming_message> in, const std::string& origin,
                           std::function<void(dm_outcome)> done) {
  auto self = shared_from_this();
  accept_chain(in, [=](bool accepted) {
    if (!accepted)
      return done(dm_outcome::declined);
    self->rewrite_chain(in, [=](byte_buffer out) {
      self->hand_to_user(in->from, origin, in->ver, in->cmd, std::move(out), done);
    });
  });
}

/// The message as the hooks left it goes to the user.
void user_session::hand_to_user(const std::string& from, const std::string& origin, uint8_t ver,
                                uint16_t cmd, byte_buffer message,
                                const std::function<void(dm_outcome)>& done) {
  if (closing_) // it disconnected while the hooks ran
    return done(dm_outcome::not_here);
  cache_[from] = origin; // the reverse channel: answers need no lookup
  if (message.empty())
    return done(dm_outcome::dropped);
  to_sink(from, ver, cmd, std::move(message));
  done(dm_outcome::delivered);
}

void user_session::incoming(std::string from, std::string origin, uint8_t ver, uint16_t cmd,
                            byte_buffer message, std::function<void(dm_outcome)> done) {
  if (closing_)
    return done(dm_outcome::not_here);
  // Without hooks that could answer later, the message goes on at once:
  // none of the continuations (and their allocations) the chains need.
  if (auto hooks = host_.hooks(); hooks->on_receive_message.empty() && hooks->on_message.empty())
    return hand_to_user(from, origin, ver, cmd, std::move(message), done);
  auto in = std::make_shared<const incoming_message>(
    incoming_message{std::move(from), ver, cmd, std::move(message)});
  receive(std::move(in), origin, std::move(done));
}

void user_session::channel(close_reason reason, std::string from, const std::string& origin,
                           uint8_t ver, uint16_t cmd, byte_buffer message) {
  if (closing_)
    return;
  forget(from, origin);
  if (reason == close_reason::disconnect) {
    bool quiet = message.empty();
    peer_gone_to_sink(from, std::move(message));
    if (quiet)
      run_clear_hooks(from);
    return;
  }
  if (message.empty())
    return run_clear_hooks(from);
  // ClearCacheByUserID's last message: a DM like any other, after which the
  // channel stays closed.
  auto in = std::make_shared<const incoming_message>(
    incoming_message{std::move(from), ver, cmd, std::move(message)});
  auto self = shared_from_this();
  receive(in, origin, [self, in, origin](dm_outcome) { self->forget(in->from, origin); });
}

// -- sending ---------------------------------------------------------------------

user_session::outgoing* user_session::head_of(const std::string& to) {
  auto* q = queues_.find(to);
  if (q == nullptr || q->items.empty())
    return nullptr;
  return &q->items.front();
}

/// Answers the head of `to`'s queue (no error: sent) and starts the next.
void user_session::finish_head(const std::string& to, caf::error err) {
  auto* q = queues_.find(to);
  if (q == nullptr || q->items.empty())
    return;
  auto done = std::move(q->items.front().done);
  q->items.pop_front();
  q->busy = false;
  done(std::move(err));
  pump(to);
}

void user_session::forget(const std::string& peer, const std::string& node) {
  if (auto* cached = cache_.find(peer); cached != nullptr && *cached == node)
    cache_.erase(peer);
}

/// What the head of `to`'s queue came to: `at` is the node the recipient
/// was looked for at (empty when the store had no location).
void user_session::settle(const std::string& to, dm_outcome outcome, const std::string& at,
                          attempt how) {
  switch (outcome) {
    case dm_outcome::delivered:
    case dm_outcome::dropped:
      if (!closing_)
        cache_[to] = at;
      return finish_head(to, {});
    case dm_outcome::not_here:
      forget(to, at);
      if (how == attempt::cached)
        return start_head(to, {}); // stale: one fresh lookup
      return finish_head(
        to, make_error(dm_errc::user_not_found, "user " + to + " is not connected to " + at));
    case dm_outcome::declined:
      return finish_head(
        to, make_error(dm_errc::user_not_found, "user " + to + " did not take the message"));
    case dm_outcome::unknown_user:
      return finish_head(
        to, make_error(dm_errc::user_not_found, "user " + to + " is not connected to the cluster"));
    case dm_outcome::lookup_failed:
      // The storage node handed nothing on: the slot may have moved, or its
      // holder died, while it looked. One more lookup, on the ring as it is.
      if (auto* head = head_of(to);
          how != attempt::lookup_again && head != nullptr && head->deadline_us > steady_micros())
        return start_head(to, {}, attempt::lookup_again);
      return finish_head(
        to, make_error(dm_errc::reliable_timeout, "the storage node could not look up user " + to));
  }
  finish_head(to, make_error(dm_errc::reliable_timeout, "an unknown answer for " + to));
}

/// The head of `to`'s queue goes to `node` (the cache's), or with its
/// lookup (FindData) when `node` is empty; `how` says which lookup.
void user_session::start_head(const std::string& to, const std::string& node, attempt how) {
  auto* head = head_of(to);
  if (head == nullptr)
    return;
  auto self = shared_from_this();
  if (!node.empty())
    how = attempt::cached;
  host_.deliver(node, uid_, to, head->ver, head->cmd, head->message, left_of(head->deadline_us),
                [self, to, node, how](dm_outcome outcome, const std::string& at, caf::error err) {
                  if (!err)
                    return self->settle(to, outcome, at, how);
                  if (!node.empty())
                    self->forget(to, node);
                  if (dm_code_of(err) == 0)
                    err = make_error(dm_errc::reliable_timeout,
                                     "delivering to user " + to + ": "
                                       + self->host_.actor()->system().render(err));
                  self->finish_head(to, std::move(err));
                });
}

/// Starts the head of `to`'s queue unless one is in flight; drops heads
/// whose time ran out while they waited.
void user_session::pump(const std::string& to) {
  auto* q = queues_.find(to);
  if (q == nullptr || q->busy)
    return;
  auto now = steady_micros();
  while (!q->items.empty() && q->items.front().deadline_us <= now) {
    auto done = std::move(q->items.front().done);
    q->items.pop_front();
    done(make_error(dm_errc::reliable_timeout,
                    "the message waited for the ones before it past its timeout"));
    if (q = queues_.find(to); q == nullptr) // what `done` did may have moved it
      return;
  }
  if (q->items.empty()) {
    queues_.erase(to);
    return;
  }
  q->busy = true;
  auto* cached = cache_.find(to);
  start_head(to, cached != nullptr ? *cached : std::string{});
}

caf::error user_session::send(std::string to, uint8_t ver, uint16_t cmd, byte_buffer message,
                              caf::timespan timeout, std::function<void(caf::error)> done) {
  if (message.empty())
    return make_error(dm_errc::message_nil, "an empty message is not sent");
  if (!valid_user_id(to))
    return make_error(dm_errc::user_not_found,
                      "a user id has 1 to 256 bytes, not " + std::to_string(to.size()));
  if (closing_)
    return make_error(dm_errc::reliable_timeout, "the sender is disconnecting");
  auto deadline = steady_micros() + uint64_t{wire_timeout_ms(timeout)} * 1000;
  queues_[to].items.push_back(outgoing{ver, cmd, std::move(message), deadline, std::move(done)});
  pump(to);
  return {};
}

void user_session::client_send(uint32_t seq, std::string to, uint8_t ver, uint16_t cmd,
                               byte_buffer message, caf::timespan timeout) {
  auto sink = direct_sink_;
  if (!sink)
    return;
  auto* sys = &host_.actor()->system();
  auto report = [sys, sink, seq](const caf::error& e) {
    if (!e)
      return sink->send_result(seq, 0, {});
    auto code = dm_code_of(e);
    sink->send_result(seq, code != 0 ? code : static_cast<uint8_t>(dm_errc::reliable_timeout),
                      sys->render(e));
  };
  if (auto err = send(std::move(to), ver, cmd, std::move(message), timeout, report))
    report(err);
}

void user_session::clear(const std::string& peer, uint8_t ver, uint16_t cmd, byte_buffer message) {
  auto* cached = cache_.find(peer);
  if (cached == nullptr)
    return; // nothing cached: fails silently, as the reference says
  auto node = std::move(*cached);
  cache_.erase(peer);
  host_.close_channel(node, close_reason::clear, uid_, peer, ver, cmd, std::move(message));
}

// -- the end -------------------------------------------------------------------------

void user_session::fail_outgoing(const std::string& why) {
  auto queues = std::move(queues_);
  queues_.clear();
  queues.for_each([&](const std::string&, peer_queue& q) {
    for (auto& item : q.items)
      item.done(make_error(dm_errc::reliable_timeout, why));
  });
}

void user_session::end_actor(caf::error reason) {
  if (auto* a = caf::actor_cast<caf::abstract_actor*>(handle_))
    static_cast<session_actor*>(a)->end(std::move(reason));
}

void user_session::finish_close() {
  auto self = shared_from_this();
  host_.logout(uid_, id_, [self] {
    for (auto& rp : self->disconnect_promises_)
      rp.deliver(caf::unit);
    self->disconnect_promises_.clear();
    self->end_actor(self->end_reason_ ? self->end_reason_ : caf::exit_reason::normal);
  });
}

/// Sends each cached peer its disconnect message, one after the other: in
/// a loop while the hooks answer at once (functions), from an actor hook's
/// answer otherwise, so a user with many peers does not deepen the stack.
void user_session::notify_peers(
  std::shared_ptr<std::vector<std::pair<std::string, std::string>>> peers, size_t i) {
  auto self = shared_from_this();
  for (; i < peers->size(); ++i) {
    auto in_loop = std::make_shared<bool>(true);
    auto done_now = std::make_shared<bool>(false);
    disconnect_chain((*peers)[i].first, [=](byte_buffer msg) {
      const auto& [peer, node] = (*peers)[i];
      self->host_.close_channel(node, close_reason::disconnect, self->uid_, peer, 0, 0,
                                std::move(msg));
      if (*in_loop)
        *done_now = true; // the loop goes on
      else
        self->notify_peers(peers, i + 1);
    });
    *in_loop = false;
    if (!*done_now)
      return; // an actor hook answers later and goes on from there
  }
  finish_close();
}

void user_session::disconnect(caf::response_promise rp, caf::error reason) {
  disconnect_promises_.push_back(std::move(rp));
  if (closing_)
    return;
  closing_ = true;
  end_reason_ = std::move(reason);
  fail_outgoing("the sender disconnected before the message was delivered");
  auto peers = std::make_shared<std::vector<std::pair<std::string, std::string>>>();
  peers->reserve(cache_.size());
  cache_.for_each([&](const std::string& peer, std::string& node) {
    peers->emplace_back(peer, std::move(node));
  });
  cache_.clear();
  notify_peers(std::move(peers), 0);
}

void user_session::replaced(const std::string& why) {
  closing_ = true;
  fail_outgoing(why);
  cache_.clear();
  if (direct_sink_)
    direct_sink_->closed(why);
  else
    host_.actor()->send(sink_, dm_closed_atom::value, why);
  end_actor(caf::exit_reason::normal);
}

void user_session::stop(caf::error reason, const std::string& why) {
  closing_ = true;
  fail_outgoing(why);
  cache_.clear();
  for (auto& rp : disconnect_promises_)
    rp.deliver(caf::unit);
  disconnect_promises_.clear();
  end_actor(std::move(reason));
}

} // namespace meshrt
