#include "dm/dm_service.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "actors/mesh_outbox.hpp"
#include "actors/node_atoms.hpp"
#include "actors/node_event.hpp"
#include "actors/pending_requests.hpp"
#include "actors/random_bits.hpp"
#include "actors/request_correlator.hpp"
#include "dm/client_write_batch.hpp"
#include "dm/dm_atoms.hpp"
#include "dm/dm_error.hpp"
#include "dm/dm_wire.hpp"
#include "dm/location_hints.hpp"
#include "dm/location_shard.hpp"
#include "dm/recent_answers.hpp"
#include "dm/ring_view.hpp"
#include "dm/session_actor.hpp"
#include "dm/store_atoms.hpp"
#include "dm/store_error.hpp"
#include "dm/user_session.hpp"
#include "dm/user_table.hpp"
#include "transport/atoms.hpp"
#include "transport/clock.hpp"
#include "transport/deferred_flush.hpp"
#include "transport/logger.hpp"
#include "transport/packed_messages.hpp"

namespace meshrt {

namespace {

using transport::flush_atom;
using transport::received_atom;
using transport::route_atom;
using transport::send_failed_atom;

/// How long a login waits for the user's location to be stored.
constexpr std::chrono::seconds login_timeout{5};

/// Users per kind 46 message of a node's whole list.
constexpr size_t locations_per_message = 1024;

/// How often the finds parked after their storage node left look at the
/// ring for the slot's new owner.
constexpr std::chrono::milliseconds refind_interval{20};

/// How much longer than its sender's timeout a recipient's node remembers
/// a delivery that a storage node handed on (recent_answers): the sender's
/// deadline is on another clock, and the message was under way a while.
constexpr uint64_t remember_margin_us = 1'000'000;

/// A service's stream salt: in [2^62, 2^63), so that it plus a session
/// number is never 0 and never wraps.
uint64_t random_stream_salt() {
  return random_bits_62() | (uint64_t{1} << 62);
}

struct service_state;
using service_actor = caf::stateful_actor<service_state>;

/// A delivery waiting for its answer: who hears it, and for a find the
/// message itself, to send it again through the slot's new owner if the
/// storage node it went to leaves before it answers.
struct tracked_delivery {
  session_host::delivery_done done;
  std::shared_ptr<dm_deliver> find;
};

/// A find whose storage node left: it waits for the ring to name another
/// owner of its slot.
struct parked_find {
  pending_requests<tracked_delivery>::entry entry;
  std::string gone;
};

/// The service, and the host of its node's user sessions (user_session.hpp):
/// their state lives here and their messages run here.
struct service_state : session_host {
  service_actor* self = nullptr;
  caf::actor node;
  caf::actor store;
  caf::actor transport;
  std::string self_address;
  uint32_t max_out = 1;   // dm_config::messages_out_per_peer, set by the behavior
  bool want_hints = true; // dm_config::location_hints
  mesh_outbox outbox;
  transport::deferred_flush deferred;
  /// The hooks, replaced as a whole when one is added: a hook chain that
  /// waits for an actor hook keeps the set it started with.
  std::shared_ptr<const dm_hooks> hook_set = std::make_shared<const dm_hooks>();
  /// The store's ring (until it arrives, a lookup's owner is asked for).
  std::shared_ptr<const ring_view> ring;

  /// The users connected to this node, by id.
  user_table<user_session> users;
  /// The users whose receiver is an actor (monitored), by that actor.
  std::unordered_multimap<caf::actor_addr, std::string> actor_sinks;
  uint64_t last_session_id = 0;
  /// The stream ids of this service's sessions are this plus their number
  /// (dm_stream_pos): random, so that no two services share one. It names
  /// this start of the service to the nodes it asks for their users, too.
  uint64_t stream_salt = random_stream_salt();
  /// The sessions whose login is still storing the user's location, with
  /// the node that said meanwhile that it replaced it (empty: none yet).
  std::unordered_map<uint64_t, std::string> storing;
  /// Deliveries to other nodes waiting for their answer.
  pending_requests<tracked_delivery> pending;
  uint64_t timer_at = UINT64_MAX;
  /// Finds whose storage node left before it answered.
  std::vector<parked_find> parked;
  bool refind_scheduled = false;
  /// What this node answered to delivers handed on by storage nodes.
  recent_answers answers_given;
  /// Where the other nodes' users are, as they announce it.
  location_hints hints;
  /// The nodes that asked for this node's users (kind 47), told of every
  /// login and logout here, each with the incarnation it last asked as.
  std::unordered_map<std::string, uint64_t> hint_subscribers;
  /// The nodes in the view.
  std::unordered_set<std::string> members;

  // -- counters ------------------------------------------------------------
  uint64_t logins = 0;
  uint64_t logouts = 0;
  uint64_t replaced = 0; // sessions ended by a login on another node
  uint64_t sent_remote = 0;
  uint64_t sent_local = 0;
  uint64_t received_remote = 0;
  /// ClearCacheByUserID without a last message, sent from here: it goes in
  /// its stream as an empty deliver, counted here rather than as a message.
  uint64_t clears = 0;
  uint64_t timeouts = 0;
  uint64_t channels_closed = 0; // by a peer's disconnect (kind 42)
  uint64_t finds = 0;           // FindData handled here, as the owner of a location
  uint64_t forwarded = 0;       // of those, handed on to the recipient's node
  uint64_t finds_again = 0;     // finds sent again after their storage node left
  uint64_t answered_again = 0;  // delivers that came again, answered from memory
  uint64_t hinted = 0;          // first messages sent straight to the node a hint named
  uint64_t hint_misses = 0;     // of those, answered not_here (then looked up)
  uint64_t malformed = 0;
  /// Deliveries here by what became of them, indexed by dm_outcome (an
  /// array: counted for every message, named only when asked for).
  std::array<uint64_t, static_cast<size_t>(dm_outcome::out_of_order) + 1> outcomes{};

  static inline const char* name = "meshrt.dm";

  /// However the service ends, its sessions end with it.
  ~service_state() override {
    stop_sessions(caf::exit_reason::user_shutdown, "the node's DM service stopped");
  }

  void stop_sessions(const caf::error& reason, const std::string& why) {
    for (auto& session : users.take_all())
      session->stop(reason, why);
  }

  // -- session_host ------------------------------------------------------------

  caf::event_based_actor* actor() override;
  std::shared_ptr<const dm_hooks> hooks() override {
    return hook_set;
  }
  uint32_t messages_out_per_peer() const override {
    return max_out;
  }
  void deliver(const std::string& node, const std::string& from, const std::string& to,
               const dm_stream_pos& pos, uint8_t ver, uint16_t cmd, byte_buffer message,
               caf::timespan timeout, delivery_done done) override;
  const std::string* hinted_node(const std::string& uid) override;
  void hint_missed(const std::string& uid, const std::string& node) override;
  void send_disconnect(const std::string& node, const std::string& from, const std::string& to,
                       byte_buffer message) override;
  void logout(const std::string& uid, uint64_t id, std::function<void()> done) override;
};

const std::shared_ptr<spdlog::logger>& log() {
  static auto result = logger("dm");
  return result;
}

void send_wire(service_actor* self, const std::string& peer, const byte_buffer& bytes) {
  auto& st = self->state;
  st.outbox.queue_and_flush(self, st.transport, peer, bytes, true, st.deferred);
}

/// Tells the nodes that asked that `uid` logged in here or left.
void announce(service_actor* self, locations_op op, const std::string& uid) {
  auto& st = self->state;
  if (st.hint_subscribers.empty())
    return;
  auto bytes = encode(dm_locations{op, {uid}});
  for (const auto& subscriber : st.hint_subscribers)
    send_wire(self, subscriber.first, bytes);
}

/// `peer`, started as `incarnation`, asks for this node's users: their
/// whole list now, and every login and logout from now on (in order behind
/// it, on the one stream). A peer that asked before as another incarnation
/// is a new process at that address, which knows nothing of this node's
/// asking: its hints go, and it is asked again.
void on_locations_wanted(service_actor* self, const std::string& peer, uint64_t incarnation) {
  auto& st = self->state;
  auto [known, first] = st.hint_subscribers.try_emplace(peer, incarnation);
  if (!first && known->second != incarnation) {
    known->second = incarnation;
    st.hints.drop_node(peer);
    if (st.want_hints)
      send_wire(self, peer, encode_locations_wanted(st.stream_salt));
  }
  dm_locations part{locations_op::all, {}};
  auto send_part = [&] {
    send_wire(self, peer, encode(part));
    part.op = locations_op::here;
    part.users.clear();
  };
  st.users.for_each([&](const std::shared_ptr<user_session>& session) {
    part.users.push_back(session->uid());
    if (part.users.size() == locations_per_message)
      send_part();
  });
  if (part.op == locations_op::all || !part.users.empty())
    send_part(); // the list starts even when it is empty
}

/// What node `peer` says of its users.
void on_locations(service_actor* self, const std::string& peer, const dm_locations& x) {
  auto& hints = self->state.hints;
  if (x.op == locations_op::all)
    hints.drop_node(peer);
  for (const auto& uid : x.users)
    if (x.op == locations_op::left)
      hints.remove(uid, peer);
    else
      hints.set(uid, peer);
}

/// A node joined the view: ask it for its users, if hints are on.
void on_node_joined(service_actor* self, const std::string& peer) {
  auto& st = self->state;
  st.members.insert(peer);
  if (st.want_hints && peer != st.self_address)
    send_wire(self, peer, encode_locations_wanted(st.stream_salt));
}

/// A node left the view: its users' hints go (it is asked again if it
/// comes back). It still hears of the logins here until a message to it
/// fails: a node only the view lost (its MARS record expired while it
/// lived) would not know to ask again.
void on_node_left(service_actor* self, const std::string& peer) {
  auto& st = self->state;
  st.members.erase(peer);
  st.hints.drop_node(peer);
}

/// A message to `peer` failed: if the view lost it too, it hears no more
/// (a node that lives asks again when it joins the view again).
void on_unreachable(service_actor* self, const std::string& peer) {
  auto& st = self->state;
  if (st.members.count(peer) == 0)
    st.hint_subscribers.erase(peer);
}

void arm_timer(service_actor* self) {
  auto& st = self->state;
  auto deadline = st.pending.next_deadline();
  if (deadline >= st.timer_at)
    return;
  st.timer_at = deadline;
  auto now = steady_micros();
  self->delayed_send(self, std::chrono::microseconds{deadline > now ? deadline - now : 0},
                     dm_tick_atom::value);
}

void on_find(service_actor* self, dm_deliver x);

/// Sends a deliver or find to `node` (this node too, for a find), its
/// answer for `done`, within the message's timeout. A find to another
/// node is kept until its answer, to be sent again should that node leave.
void send_tracked(service_actor* self, const std::string& node, dm_deliver x,
                  session_host::delivery_done done) {
  auto& st = self->state;
  auto deadline = steady_micros() + uint64_t{x.timeout_ms} * 1000;
  if (node == st.self_address) {
    x.id = st.pending.add(node, 0, deadline, {std::move(done), nullptr});
    arm_timer(self);
    return on_find(self, std::move(x));
  }
  auto kept = x.kind == dm_kind::find ? std::make_shared<dm_deliver>(std::move(x)) : nullptr;
  // x is moved from only when kept holds it
  auto& sent = kept ? *kept : x; // NOLINT(bugprone-use-after-move)
  sent.id = st.pending.add(node, 0, deadline, {std::move(done), kept});
  arm_timer(self);
  send_wire(self, node, encode(sent));
}

void fail_pending(service_actor* self,
                  const std::vector<pending_requests<tracked_delivery>::entry>& es,
                  const std::string& why) {
  for (auto& e : es) {
    ++self->state.timeouts;
    e.waiter.done(dm_outcome::not_here, {}, make_error(dm_errc::reliable_timeout, why));
  }
}

void refind(service_actor* self);
void answer(service_actor* self, const std::string& reply_to, uint64_t id, dm_outcome outcome,
            std::string at);

/// The answer to pending delivery `e`. A find sent again that the new owner
/// could not look up ends in a timeout, not in `lookup_failed`: the session
/// would look the user up once more under a new id, and the dead node may
/// have handed the first try on.
void settle(pending_requests<tracked_delivery>::entry& e, dm_outcome outcome,
            const std::string& at) {
  if (outcome == dm_outcome::lookup_failed && e.waiter.find
      && e.waiter.find->kind == dm_kind::find_again)
    return e.waiter.done(
      dm_outcome::not_here, {},
      make_error(dm_errc::reliable_timeout,
                 "the storage node that took over could not look up user " + e.waiter.find->to));
  e.waiter.done(outcome, at, {});
}

void schedule_refind(service_actor* self) {
  auto& st = self->state;
  if (st.refind_scheduled || st.parked.empty())
    return;
  st.refind_scheduled = true;
  self->delayed_send(self, refind_interval, dm_refind_atom::value);
}

/// `node` cannot answer (it left the view, or the link to it gave up): its
/// deliveries fail, but finds wait for the ring to name the new owner of
/// their slot (the one the store sets the dead node's locations at again).
void lost_peer(service_actor* self, const std::string& node, const std::string& why) {
  auto& st = self->state;
  std::vector<pending_requests<tracked_delivery>::entry> failed;
  for (auto& e : st.pending.take_peer(node)) {
    if (e.waiter.find)
      st.parked.push_back({std::move(e), node});
    else
      failed.push_back(std::move(e));
  }
  fail_pending(self, failed, why);
  refind(self);
}

/// Sends the parked finds whose slot has a new owner again, with their own
/// ids (a deliver their first try made comes to the recipient's node again,
/// which answers it from memory); those past their deadline fail.
void refind(service_actor* self) {
  auto& st = self->state;
  auto now = steady_micros();
  auto r = st.ring ? st.ring->load() : nullptr;
  std::vector<parked_find> waiting;
  for (auto& p : st.parked) {
    auto& e = p.entry;
    if (e.deadline_us <= now) {
      auto why = "storage node " + p.gone + " did not answer the lookup of user "
                 + e.waiter.find->to + ", and no other took its slot in time";
      fail_pending(self, {std::move(e)}, why);
      continue;
    }
    auto owner = r && !r->empty() ? r->owner_of(location_key(e.waiter.find->to)) : std::string{};
    if (owner.empty() || owner == p.gone) {
      waiting.push_back(std::move(p));
      continue;
    }
    ++st.finds_again;
    e.waiter.find->kind = dm_kind::find_again;
    auto x = *e.waiter.find;
    x.timeout_ms = wire_ms_until(e.deadline_us, now);
    e.peer = owner;
    st.pending.put_back(std::move(e));
    if (owner == st.self_address)
      on_find(self, std::move(x));
    else
      send_wire(self, owner, encode(x));
  }
  st.parked = std::move(waiting);
  arm_timer(self);
  schedule_refind(self);
}

/// Hands a message to the session of `to` on this node; `done` gets what
/// the sender's node hears.
void deliver_here(service_actor* self, std::string from, const std::string& to, std::string origin,
                  const dm_stream_pos& pos, uint8_t ver, uint16_t cmd, byte_buffer message,
                  std::function<void(dm_outcome)> done) {
  auto& st = self->state;
  auto* session = st.users.find(to);
  if (session == nullptr) {
    ++st.outcomes[static_cast<size_t>(dm_outcome::not_here)];
    return done(dm_outcome::not_here);
  }
  // An actor hook that answers late makes the answer late: the sender then
  // times out instead of trying again, so nothing arrives twice.
  bool counted = !is_bare_clear(pos, message);
  (*session)->incoming(std::move(from), std::move(origin), pos, ver, cmd, std::move(message),
                       [self, counted, done = std::move(done)](dm_outcome outcome) {
                         if (counted)
                           ++self->state.outcomes[static_cast<size_t>(outcome)];
                         done(outcome);
                       });
}

/// What a sender hears when the store failed it: the reference's "Nodes not
/// found" without storage nodes, else a timeout.
dm_errc dm_code_of_store_error(const caf::error& err) {
  return is(err, store_errc::no_storage_nodes) ? dm_errc::nodes_not_found
                                               : dm_errc::reliable_timeout;
}

/// Tells the sender's node (`reply_to`) what became of its message `id`:
/// at once when that is this node.
void answer(service_actor* self, const std::string& reply_to, uint64_t id, dm_outcome outcome,
            std::string at) {
  auto& st = self->state;
  if (reply_to != st.self_address)
    return send_wire(self, reply_to, encode(dm_answer{id, outcome, std::move(at)}));
  if (auto e = st.pending.take(id))
    settle(*e, outcome, at);
}

/// A deliver for a user of this node: its answer goes to the sender's node,
/// which is also where the recipient's reverse channel points. One that a
/// storage node handed on (`handed_on`) is remembered with its answer, and
/// one that comes again is answered from that memory, not delivered twice.
void on_deliver(service_actor* self, dm_deliver& x, bool handed_on) {
  auto& st = self->state;
  auto reply_to = x.reply_to;
  auto id = x.id;
  if (is_again(x.kind)) {
    if (auto seen = st.answers_given.recall(reply_to, id)) {
      ++st.answered_again;
      if (*seen) // else its answer is still to come, with the same id
        answer(self, reply_to, id, **seen, st.self_address);
      return;
    }
  }
  std::optional<recent_answers::ticket> ticket;
  if (handed_on || is_again(x.kind)) {
    auto now = steady_micros();
    ticket = st.answers_given.arrived(reply_to, id, now,
                                      now + uint64_t{x.timeout_ms} * 1000 + remember_margin_us);
  }
  deliver_here(self, std::move(x.from), x.to, reply_to, x.pos, x.ver, x.cmd, std::move(x.message),
               [self, reply_to, id, ticket](dm_outcome outcome) {
                 if (ticket)
                   self->state.answers_given.answered(*ticket, outcome);
                 answer(self, reply_to, id, outcome, self->state.self_address);
               });
}

/// FindData `x` whose recipient's location is `where` (none: unknown):
/// handed on to the recipient's node, or delivered here, or answered.
void on_found(service_actor* self, dm_deliver& x, const std::optional<std::string>& where) {
  auto& st = self->state;
  if (!where)
    return answer(self, x.reply_to, x.id, dm_outcome::unknown_user, {});
  x.kind = x.kind == dm_kind::find_again ? dm_kind::deliver_again : dm_kind::deliver;
  if (*where == st.self_address)
    return on_deliver(self, x, x.reply_to != st.self_address);
  ++st.forwarded;
  send_wire(self, *where, encode(x));
}

/// The recipient's location through the store service, which routes the
/// read to wherever its slot is now.
void find_through_store(service_actor* self, dm_deliver x, std::string key) {
  auto timeout = caf::timespan{std::chrono::milliseconds{x.timeout_ms}};
  self->request(self->state.store, caf::infinite, store_get_atom::value, std::move(key), timeout)
    .then([=](std::optional<std::string>& where) mutable { on_found(self, x, where); },
          [=](caf::error&) { answer(self, x.reply_to, x.id, dm_outcome::lookup_failed, {}); });
}

/// The shard of this node for `key`'s slot (`slot`) if the ring says this
/// node owns it, else null.
caf::actor local_shard_of(service_actor* self, const std::string& key, uint16_t& slot) {
  auto& st = self->state;
  auto r = st.ring ? st.ring->load() : nullptr;
  if (!r || r->empty())
    return {};
  slot = static_cast<uint16_t>(r->slot_of(key));
  if (r->owner(slot) != st.self_address)
    return {};
  return st.ring->shard_of_group(shard_group_of(slot));
}

/// FindData at the node that owns the recipient's location: look it up and
/// hand the message on (the recipient's node answers the sender's), or
/// answer at once when there is no location. The shard that owns the slot
/// here answers directly; one whose slot moves says so, and the store
/// service finds it.
void on_find(service_actor* self, dm_deliver x) {
  ++self->state.finds;
  auto key = location_key(x.to);
  uint16_t slot = 0;
  auto shard = local_shard_of(self, key, slot);
  if (!shard)
    return find_through_store(self, std::move(x), std::move(key));
  self->request(shard, caf::infinite, shard_get_atom::value, slot, key)
    .then(
      [=](bool answered, std::optional<std::string>& where) mutable {
        if (answered)
          return on_found(self, x, where);
        find_through_store(self, std::move(x), std::move(key));
      },
      [=](caf::error&) mutable { find_through_store(self, std::move(x), std::move(key)); });
}

/// `from`, a user of node `origin`, disconnected: `to`'s session here
/// hears of it.
void on_peer_disconnected(service_actor* self, const std::string& to, const std::string& from,
                          const std::string& origin, byte_buffer message) {
  auto& st = self->state;
  ++st.channels_closed;
  if (auto* session = st.users.find(to))
    (*session)->peer_disconnected(from, origin, std::move(message));
}

void forget_actor_sink(service_actor* self, const user_session& session);

/// `uid` logged in on node `there`, whose store write replaced this node's
/// location: the session here ends, unless a newer login here holds the
/// location by now (the store says which is the latest).
void on_replaced(service_actor* self, const std::string& uid, const std::string& there) {
  auto& st = self->state;
  auto* current = st.users.find(uid);
  if (current == nullptr)
    return;
  auto id = (*current)->id();
  if (auto w = st.storing.find(id); w != st.storing.end()) {
    w->second = there; // looked at once its own write is answered
    return;
  }
  self
    ->request(st.store, caf::infinite, store_get_atom::value, location_key(uid),
              caf::timespan{login_timeout})
    .then(
      [=](std::optional<std::string>& where) {
        auto& st = self->state;
        auto* current = st.users.find(uid);
        if (current == nullptr || (*current)->id() != id || where == st.self_address)
          return;
        auto session = st.users.erase(uid);
        forget_actor_sink(self, *session);
        ++st.replaced;
        announce(self, locations_op::left, uid);
        // The entry is the other node's now: not set again from here.
        self->send(st.store, store_disown_atom::value, location_key(uid), st.self_address);
        session->replaced("logged in again on node " + there);
      },
      [=](caf::error& err) {
        log()->warn("user {} logged in on {}, but its location could not be read: {}", uid, there,
                    to_string(err));
      });
}

/// The store says another node (`there`) wrote `key` since this node last
/// set it: for a user's location, a login there that this node did not hear
/// of (the store had lost the location, so that login replaced nothing).
void on_owned_taken(service_actor* self, const std::string& key, const std::string& there) {
  auto prefix = location_key("");
  if (key.size() > prefix.size() && key.compare(0, prefix.size(), prefix) == 0)
    on_replaced(self, key.substr(prefix.size()), there);
}

void on_received(service_actor* self, const std::string& peer, const packed_messages& batch) {
  auto& st = self->state;
  client_write_batch frames; // what the batch brings a client leaves in one send
  for (auto bytes : batch.views()) {
    switch (bytes.empty() ? 0 : bytes[0]) {
      case static_cast<uint8_t>(dm_kind::deliver):
      case static_cast<uint8_t>(dm_kind::find):
      case static_cast<uint8_t>(dm_kind::find_again):
      case static_cast<uint8_t>(dm_kind::deliver_again):
        if (auto x = decode_dm_deliver(bytes)) {
          if (x->reply_to.empty())
            x->reply_to = peer;
          if (x->kind == dm_kind::find || x->kind == dm_kind::find_again) {
            on_find(self, std::move(*x));
          } else {
            if (!is_bare_clear(x->pos, x->message))
              ++st.received_remote;
            // from a node other than the sender's: a storage node handed it on
            on_deliver(self, *x, x->reply_to != peer);
          }
          continue;
        }
        break;
      case static_cast<uint8_t>(dm_kind::answer):
        if (auto x = decode_dm_answer(bytes)) {
          if (auto e = st.pending.take(x->id))
            settle(*e, x->outcome, x->at);
          continue;
        }
        break;
      case static_cast<uint8_t>(dm_kind::locations):
        if (auto x = decode_dm_locations(bytes)) {
          on_locations(self, peer, *x);
          continue;
        }
        break;
      case static_cast<uint8_t>(dm_kind::locations_wanted):
        if (auto incarnation = decode_locations_wanted(bytes)) {
          on_locations_wanted(self, peer, *incarnation);
          continue;
        }
        break;
      case static_cast<uint8_t>(dm_kind::closed):
        if (auto x = decode_dm_closed(bytes)) {
          if (x->reason == close_reason::replaced)
            on_replaced(self, x->to, x->from);
          else
            on_peer_disconnected(self, x->to, x->from, peer, std::move(x->message));
          continue;
        }
        break;
      default:
        break;
    }
    ++st.malformed;
    log()->warn("dropped a malformed DM message of {} bytes from {} (kind {})", bytes.size(), peer,
                bytes.empty() ? 0 : bytes[0]);
  }
}

// -- the sessions' host ----------------------------------------------------------

caf::event_based_actor* service_state::actor() {
  return self;
}

void service_state::deliver(const std::string& to_node, const std::string& from,
                            const std::string& to, const dm_stream_pos& pos, uint8_t ver,
                            uint16_t cmd, byte_buffer message, caf::timespan timeout,
                            delivery_done done) {
  // A recipient connected to this node needs no lookup (FindData): its
  // location is this node, as the store says once its login is stored.
  bool here = to_node == self_address || (to_node.empty() && users.find(to) != nullptr);
  bool clear = is_bare_clear(pos, message); // counted as a clear, not as a message
  if (here) {
    ++(clear ? clears : sent_local);
    return deliver_here(self, from, to, self_address, pos, ver, cmd, std::move(message),
                        [self = self, done = std::move(done)](dm_outcome outcome) {
                          done(outcome, self->state.self_address, {});
                        });
  }
  dm_deliver x{0,
               wire_timeout_ms(timeout),
               from,
               to,
               ver,
               cmd,
               std::move(message),
               self_address,
               dm_kind::deliver,
               pos};
  if (!to_node.empty()) {
    ++(clear ? clears : sent_remote);
    return send_tracked(self, to_node, std::move(x), std::move(done));
  }
  // FindData: to the node that owns the recipient's location
  x.kind = dm_kind::find;
  if (auto r = ring ? ring->load() : nullptr; r && !r->empty()) {
    ++(clear ? clears : sent_remote);
    // Named before the call: x moves into its parameter, maybe before an
    // argument reading x.to is evaluated (the order is unspecified).
    auto owner = r->owner_of(location_key(x.to));
    return send_tracked(self, owner, std::move(x), std::move(done));
  }
  auto self = this->self; // no ring yet: the store answers, or says why it cannot
  self->request(store, caf::infinite, store_owner_atom::value, location_key(x.to))
    .then(
      [self, x, done, clear](std::string& owner) mutable {
        ++(clear ? self->state.clears : self->state.sent_remote);
        send_tracked(self, owner, std::move(x), std::move(done));
      },
      [self, to = x.to, done](caf::error& err) {
        done(dm_outcome::not_here, {},
             make_error(dm_code_of_store_error(err),
                        "looking up user " + to + ": " + self->system().render(err)));
      });
}

const std::string* service_state::hinted_node(const std::string& uid) {
  if (users.find(uid) != nullptr)
    return nullptr; // here: no lookup needed, and no hint
  auto* node = hints.find(uid);
  if (node != nullptr)
    ++hinted;
  return node;
}

void service_state::hint_missed(const std::string& uid, const std::string& node) {
  ++hint_misses;
  hints.remove(uid, node);
}

void service_state::send_disconnect(const std::string& to_node, const std::string& from,
                                    const std::string& to, byte_buffer message) {
  if (to_node == self_address)
    return on_peer_disconnected(self, to, from, self_address, std::move(message));
  send_wire(self, to_node,
            encode(dm_closed{close_reason::disconnect, from, to, 0, 0, std::move(message)}));
}

/// Forgets that `session`'s receiver is an actor it watches.
void forget_actor_sink(service_actor* self, const user_session& session) {
  auto& st = self->state;
  if (!session.sink())
    return;
  auto addr = session.sink().address();
  auto [first, last] = st.actor_sinks.equal_range(addr);
  for (auto i = first; i != last; ++i)
    if (i->second == session.uid()) {
      st.actor_sinks.erase(i);
      break;
    }
  if (st.actor_sinks.count(addr) == 0)
    self->demonitor(addr);
}

void service_state::logout(const std::string& uid, uint64_t id, std::function<void()> done) {
  auto* current = users.find(uid);
  if (current == nullptr || (*current)->id() != id)
    return done(); // replaced by a newer login: the location is that one's
  forget_actor_sink(self, **current);
  users.erase(uid);
  ++logouts;
  announce(self, locations_op::left, uid);
  self
    ->request(store, caf::infinite, store_del_if_atom::value, location_key(uid), self_address,
              caf::timespan{login_timeout})
    .then([done](bool) { done(); },
          [done, uid](caf::error& err) {
            // The entry is owned: it goes with this node anyway.
            log()->warn("could not remove the location of user {}: {}", uid, to_string(err));
            done();
          });
}

/// SendMessageByUserID from `session`, its outcome the answer of `rp`.
void send_answering(user_session& session, const std::string& to, uint8_t ver, uint16_t cmd,
                    byte_buffer message, caf::timespan timeout, caf::response_promise rp) {
  auto err = session.send(to, ver, cmd, std::move(message), timeout, [rp](caf::error e) mutable {
    if (e)
      rp.deliver(std::move(e));
    else
      rp.deliver(caf::unit);
  });
  if (err)
    rp.deliver(std::move(err));
}

/// A message to the actor of session `id` of `uid` (session_actor.hpp).
void on_session_call(service_actor* self, const std::string& uid, uint64_t id, caf::message& m,
                     caf::response_promise rp) {
  auto& st = self->state;
  bool request = self->current_mailbox_element()->mid.is_request();
  auto* current = st.users.find(uid);
  if (current == nullptr || (*current)->id() != id) {
    if (request)
      rp.deliver(make_error(caf::sec::request_receiver_down));
    return;
  }
  auto session = *current; // the handlers may end it
  if (m.match_elements<dm_client_send_atom, uint32_t, std::string, uint8_t, uint16_t, byte_buffer,
                       caf::timespan>()) {
    session->client_send(m.get_as<uint32_t>(1), m.get_as<std::string>(2), m.get_as<uint8_t>(3),
                         m.get_as<uint16_t>(4), std::move(m.get_mutable_as<byte_buffer>(5)),
                         m.get_as<caf::timespan>(6));
  } else if (m.match_elements<dm_send_atom, std::string, uint8_t, uint16_t, byte_buffer,
                              caf::timespan>()) {
    send_answering(*session, m.get_as<std::string>(1), m.get_as<uint8_t>(2), m.get_as<uint16_t>(3),
                   std::move(m.get_mutable_as<byte_buffer>(4)), m.get_as<caf::timespan>(5),
                   std::move(rp));
  } else if (m.match_elements<dm_clear_atom, std::string, uint8_t, uint16_t, byte_buffer>()) {
    session->clear(m.get_as<std::string>(1), m.get_as<uint8_t>(2), m.get_as<uint16_t>(3),
                   std::move(m.get_mutable_as<byte_buffer>(4)));
  } else if (m.match_elements<dm_client_clear_atom, std::string, uint8_t, uint16_t,
                              byte_buffer>()) {
    session->client_clear(m.get_as<std::string>(1), m.get_as<uint8_t>(2), m.get_as<uint16_t>(3),
                          std::move(m.get_mutable_as<byte_buffer>(4)));
  } else if (m.match_elements<dm_disconnect_atom>()) {
    session->disconnect(std::move(rp));
  } else if (m.match_elements<caf::exit_msg>()) {
    // As any actor that does not trap exits: a normal exit is ignored,
    // another ends the session, here with its disconnect.
    if (auto& reason = m.get_as<caf::exit_msg>(0).reason)
      session->disconnect(caf::response_promise{}, reason);
  } else {
    log()->warn("user {}'s session got a message it does not take: {}", uid, to_string(m));
    if (request)
      rp.deliver(make_error(caf::sec::unexpected_message));
  }
}

std::string stats_json(service_actor* self) {
  auto& st = self->state;
  std::map<std::string, uint64_t> outcomes; // the ones that happened, by name
  for (size_t i = 1; i < st.outcomes.size(); ++i)
    if (st.outcomes[i] > 0)
      outcomes[to_string(static_cast<dm_outcome>(i))] = st.outcomes[i];
  nlohmann::json j{
    {"node", st.self_address},
    {"users", st.users.size()},
    {"logins", st.logins},
    {"logouts", st.logouts},
    {"sent_remote", st.sent_remote},
    {"replaced", st.replaced},
    {"sent_local", st.sent_local},
    {"received_remote", st.received_remote},
    {"clears", st.clears},
    {"pending", st.pending.size()},
    {"timeouts", st.timeouts},
    {"channels_closed", st.channels_closed},
    {"finds", st.finds},
    {"forwarded", st.forwarded},
    {"finds_again", st.finds_again},
    {"answered_again", st.answered_again},
    {"hinted", st.hinted},
    {"hint_misses", st.hint_misses},
    {"hints", st.hints.size()},
    {"hint_subscribers", st.hint_subscribers.size()},
    {"parked", st.parked.size()},
    {"malformed", st.malformed},
    {"outcomes", outcomes},
  };
  return j.dump();
}

void add_hook(service_actor* self, dm_hook_registration& r) {
  auto next = std::make_shared<dm_hooks>(*self->state.hook_set);
  using kind = dm_hook_registration::kind;
  switch (r.what) {
    case kind::message:
      next->on_message.push_back({std::move(r.on_message), std::move(r.actor)});
      break;
    case kind::receive_message:
      next->on_receive_message.push_back({std::move(r.on_receive_message), std::move(r.actor)});
      break;
    case kind::user_disconnect:
      next->on_user_disconnect.push_back({std::move(r.on_user_disconnect), std::move(r.actor)});
      break;
    case kind::clear_cache:
      next->on_clear_cache.push_back({std::move(r.on_clear_cache), std::move(r.actor)});
      break;
  }
  self->state.hook_set = std::move(next);
}

/// A login: the user's session (its receiver `sink` or `direct_sink`),
/// whose location the store has before the answer.
caf::result<caf::actor> login(service_actor* self, const std::string& uid, caf::actor sink,
                              std::shared_ptr<user_sink> direct_sink) {
  auto& st = self->state;
  if (!valid_user_id(uid))
    return make_error(dm_errc::bad_user_id,
                      "a user id has 1 to 256 bytes, not " + std::to_string(uid.size()));
  auto id = ++st.last_session_id;
  auto handle
    = session_actor::make(self->system(), caf::actor_cast<caf::strong_actor_ptr>(self), uid, id);
  auto session = std::make_shared<user_session>(st, uid, id, st.stream_salt + id, handle,
                                                std::move(sink), std::move(direct_sink));
  if (session->sink()) {
    self->monitor(session->sink());
    st.actor_sinks.emplace(session->sink().address(), uid);
  }
  if (auto before = st.users.put(session)) {
    forget_actor_sink(self, *before);
    before->replaced("logged in again on this node");
  }
  ++st.logins;
  auto rp = self->make_response_promise();
  st.storing.emplace(id, std::string{});
  self
    ->request(st.store, caf::infinite, store_swap_atom::value, location_key(uid), st.self_address,
              uint32_t{0}, true, caf::timespan{login_timeout})
    .then(
      [=](std::optional<std::string>& before) mutable {
        auto& st = self->state;
        auto replaced_by = std::move(st.storing[id]);
        st.storing.erase(id);
        // Logged in on another node before: its session there ends.
        if (before && *before != st.self_address)
          send_wire(self, *before,
                    encode(dm_closed{close_reason::replaced, st.self_address, uid, 0, 0, {}}));
        rp.deliver(handle);
        announce(self, locations_op::here, uid);
        if (!replaced_by.empty())
          on_replaced(self, uid, replaced_by);
      },
      [=](caf::error& err) mutable {
        auto& st = self->state;
        st.storing.erase(id);
        if (auto* current = st.users.find(uid); current != nullptr && *current == session) {
          forget_actor_sink(self, *session);
          st.users.erase(uid);
          announce(self, locations_op::left, uid);
        }
        session->stop(caf::exit_reason::user_shutdown, "the login failed");
        rp.deliver(make_error(dm_code_of_store_error(err), "storing the location of user " + uid
                                                             + ": " + self->system().render(err)));
      });
  return rp;
}

/// An actor that receives users' messages ended: its users disconnect.
void on_sink_down(service_actor* self, const caf::actor_addr& sink) {
  auto& st = self->state;
  auto [first, last] = st.actor_sinks.equal_range(sink);
  std::vector<std::string> uids;
  for (auto i = first; i != last; ++i)
    uids.push_back(i->second);
  st.actor_sinks.erase(sink);
  for (const auto& uid : uids)
    if (auto* current = st.users.find(uid);
        current != nullptr && (*current)->sink().address() == sink)
      (*current)->disconnect(caf::response_promise{});
}

caf::behavior dm_service(service_actor* self, const caf::actor& node, caf::actor store,
                         const caf::actor& transport, std::string self_address,
                         const dm_config& cfg) {
  auto& st = self->state;
  st.self = self;
  st.max_out = std::max(cfg.messages_out_per_peer, uint32_t{1});
  st.want_hints = cfg.location_hints;
  st.node = node;
  st.store = std::move(store);
  st.transport = transport;
  st.self_address = std::move(self_address);
  for (auto kind : all_dm_kinds)
    self->send(transport, route_atom::value, static_cast<uint8_t>(kind),
               caf::actor_cast<caf::actor>(self));
  self->send(node, subscribe_atom::value, caf::actor_cast<caf::actor>(self));
  self->send(st.store, store_subscribe_atom::value, caf::actor_cast<caf::actor>(self),
             store_event_mask({store_event::kind::owned_taken}));
  self->request(st.store, caf::infinite, store_ring_view_atom::value)
    .then([=](std::shared_ptr<const ring_view>& view) { self->state.ring = std::move(view); },
          [](caf::error&) {}); // the store ended: lookups fail there
  self->monitor(node);
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& st = self->state;
    if (msg.source != st.node)
      return on_sink_down(self, msg.source);
    st.stop_sessions(caf::exit_reason::user_shutdown, "the node's DM service stopped");
    fail_pending(self, st.pending.expire(UINT64_MAX), "the node stopped");
    for (auto& p : std::exchange(st.parked, {}))
      fail_pending(self, {std::move(p.entry)}, "the node stopped");
    self->quit(caf::exit_reason::user_shutdown); // linked to it, the client gateway ends too
  });
  return {
    // -- logins -----------------------------------------------------------------
    [=](dm_connect_atom, std::string& uid, caf::actor& sink) -> caf::result<caf::actor> {
      if (!sink)
        return make_error(dm_errc::bad_user_id, "a login needs an actor for the user's messages");
      return login(self, uid, std::move(sink), nullptr);
    },
    [=](dm_connect_atom, std::string& uid,
        std::shared_ptr<user_sink>& sink) -> caf::result<caf::actor> {
      if (!sink)
        return make_error(dm_errc::bad_user_id, "a login needs a sink for the user's messages");
      return login(self, uid, caf::actor{}, std::move(sink));
    },
    // -- the sessions' actors ---------------------------------------------------
    [=](dm_session_call_atom, std::string& uid, uint64_t id,
        caf::message& m) -> caf::result<caf::message> {
      auto rp = self->make_response_promise();
      on_session_call(self, uid, id, m, rp);
      return rp;
    },
    // -- sending ----------------------------------------------------------------
    [=](dm_send_atom, std::string& from, std::string& to, uint8_t ver, uint16_t cmd,
        byte_buffer& message, caf::timespan timeout) -> caf::result<void> {
      auto* sender = self->state.users.find(from);
      if (sender == nullptr)
        return make_error(dm_errc::user_not_found,
                          "the sender " + from + " is not connected to this node");
      auto rp = self->make_response_promise();
      send_answering(**sender, to, ver, cmd, std::move(message), timeout, rp);
      return rp;
    },
    [=](dm_tick_atom) {
      auto& st = self->state;
      st.timer_at = UINT64_MAX;
      fail_pending(self, st.pending.expire(steady_micros()),
                   "the recipient's node did not answer in time");
      arm_timer(self);
    },
    // -- the mesh -------------------------------------------------------------------
    [=](received_atom, const std::string& peer, const packed_messages& batch, bool) {
      on_received(self, peer, batch);
    },
    [=](flush_atom) {
      self->state.deferred.arrived();
      self->state.outbox.flush(self, self->state.transport);
    },
    [=](send_failed_atom, const std::string& peer, const caf::error& err) {
      on_unreachable(self, peer);
      lost_peer(self, peer, "could not reach " + peer + ": " + to_string(err));
    },
    [=](const node_event& e) {
      if (e.what == node_event::kind::node_joined) {
        on_node_joined(self, e.subject);
      } else if (e.what == node_event::kind::node_left) {
        on_node_left(self, e.subject);
        lost_peer(self, e.subject, "node " + e.subject + " left before it answered");
      }
    },
    [=](const store_event& e) {
      if (e.what == store_event::kind::owned_taken)
        on_owned_taken(self, e.key, e.peer);
    },
    [=](dm_refind_atom) {
      self->state.refind_scheduled = false;
      refind(self);
    },
    // -- hooks and stats ----------------------------------------------------------------
    [=](dm_add_hook_atom, dm_hook_registration& r) { add_hook(self, r); },
    [=](dm_stats_atom) { return stats_json(self); },
  };
}

} // namespace

caf::actor spawn_dm_service(caf::actor_system& sys, caf::actor node, caf::actor store,
                            caf::actor transport, std::string self_address, const dm_config& cfg) {
  return sys.spawn(dm_service, std::move(node), std::move(store), std::move(transport),
                   std::move(self_address), cfg);
}

} // namespace meshrt
