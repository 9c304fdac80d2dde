#include "dm/user_session.hpp"

#include <algorithm>
#include <iterator>
#include <optional>

#include <caf/all.hpp>

#include "actors/node_actor.hpp"
#include "actors/request_correlator.hpp"
#include "dm/dm_atoms.hpp"
#include "dm/dm_error.hpp"
#include "dm/dm_hooks.hpp"
#include "dm/session_actor.hpp"
#include "dm/user_sink.hpp"
#include "transport/clock.hpp"

namespace meshrt {

namespace {

/// ClearCacheByUserID has no timeout of its own: its last message has
/// SendMessageByUserID's default.
constexpr uint64_t clear_timeout_us
  = std::chrono::duration_cast<std::chrono::microseconds>(default_request_timeout).count();

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

user_session::user_session(session_host& host, std::string uid, uint64_t id, uint64_t stream,
                           caf::actor handle, caf::actor sink,
                           std::shared_ptr<user_sink> direct_sink) :
  host_(host),
  uid_(std::move(uid)), id_(id), handle_(std::move(handle)), sink_(std::move(sink)),
  direct_sink_(std::move(direct_sink)), stream_(stream) {}

// -- hooks -----------------------------------------------------------------------

/// The on_receive_message hooks: `done(true)` when none declined.
void user_session::accept_chain(const std::shared_ptr<const incoming_message>& in,
                                const std::function<void(bool)>& done) {
  auto hooks = host_.hooks();
  if (hooks->on_receive_message.empty())
    return done(true);
  auto accepted = std::make_shared<bool>(true);
  auto self = shared_from_this();
  each_hook<dm_hook<on_receive_message_fn>>(
    hooks, &hooks->on_receive_message, 0,
    [=](const dm_hook<on_receive_message_fn>& h, const std::function<void()>& next) {
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
void user_session::rewrite_chain(const std::shared_ptr<const incoming_message>& in,
                                 const std::function<void(byte_buffer)>& done) {
  auto hooks = host_.hooks();
  if (hooks->on_message.empty())
    return done(in->message);
  auto result = std::make_shared<std::optional<byte_buffer>>();
  auto self = shared_from_this();
  each_hook<dm_hook<on_message_fn>>(
    hooks, &hooks->on_message, 0,
    [=](const dm_hook<on_message_fn>& h, const std::function<void()>& next) {
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
    [=] {
      if (*result) // the rewritten message moves on; the one that came is shared
        return done(std::move(**result));
      done(in->message);
    });
}

/// The on_user_disconnect hooks for `peer`: the last non-empty message.
void user_session::disconnect_chain(const std::string& peer,
                                    const std::function<void(byte_buffer)>& done) {
  auto hooks = host_.hooks();
  auto result = std::make_shared<byte_buffer>();
  auto self = shared_from_this();
  each_hook<dm_hook<on_user_disconnect_fn>>(
    hooks, &hooks->on_user_disconnect, 0,
    [=](const dm_hook<on_user_disconnect_fn>& h, const std::function<void()>& next) {
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

/// Whether a message from `from` at `pos` comes next in its stream; if so,
/// it is recorded as the stream's last taken.
bool user_session::take_in_order(const std::string& from, const dm_stream_pos& pos) {
  if (pos.stream == 0)
    return true;
  auto* c = cache_.find(from);
  bool known = c != nullptr && c->stream == pos.stream;
  bool next = pos.first ? !known || seq_after(pos.seq, c->last) : known && pos.prev == c->last;
  if (!next)
    return false;
  if (c == nullptr)
    c = &cache_[from];
  c->stream = pos.stream;
  c->last = pos.seq;
  return true;
}

/// Runs the hooks over `in` once those over the message from the same
/// sender before it ended: an actor hook answers later, and the user gets
/// one sender's messages in the order sent.
void user_session::receive_in_turn(const std::shared_ptr<const incoming_message>& in,
                                   std::string origin, std::function<void(dm_outcome)> done) {
  auto self = shared_from_this();
  auto start = [self, in, origin = std::move(origin), done = std::move(done)] {
    self->receive(in, origin, [self, from = in->from, done](dm_outcome outcome) {
      done(outcome);
      self->next_in_turn(from);
    });
  };
  if (auto* waiting = receiving_.find(in->from)) {
    waiting->push_back(std::move(start));
    return;
  }
  receiving_[in->from]; // the hooks run over one of this sender's messages
  start();
}

void user_session::next_in_turn(const std::string& from) {
  auto* waiting = receiving_.find(from);
  if (waiting == nullptr)
    return;
  if (waiting->empty()) {
    receiving_.erase(from);
    return;
  }
  auto start = std::move(waiting->front());
  waiting->pop_front();
  start();
}

void user_session::receive(const std::shared_ptr<const incoming_message>& in,
                           const std::string& origin, const std::function<void(dm_outcome)>& done) {
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
  set_node(from, origin); // the reverse channel: answers need no lookup
  if (message.empty())
    return done(dm_outcome::dropped);
  to_sink(from, ver, cmd, std::move(message));
  done(dm_outcome::delivered);
}

void user_session::incoming(std::string from, std::string origin, const dm_stream_pos& pos,
                            uint8_t ver, uint16_t cmd, byte_buffer message,
                            std::function<void(dm_outcome)> done) {
  if (closing_)
    return done(dm_outcome::not_here);
  if (!take_in_order(from, pos))
    return done(dm_outcome::out_of_order);
  if (is_bare_clear(pos, message)) {
    // ClearCacheByUserID without a last message: it comes after every
    // message of the channel before it was answered, so none is in the
    // hooks still
    forget(from, origin);
    run_clear_hooks(from);
    return done(dm_outcome::delivered);
  }
  if (pos.closes) // ClearCacheByUserID's last message: the channel closes after it
    done = [self = shared_from_this(), from, origin, done = std::move(done)](dm_outcome outcome) {
      self->forget(from, origin);
      done(outcome);
    };
  // Without hooks that could answer later, the message goes on at once:
  // none of the continuations (and their allocations) the chains need.
  if (auto hooks = host_.hooks(); hooks->on_receive_message.empty() && hooks->on_message.empty())
    return hand_to_user(from, origin, ver, cmd, std::move(message), done);
  auto in = std::make_shared<const incoming_message>(
    incoming_message{std::move(from), ver, cmd, std::move(message)});
  receive_in_turn(in, std::move(origin), std::move(done));
}

void user_session::peer_disconnected(const std::string& from, const std::string& origin,
                                     byte_buffer message) {
  if (closing_)
    return;
  forget(from, origin);
  bool quiet = message.empty();
  peer_gone_to_sink(from, std::move(message));
  if (quiet)
    run_clear_hooks(from);
}

// -- the channel cache -------------------------------------------------------------

/// The node the cache names for `peer`, or nullptr.
const std::string* user_session::cached_node(const std::string& peer) {
  auto* c = cache_.find(peer);
  return c != nullptr && !c->node.empty() ? &c->node : nullptr;
}

void user_session::set_node(const std::string& peer, const std::string& node) {
  cache_[peer].node = node;
}

/// Forgets that `peer` is at `node` (if the cache says so); what the
/// session took of the peer's stream stays while there is some.
void user_session::forget(const std::string& peer, const std::string& node) {
  auto* c = cache_.find(peer);
  if (c == nullptr || c->node != node)
    return;
  if (c->stream != 0)
    c->node.clear();
  else
    cache_.erase(peer);
}

// -- sending ---------------------------------------------------------------------

/// Sends what of `to`'s queue can go, one message after the other. A call
/// from within (an answer given at once, a message's `done`) asks the
/// running one to look again rather than nesting.
void user_session::pump(const std::string& to) {
  auto* q = queues_.find(to);
  if (q == nullptr)
    return;
  if (q->pumping) {
    q->again = true;
    return;
  }
  q->pumping = true;
  for (;;) {
    q->again = false;
    bool went = start_next(to);
    // what it called may have changed the queues
    if (q = queues_.find(to); q == nullptr)
      return;
    if (!went && !q->again)
      break;
  }
  q->pumping = false;
  if (q->items.empty())
    queues_.erase(to);
}

/// Sends the oldest message of `to`'s queue that is not out, if it may go
/// now, or fails it when its time ran out while it waited. True when it
/// did either.
bool user_session::start_next(const std::string& to) {
  auto* q = queues_.find(to);
  if (q == nullptr)
    return false;
  if (q->halted && q->out > 0)
    return false;
  q->halted = false;
  if (q->looking || q->out >= host_.messages_out_per_peer())
    return false;
  auto item = std::find_if(q->items.begin(), q->items.end(), [](auto& x) { return !x.out; });
  if (item == q->items.end())
    return false;
  if (item->clears) {
    // Its turn comes once the messages before it were answered.
    if (item != q->items.begin())
      return false;
    if (item->deadline_us == UINT64_MAX) {
      if (cached_node(to) == nullptr) {
        // silent when nothing is cached
        auto done = std::move(item->done);
        q->items.erase(item);
        if (done)
          done({});
        return true;
      }
      // The clear (with its last message, if any) goes as the next of the
      // stream, answered, so what follows it waits for it: a one-way close
      // beside a later message's lookup could arrive after that message.
      item->deadline_us = steady_micros() + clear_timeout_us;
    }
  }
  if (item->deadline_us <= steady_micros()) {
    finish(to, item,
           make_error(dm_errc::reliable_timeout,
                      "the message waited for the ones before it past its timeout"));
    return true;
  }
  bool first = item == q->items.begin();
  auto* cached = cached_node(to);
  auto how = item->next;
  const std::string* hinted = nullptr;
  if (how == attempt::cached && cached == nullptr) {
    hinted = first ? host_.hinted_node(to) : nullptr;
    how = hinted != nullptr ? attempt::hinted : attempt::lookup;
  }
  if (how != attempt::cached) {
    if (!first)
      return false; // a lookup (or a hint's try) goes alone, for the oldest message
    q->looking = true;
  }
  auto node = how == attempt::cached ? *cached : how == attempt::hinted ? *hinted : std::string{};
  dm_stream_pos pos{stream_, item->seq, first ? 0 : std::prev(item)->seq, first, item->clears};
  if (item->clears && !node.empty())
    forget(to, node); // what comes after it looks the peer up, after its answer
  item->out = true;
  ++q->out;
  auto self = shared_from_this();
  auto seq = item->seq;
  host_.deliver(
    node, uid_, to, pos, item->ver, item->cmd, item->message, left_of(item->deadline_us),
    [self, to, seq, how, first, node](dm_outcome outcome, const std::string& at, caf::error err) {
      self->answered(to, seq, how, first, node, outcome, at, std::move(err));
    });
  return true;
}

/// Answers `item` of `to`'s queue (no error: delivered) and sends what
/// can go next.
void user_session::finish(const std::string& to, std::list<outgoing>::iterator item,
                          caf::error err) {
  auto* q = queues_.find(to);
  if (item->out)
    --q->out;
  auto done = std::move(item->done);
  q->items.erase(item);
  if (done) // a send's, or a gateway's clear's
    done(std::move(err));
  pump(to);
}

/// `item`, sent to the cached node (as the oldest out: `first`), was not
/// taken: it goes again once every message out before it was answered (the
/// ones after it are not taken either).
void user_session::send_again(const std::string& to, std::list<outgoing>::iterator item,
                              bool first) {
  auto* q = queues_.find(to);
  // A message that was the oldest out found its recipient gone from the
  // cached node: one fresh lookup. One behind others may only have missed
  // the one before it; it goes as the cache then says.
  if (first)
    item->next = attempt::lookup;
  q->halted = true;
  pump(to);
}

/// What message `seq` to `to` came to, sent `how` (as the oldest out:
/// `first`) to `node`: `at` is the node the recipient was looked for at
/// (empty when the store had no location).
void user_session::answered(const std::string& to, uint32_t seq, attempt how, bool first,
                            const std::string& node, dm_outcome outcome, const std::string& at,
                            caf::error err) {
  auto* q = queues_.find(to);
  if (q == nullptr)
    return;
  auto item = std::find_if(q->items.begin(), q->items.end(),
                           [seq](auto& x) { return x.seq == seq && x.out; });
  if (item == q->items.end())
    return;
  item->out = false;
  --q->out;
  if (how != attempt::cached)
    q->looking = false;
  if (err) {
    if (!node.empty())
      forget(to, node);
    if (dm_code_of(err) == 0)
      err = make_error(dm_errc::reliable_timeout,
                       "delivering to user " + to + ": " + host_.actor()->system().render(err));
    return finish(to, item, std::move(err));
  }
  switch (outcome) {
    case dm_outcome::delivered:
    case dm_outcome::dropped:
      if (!closing_ && !item->clears) // a clear's last message closed the channel
        set_node(to, at);
      return finish(to, item, {});
    case dm_outcome::not_here:
      forget(to, at);
      if (how == attempt::hinted) {
        // The hint was stale: the lookup the message would have taken.
        host_.hint_missed(to, node);
        item->next = attempt::lookup;
        return pump(to);
      }
      if (how == attempt::cached && !(item->clears && item->message.empty()))
        return send_again(to, item, first); // stale (a clear alone: nothing left to close)
      return finish(
        to, item, make_error(dm_errc::user_not_found, "user " + to + " is not connected to " + at));
    case dm_outcome::out_of_order:
      if (how == attempt::cached || how == attempt::hinted)
        return send_again(to, item, first);
      return finish(to, item,
                    make_error(dm_errc::reliable_timeout,
                               "user " + to + "'s node took a later message before this one"));
    case dm_outcome::declined:
      return finish(
        to, item, make_error(dm_errc::user_not_found, "user " + to + " did not take the message"));
    case dm_outcome::unknown_user:
      return finish(
        to, item,
        make_error(dm_errc::user_not_found, "user " + to + " is not connected to the cluster"));
    case dm_outcome::lookup_failed:
      // The storage node handed nothing on: the slot may have moved, or its
      // holder died, while it looked. One more lookup, on the ring as it is.
      if (how != attempt::lookup_again && item->deadline_us > steady_micros()) {
        item->next = attempt::lookup_again;
        return pump(to);
      }
      return finish(
        to, item,
        make_error(dm_errc::reliable_timeout, "the storage node could not look up user " + to));
  }
  finish(to, item, make_error(dm_errc::reliable_timeout, "an unknown answer for " + to));
}

caf::error user_session::send(const std::string& to, uint8_t ver, uint16_t cmd, byte_buffer message,
                              caf::timespan timeout, std::function<void(caf::error)> done) {
  if (message.empty())
    return make_error(dm_errc::message_nil, "an empty message is not sent");
  if (!valid_user_id(to))
    return make_error(dm_errc::user_not_found,
                      "a user id has 1 to 256 bytes, not " + std::to_string(to.size()));
  if (closing_)
    return make_error(dm_errc::reliable_timeout, "the sender is disconnecting");
  auto deadline = steady_micros() + uint64_t{wire_timeout_ms(timeout)} * 1000;
  queues_[to].items.push_back(
    outgoing{ver, cmd, std::move(message), deadline, std::move(done), next_seq_++});
  pump(to);
  return {};
}

void user_session::client_send(uint32_t seq, const std::string& to, uint8_t ver, uint16_t cmd,
                               byte_buffer message, caf::timespan timeout) {
  auto sink = direct_sink_;
  if (!sink)
    return;
  auto* sys = &host_.actor()->system();
  auto report = [sys, sink, seq, bytes = to.size() + message.size()](const caf::error& e) {
    if (!e)
      return sink->send_result(seq, 0, {}, bytes);
    auto code = dm_code_of(e);
    sink->send_result(seq, code != 0 ? code : static_cast<uint8_t>(dm_errc::reliable_timeout),
                      sys->render(e), bytes);
  };
  if (auto err = send(to, ver, cmd, std::move(message), timeout, report))
    report(err);
}

void user_session::clear(const std::string& peer, uint8_t ver, uint16_t cmd, byte_buffer message,
                         std::function<void(caf::error)> done) {
  // start_next() closes the channel when its turn comes
  outgoing item{ver, cmd, std::move(message), UINT64_MAX, std::move(done), next_seq_++};
  item.clears = true;
  queues_[peer].items.push_back(std::move(item));
  pump(peer);
}

void user_session::client_clear(const std::string& peer, uint8_t ver, uint16_t cmd,
                                byte_buffer message) {
  auto sink = direct_sink_;
  if (!sink)
    return;
  auto bytes = peer.size() + message.size();
  clear(peer, ver, cmd, std::move(message),
        [sink, bytes](const caf::error&) { sink->cleared(bytes); });
}

// -- the end -------------------------------------------------------------------------

void user_session::fail_outgoing(const std::string& why) {
  auto queues = std::move(queues_);
  queues_.clear();
  queues.for_each([&](const std::string&, peer_queue& q) {
    for (auto& item : q.items)
      if (item.done) // a send's, or a gateway's clear's
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
  const std::shared_ptr<std::vector<std::pair<std::string, std::string>>>& peers, size_t i) {
  auto self = shared_from_this();
  for (; i < peers->size(); ++i) {
    auto in_loop = std::make_shared<bool>(true);
    auto done_now = std::make_shared<bool>(false);
    disconnect_chain((*peers)[i].first, [=](byte_buffer msg) {
      const auto& [peer, node] = (*peers)[i];
      self->host_.send_disconnect(node, self->uid_, peer, std::move(msg));
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
  cache_.for_each([&](const std::string& peer, cached_peer& c) {
    if (!c.node.empty())
      peers->emplace_back(peer, std::move(c.node));
  });
  cache_.clear();
  notify_peers(peers, 0);
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
  // The hooks' answers no longer come to the service: the messages waiting
  // for them (which hold this session) go.
  receiving_.clear();
  for (auto& rp : disconnect_promises_)
    rp.deliver(caf::unit);
  disconnect_promises_.clear();
  end_actor(std::move(reason));
}

} // namespace meshrt
