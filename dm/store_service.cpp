#include "dm/store_service.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "actors/mesh_outbox.hpp"
#include "actors/node_atoms.hpp"
#include "actors/pending_requests.hpp"
#include "actors/request_correlator.hpp"
#include "dm/hash_ring.hpp"
#include "dm/location_shard.hpp"
#include "dm/ring_view.hpp"
#include "dm/slot_ops.hpp"
#include "dm/store_atoms.hpp"
#include "dm/store_error.hpp"
#include "dm/store_wire.hpp"
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

/// Migration batches in flight to one node before the pacing waits for
/// its acks.
constexpr uint32_t migration_window = 4;
/// How soon a shard left owning a slot that is not this node's (its
/// handoff was refused, or its new owner went away) is handed off again.
constexpr std::chrono::milliseconds reeval_pause{200};
/// How long a re-assertion of an owned entry waits for its answer (the new
/// holder may not know yet that it holds the slot, and forward it to the
/// node that is gone), how soon one that failed is tried again, and how
/// often at most.
constexpr std::chrono::milliseconds reassert_timeout{400};
constexpr std::chrono::milliseconds reassert_pause{100};
constexpr int max_reasserts = 100;
/// Nodes that left, remembered for redirects that still name them.
constexpr size_t max_gone = 256;
/// How long after a change of its ring this node names, in the requests it
/// sends, the node that held their slot before if that node left the view:
/// the other nodes' views lose it within about a second of each other.
constexpr std::chrono::seconds lagging_view_window{3};
/// How long a graceful leave waits for its handoffs before it leaves
/// anyway.
constexpr std::chrono::seconds max_leave_handoff{30};

/// Answers the caller of one request (or the gather of a many-request).
using waiter = std::function<void(store_response&)>;

int64_t now_ms() {
  return static_cast<int64_t>(steady_micros() / 1000);
}

void fail(const waiter& w, store_errc code, std::string text) {
  store_response r;
  r.status = static_cast<uint8_t>(code);
  r.error = std::move(text);
  w(r);
}

caf::error error_of(const store_response& r) {
  return make_error(static_cast<store_errc>(r.status), r.error);
}

/// A request waiting for its answer: who hears it, and for a request that
/// may be sent again (sent_again_safely) the request itself, to send it to
/// the slot's new owner if the node it went to leaves before it answers.
struct pending_op {
  waiter w;
  std::shared_ptr<const store_request> again;
};

bool is_read(store_op op) {
  return op == store_op::get || op == store_op::get_many;
}

/// Whether `req` may go to the slot's new owner when the node it went to
/// leaves unanswered: a read, or a write whose second doing leaves the same
/// state (a set, a delete, which may then answer that the key was not
/// there, an owned entry set again, the swap of an owned entry: a login,
/// which hears its own node if the first was done). Not an increment, nor
/// a set-if-absent, whose second doing would answer "there" to the write
/// that put it there.
bool sent_again_safely(const store_request& req) {
  switch (req.op) {
    case store_op::get:
    case store_op::get_many:
    case store_op::set:
    case store_op::set_many:
    case store_op::del:
    case store_op::del_if_equal:
    case store_op::reassert:
      return true;
    case store_op::swap:
      return !req.records.empty() && !req.records.front().owner.empty();
    default:
      return false;
  }
}

struct view_entry {
  std::string type;
  node_status status = node_status::online;
};

/// A request of this node held for its first view, or for a ring that still
/// names a node the view has lost (its rebuild queued).
struct held_request {
  store_request req;
  waiter w;
  uint64_t deadline_us = 0;
  /// For a stats request: the node asked (it goes there, not by the ring).
  std::string stats_of = {};
};

/// A request from another node that came before this node's first view
/// (the ring says nothing yet, though the sender's already counts this
/// node), or one whose slot this node's ring still gives to the node its
/// sender lost (`gone`): views change node by node.
struct held_wire_request {
  uint16_t slot = 0;
  byte_buffer bytes;
  uint64_t deadline_us = 0;
  std::string gone = {};
};

/// A migration pull from another node that came before this node's first
/// view.
struct held_pull {
  std::string from;
  byte_buffer bytes;
};

/// Requests (and pulls) from other nodes held before the first view or for
/// a ring that lags, at most: beyond, one is routed at once (a flood must
/// not grow the node without bound).
constexpr size_t max_held_wire = 10000;

/// An entry this node set as owned: what it sets again when its holder is
/// lost.
struct owned_entry {
  std::string value;
  int64_t expires_ms = 0; // 0: no TTL
  int attempts = 0;
  /// The version its holder stored (store_wire.hpp).
  uint64_t version = 0;
};

/// One slot's handoff as the pacing sees it.
struct handoff_progress {
  std::chrono::steady_clock::time_point start;
  uint64_t keys = 0;
  uint64_t bytes = 0;
};

struct service_state {
  caf::actor node;
  caf::actor transport;
  dm_config cfg;
  std::string self_address;
  mesh_outbox outbox;
  transport::deferred_flush deferred;

  // -- the view and the ring ----------------------------------------------
  std::map<std::string, view_entry> view;
  int view_queries = 0; // node records asked for and not answered yet
  bool synced = false;  // the node's initial sync came
  bool ready = false;   // synced, and every record of the first view known
  bool rebuild_queued = false;
  bool reeval_scheduled = false;
  hash_ring ring;
  /// The ring before the last change, and until when its owners that left
  /// are named in requests (lagging_view_window).
  hash_ring ring_before;
  uint64_t ring_before_until_us = 0;
  /// The ring for the node's other actors (the DM service).
  std::shared_ptr<ring_view> shared_ring = std::make_shared<ring_view>();
  std::string refused; // the node set last refused for ring_too_small
  /// Nodes that left the view lately and did not come back (most recent
  /// last, at most max_gone): a pull a redirect sends to one of them would
  /// wait for an answer that never comes.
  std::deque<std::string> gone;
  /// Storage nodes that said they leave (migration step `leaving`): out of
  /// the ring until they leave the view, whatever their status says
  /// meanwhile (it lags behind, and a record learned later may still say
  /// online: the ring would hand them slots again, and a slot on its way
  /// to a node that has gone loses the requests it forwards there).
  std::set<std::string> leavers;

  // -- shards, by slot (a null handle: none) ---------------------------------
  std::vector<caf::actor> shards;
  std::vector<shard_mode> modes;
  /// The shard of each group of slots (location_shard.hpp), spawned when
  /// the node first has a slot of it; `shards` names it for each slot this
  /// node has.
  std::vector<caf::actor> groups;
  /// The requests of one delivery from the wire, by group: one message per
  /// shard.
  std::map<uint16_t, std::vector<byte_buffer>> to_shards;
  /// incoming: the old owner; outgoing, moved: the new one ("" if gone).
  std::vector<std::string> peers;
  /// By slot, on every node: the holder this node's ring last moved the
  /// slot from with a handoff ("" none). Should it leave the view before
  /// it sent every key, those keys are on no node, and the slot's owner
  /// stays the same: the owned entries of such slots are set again when
  /// their old holder leaves (this node cannot see a handoff end).
  std::vector<std::string> pulled_from;

  // -- requests ----------------------------------------------------------
  pending_requests<pending_op> pending;
  uint64_t timer_at = UINT64_MAX;
  /// Requests whose node left before it answered, sent again once the ring
  /// goes without it (store_reread_atom).
  std::vector<pending_requests<pending_op>::entry> rereads;
  std::vector<held_request> held;
  std::vector<held_wire_request> held_wire;
  std::vector<held_pull> held_pulls;

  // -- migration pacing -------------------------------------------------
  std::deque<uint16_t> outgoing;
  std::map<uint16_t, handoff_progress> progress;
  std::map<std::string, uint32_t> unacked;
  bool pump_scheduled = false;
  bool pumping = false;
  uint64_t move_slots = 0, move_keys = 0, move_bytes = 0;
  std::chrono::steady_clock::time_point move_start;

  // -- owned entries, leave, subscribers -------------------------------------
  std::unordered_map<std::string, owned_entry> owned;
  /// The last version this node gave or saw (next_version).
  uint64_t version_clock = 0;
  bool leaving = false;
  bool left = false;
  std::vector<caf::response_promise> leave_promises;
  /// Subscribers, each with the kinds it asked for (store_event_mask).
  std::vector<std::pair<caf::actor, uint32_t>> subscribers;

  // -- counters ----------------------------------------------------------
  uint64_t requests = 0;
  uint64_t forwarded = 0;
  uint64_t timeouts = 0;
  uint64_t reads_again = 0;   // sent again after their node left the view
  uint64_t writes_again = 0;  // the same
  uint64_t requests_held = 0; // held for this node's first or next ring
  uint64_t late_responses = 0;
  uint64_t malformed = 0;
  uint64_t handed_over_slots = 0;
  uint64_t handed_over_keys = 0;
  uint64_t migrations_done = 0; // handovers finished (each a migration_done event)
  uint64_t taken_over_slots = 0;
  uint64_t reasserted = 0;
  uint64_t owned_taken = 0; // owned entries another node wrote since

  static inline const char* name = "meshrt.store";
};

using service_actor = caf::stateful_actor<service_state>;

const std::shared_ptr<spdlog::logger>& log() {
  static auto result = logger("store");
  return result;
}

void emit(service_actor* self, const store_event& e) {
  for (const auto& [sub, kinds] : self->state.subscribers)
    if (asks_for(kinds, e.what))
      self->send(sub, e);
}

bool in_view(service_actor* self, const std::string& address) {
  return self->state.view.count(address) != 0;
}

bool is_gone(service_actor* self, const std::string& address) {
  const auto& gone = self->state.gone;
  return std::find(gone.begin(), gone.end(), address) != gone.end();
}

// -- routing -------------------------------------------------------------------

void send_wire(service_actor* self, const std::string& peer, const byte_buffer& bytes) {
  auto& st = self->state;
  st.outbox.queue_and_flush(self, st.transport, peer, bytes, true, st.deferred);
}

/// Where a request for `slot` goes from here: this node's shard if it has
/// one, else the ring's owner (a request that came over the wire is then
/// forwarded, one hop more). A shard that moved its slot knows where it
/// went, so requests from the wire follow it: the ring may not say so yet.
/// This node's own requests skip such a shard when the ring names another
/// owner (a shard long moved points at a holder that may have moved it on).
void route(service_actor* self, uint16_t slot, byte_buffer bytes, bool from_wire) {
  auto& st = self->state;
  const auto& owner = st.ring.owner(slot);
  if (st.shards[slot]
      && (st.modes[slot] != shard_mode::moved || (from_wire && !st.peers[slot].empty())
          || owner == st.self_address || owner.empty())) {
    if (from_wire)
      st.to_shards[shard_group_of(slot)].push_back(std::move(bytes)); // on_received sends them
    else
      self->send(st.shards[slot], shard_request_atom::value, std::move(bytes));
    return;
  }
  if (!owner.empty() && owner != st.self_address && (!from_wire || add_hop(bytes))) {
    if (from_wire)
      ++st.forwarded;
    send_wire(self, owner, bytes);
    return;
  }
  auto req = decode_store_request(bytes);
  if (!req)
    return;
  store_response resp;
  resp.id = req->id;
  resp.status = static_cast<uint8_t>(store_errc::no_storage_nodes);
  resp.error = owner.empty() ? "no storage node answers for slot " + std::to_string(slot)
                             : "slot " + std::to_string(slot) + " found no owner in "
                                 + std::to_string(max_store_hops) + " hops";
  if (req->origin == st.self_address) {
    if (auto e = st.pending.take(resp.id))
      e->waiter.w(resp);
  } else {
    send_wire(self, req->origin, encode(resp));
  }
}

void arm_timer(service_actor* self) {
  auto& st = self->state;
  auto deadline = st.pending.next_deadline();
  for (const auto& h : st.held)
    deadline = std::min(deadline, h.deadline_us);
  for (const auto& h : st.held_wire)
    deadline = std::min(deadline, h.deadline_us);
  if (deadline >= st.timer_at)
    return;
  st.timer_at = deadline;
  auto now = steady_micros();
  self->delayed_send(self, std::chrono::microseconds{deadline > now ? deadline - now : 0},
                     store_tick_atom::value);
}

/// The node that held `slot` before this node's ring last changed, if it
/// left the view since and the change is recent: a node whose view still
/// holds it would route the request there, and holds it instead when the
/// request names it (`gone`).
std::string lost_owner(service_actor* self, uint16_t slot) {
  auto& st = self->state;
  if (st.ring_before.empty())
    return {};
  if (steady_micros() >= st.ring_before_until_us) {
    st.ring_before = hash_ring{};
    return {};
  }
  if (slot >= st.ring_before.slots())
    return {};
  const auto& was = st.ring_before.owner(slot);
  if (was == st.ring.owner(slot) || !is_gone(self, was))
    return {};
  return was;
}

/// Files `req` for `slot` (its owner by the ring) and sends it.
void send_one(service_actor* self, store_request req, uint16_t slot, uint64_t deadline_us,
              waiter w) {
  auto& st = self->state;
  if (st.rebuild_queued && is_gone(self, st.ring.owner(slot))) {
    // The view lost the slot's owner and the ring's rebuild is queued
    // behind this request: sent now, it would go to a node that left, after
    // the reads owed by that node were sent again.
    ++st.requests_held;
    st.held.push_back(held_request{std::move(req), std::move(w), deadline_us});
    arm_timer(self);
    return;
  }
  req.slot = slot;
  req.origin = st.self_address;
  req.hops = 0;
  req.gone = lost_owner(self, slot);
  auto kept = sent_again_safely(req) ? std::make_shared<store_request>(std::move(req)) : nullptr;
  // req is moved from only when kept holds it
  auto& sent = kept ? *kept : req; // NOLINT(bugprone-use-after-move)
  sent.id = st.pending.add(st.ring.owner(slot), static_cast<uint16_t>(sent.op), deadline_us,
                           {std::move(w), kept});
  route(self, slot, encode(sent), false);
  arm_timer(self);
}

/// A get_many / set_many: one part per slot, answered together.
void scatter(service_actor* self, store_request req, uint64_t deadline_us, waiter w) {
  auto& st = self->state;
  std::map<uint16_t, std::vector<size_t>> by_slot;
  for (size_t i = 0; i < req.records.size(); ++i)
    by_slot[static_cast<uint16_t>(st.ring.slot_of(req.records[i].key))].push_back(i);
  struct gather {
    store_response result;
    size_t left = 0;
    bool failed = false;
    waiter w;
  };
  auto g = std::make_shared<gather>();
  g->result.records.resize(req.op == store_op::get_many ? req.records.size() : 0);
  g->left = by_slot.size();
  g->w = std::move(w);
  if (by_slot.empty()) {
    g->w(g->result);
    return;
  }
  for (auto& entry : by_slot) {
    // (a structured binding cannot be captured in C++17)
    auto slot = entry.first;
    const auto& indices = entry.second;
    store_request part;
    part.op = req.op;
    part.timeout_ms = req.timeout_ms;
    for (auto i : indices)
      part.records.push_back(std::move(req.records[i]));
    send_one(self, std::move(part), slot, deadline_us, [g, indices](store_response& r) {
      if (g->failed)
        return;
      if (r.status != 0 || (g->result.records.size() && r.records.size() != indices.size())) {
        g->failed = true;
        if (r.status == 0) {
          r.status = static_cast<uint8_t>(store_errc::malformed);
          r.error = "a get_many part came back with the wrong number of records";
        }
        g->w(r);
        return;
      }
      for (size_t k = 0; k < r.records.size() && !g->result.records.empty(); ++k)
        g->result.records[indices[k]] = std::move(r.records[k]);
      if (--g->left == 0)
        g->w(g->result);
    });
  }
  self->state.outbox.flush(self, st.transport);
}

/// An operation of this node's caller, answered by `deadline_us`: checked,
/// then sent to the owner (held until the first view).
/// Why a request finds no ring: no storage node in the view, or (the
/// ring refused them) more storage nodes than storageRingSize allows.
std::pair<store_errc, std::string> empty_ring(service_actor* self) {
  auto& st = self->state;
  if (st.refused.empty())
    return {store_errc::no_storage_nodes, "no node of type " + st.cfg.storage_target_node_type
                                            + " (storageTargetNodeType) is in the view"};
  auto nodes = std::count(st.refused.begin(), st.refused.end(), ',');
  return {store_errc::ring_too_small, "storageRingSize " + std::to_string(st.cfg.storage_ring_size)
                                        + " must be greater than the " + std::to_string(nodes)
                                        + " storage nodes in the view: this node has no ring"};
}

void issue_by(service_actor* self, store_request req, uint64_t deadline_us, waiter w) {
  auto& st = self->state;
  if (!st.ready) {
    st.held.push_back(held_request{std::move(req), std::move(w), deadline_us});
    arm_timer(self);
    return;
  }
  ++st.requests;
  uint8_t code = 0;
  if (auto why = check_request(req, code); !why.empty())
    return fail(w, static_cast<store_errc>(code), why);
  if (st.ring.empty()) {
    auto [why_code, why] = empty_ring(self);
    return fail(w, why_code, why);
  }
  req.timeout_ms = wire_ms_until(deadline_us, steady_micros());
  if (req.op == store_op::get_many || req.op == store_op::set_many)
    return scatter(self, std::move(req), deadline_us, std::move(w));
  auto slot = static_cast<uint16_t>(st.ring.slot_of(req.records.front().key));
  send_one(self, std::move(req), slot, deadline_us, std::move(w));
}

/// The stats of the node at `address`, answered by `deadline_us`; held
/// until the first view (before it, this node could not reach the node).
void ask_stats(service_actor* self, const std::string& address, uint64_t deadline_us, waiter w) {
  auto& st = self->state;
  store_request req;
  req.op = store_op::stats;
  req.slot = service_slot;
  if (!st.ready) {
    st.held.push_back(held_request{std::move(req), std::move(w), deadline_us, address});
    arm_timer(self);
    return;
  }
  req.origin = st.self_address;
  req.timeout_ms = wire_ms_until(deadline_us, steady_micros());
  req.id = st.pending.add(address, static_cast<uint16_t>(store_op::stats), deadline_us,
                          {std::move(w), nullptr});
  send_wire(self, address, encode(req));
  arm_timer(self);
}

/// The same, answered within `timeout`.
void issue(service_actor* self, store_request req, caf::timespan timeout, waiter w) {
  auto deadline_us = steady_micros() + static_cast<uint64_t>(wire_timeout_ms(timeout)) * 1000;
  issue_by(self, std::move(req), deadline_us, std::move(w));
}

void on_response(service_actor* self, byte_view bytes) {
  auto& st = self->state;
  auto resp = decode_store_response(bytes);
  if (!resp) {
    ++st.malformed;
    log()->warn("dropped a malformed store response of {} bytes", bytes.size());
    return;
  }
  auto e = st.pending.take(resp->id);
  if (!e) {
    ++st.late_responses;
    return;
  }
  e->waiter.w(*resp);
}

/// Sends the requests whose node left the view again, each under its own id,
/// to the owner of its slot on the ring that goes without that node (the
/// new owner of a dead node's slot waits for the owned entries set again).
void reread(service_actor* self) {
  auto& st = self->state;
  auto now = steady_micros();
  auto again = std::exchange(st.rereads, {});
  // in the order they were issued (ids grow): a delete after a set stays
  // after it
  std::sort(again.begin(), again.end(), [](const auto& x, const auto& y) { return x.id < y.id; });
  for (auto& e : again) {
    if (e.deadline_us <= now) {
      ++st.timeouts;
      fail(e.waiter.w, store_errc::timeout,
           "storage node " + e.peer + " left the view before it answered, and the request found "
             + "no time left to go elsewhere");
      continue;
    }
    if (st.ring.empty()) {
      auto [code, why] = empty_ring(self);
      fail(e.waiter.w, code, why);
      continue;
    }
    auto req = *e.waiter.again;
    ++(is_read(req.op) ? st.reads_again : st.writes_again);
    req.hops = 0;
    req.gone = e.peer;
    req.timeout_ms = wire_ms_until(e.deadline_us, now);
    e.peer = st.ring.owner(req.slot);
    st.pending.put_back(std::move(e));
    route(self, req.slot, encode(req), false);
  }
  arm_timer(self);
}

// -- owned entries -------------------------------------------------------------

/// The version of an owned write: the wall clock in us, or one more than
/// the last version given or seen if that is ahead (a hybrid logical clock:
/// a later login on another node outranks an earlier one even when the two
/// nodes' clocks differ by less than the time between them, and a write
/// that replaced an entry outranks it whatever the clocks say).
uint64_t next_version(service_actor* self) {
  auto wall = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  auto& clock = self->state.version_clock;
  clock = std::max(clock + 1, static_cast<uint64_t>(std::max<int64_t>(wall, 0)));
  return clock;
}

/// A version the holder stored or answered: the next one given is larger.
void saw_version(service_actor* self, uint64_t version) {
  auto& clock = self->state.version_clock;
  clock = std::max(clock, version);
}

void reassert(service_actor* self, const std::string& key) {
  auto& st = self->state;
  auto i = st.owned.find(key);
  if (i == st.owned.end())
    return;
  auto& e = i->second;
  int64_t ttl = 0;
  if (e.expires_ms != 0) {
    ttl = e.expires_ms - now_ms();
    if (ttl <= 0) {
      st.owned.erase(i);
      return;
    }
  }
  ++st.reasserted;
  store_request req;
  req.op = store_op::reassert;
  req.records.push_back(
    store_record{key, true, e.value, static_cast<uint32_t>(ttl), st.self_address, e.version});
  issue(self, std::move(req), reassert_timeout, [self, key](store_response& r) {
    auto& st = self->state;
    auto i = st.owned.find(key);
    if (i == st.owned.end())
      return;
    if (r.status == 0 && r.number == 0) {
      // Another node wrote the key since (a user's login there): its entry
      // stands, and this node's is no longer its own.
      auto by = r.records.empty() ? std::string{} : r.records[0].owner;
      if (!r.records.empty())
        saw_version(self, r.records[0].version);
      st.owned.erase(i);
      ++st.owned_taken;
      emit(self, store_event{store_event::kind::owned_taken, 0, by, 0, 0, 0, key});
      return;
    }
    if (r.status == 0) {
      i->second.attempts = 0;
      i->second.version = std::max(i->second.version, r.version); // a newer write may be kept
      saw_version(self, r.version);
      return;
    }
    if (++i->second.attempts > max_reasserts) {
      log()->warn("gave up setting owned entry '{}' again: {}", key, r.error);
      return;
    }
    self->delayed_send(self, reassert_pause, store_reassert_atom::value, key);
  });
}

/// Sets again the owned entries whose key `lost` says their holder lost,
/// logging how many and `why`.
template<class Predicate>
void reassert_lost(service_actor* self, Predicate lost, const std::string& why) {
  std::vector<std::string> keys;
  for (const auto& [key, e] : self->state.owned)
    if (lost(key))
      keys.push_back(key);
  if (!keys.empty())
    log()->info("setting {} owned entries again: {}", keys.size(), why);
  for (const auto& key : keys)
    reassert(self, key);
}

/// Notes the slots that `before` -> the ring moves with a handoff, and
/// from whom.
void note_handoffs(service_actor* self, const hash_ring& before) {
  auto& st = self->state;
  if (before.empty() || before.slots() != st.ring.slots())
    return;
  st.pulled_from.resize(st.ring.slots());
  for (uint32_t s = 0; s < st.ring.slots(); ++s) {
    const auto& was = before.owner(s);
    if (was != st.ring.owner(s))
      st.pulled_from[s] = st.cfg.storage_migration && in_view(self, was) ? was : std::string{};
  }
}

/// `node` left the view: the owned entries of slots it was handing over
/// go to their new holder again (the keys it had not sent yet are lost
/// with it; for those it sent, the set changes nothing).
void reassert_pulled_from(service_actor* self, const std::string& node) {
  auto& st = self->state;
  if (std::find(st.pulled_from.begin(), st.pulled_from.end(), node) == st.pulled_from.end())
    return;
  reassert_lost(
    self, [&](const std::string& key) { return st.pulled_from[st.ring.slot_of(key)] == node; },
    node + ", which handed their slots over, is gone");
  for (auto& holder : st.pulled_from)
    if (holder == node)
      holder.clear();
}

/// The owned entries whose holder changed from `before` to `after` and
/// did not hand them over: they go to their new holder again.
void reassert_moved(service_actor* self, const hash_ring& before) {
  auto& st = self->state;
  if (before.empty() || st.ring.empty())
    return;
  reassert_lost(
    self,
    [&](const std::string& key) {
      const auto& was = before.owner_of(key);
      return was != st.ring.owner_of(key) && (!st.cfg.storage_migration || !in_view(self, was));
    },
    "their storage node is gone");
}

// -- shards and the ring -------------------------------------------------------

void spawn_shard(service_actor* self, uint16_t slot, shard_mode mode, const std::string& peer) {
  auto& st = self->state;
  auto group = shard_group_of(slot);
  if (!st.groups[group]) {
    st.groups[group] = spawn_location_shard(self->system(), group, st.self_address,
                                            caf::actor_cast<caf::actor>(self), st.transport,
                                            st.cfg.storage_rebuild_window);
    st.shared_ring->publish_shards(st.groups);
  }
  st.shards[slot] = st.groups[group];
  self->send(st.shards[slot], shard_open_atom::value, slot, static_cast<uint8_t>(mode), peer);
  bool pulls = mode == shard_mode::incoming && !peer.empty();
  st.modes[slot] = pulls ? mode : shard_mode::owned;
  st.peers[slot] = pulls ? peer : std::string{};
}

void drop_outgoing(service_actor* self, uint16_t slot) {
  auto& st = self->state;
  st.progress.erase(slot);
  if (auto i = std::find(st.outgoing.begin(), st.outgoing.end(), slot); i != st.outgoing.end())
    st.outgoing.erase(i);
}

void stop_shard(service_actor* self, uint16_t slot) {
  auto& st = self->state;
  self->send(st.shards[slot], shard_close_atom::value, slot);
  st.shards[slot] = nullptr;
  st.modes[slot] = shard_mode::moved;
  drop_outgoing(self, slot);
}

/// The shard of `slot` answers for a slot the ring gives to `to`.
void give_away(service_actor* self, uint16_t slot, const std::string& to) {
  auto& st = self->state;
  if (!st.cfg.storage_migration || to.empty()) {
    stop_shard(self, slot);
    return;
  }
  self->send(st.shards[slot], shard_hand_to_atom::value, slot, to);
}

/// A slot on its way to a node that said it leaves goes where the ring
/// says now: back to this node's shard, on to the ring's owner, or, with
/// no storage node left, nowhere (as a rebuild to an empty ring does).
void redirect_from_leaver(service_actor* self, uint16_t slot) {
  auto& st = self->state;
  const auto& owner = st.ring.owner(slot);
  if (owner == st.self_address)
    self->send(st.shards[slot], shard_take_from_atom::value, slot, std::string{});
  else
    give_away(self, slot, owner);
}

std::vector<std::string> candidates(service_actor* self) {
  auto& st = self->state;
  std::vector<std::string> result;
  for (const auto& [address, e] : st.view)
    if (e.type == st.cfg.storage_target_node_type && e.status != node_status::offline
        && !(st.leaving && address == st.self_address) && st.leavers.count(address) == 0)
      result.push_back(address);
  return result;
}

void check_leave(service_actor* self);

void send_to_shards(service_actor* self);

/// Routes the requests held for a ring that did not name their owner yet,
/// or still named the node their sender lost; the others wait on.
void release_held_wire(service_actor* self) {
  auto& st = self->state;
  if (!st.ready)
    return;
  std::vector<held_wire_request> still;
  for (auto& h : std::exchange(st.held_wire, {})) {
    if (!h.gone.empty() && st.ring.owner(h.slot) == h.gone)
      still.push_back(std::move(h));
    else
      route(self, h.slot, std::move(h.bytes), true);
  }
  st.held_wire.insert(st.held_wire.end(), std::make_move_iterator(still.begin()),
                      std::make_move_iterator(still.end()));
  send_to_shards(self);
}

/// Computes the ring from the view and moves what changed.
void rebuild_ring(service_actor* self) {
  auto& st = self->state;
  st.rebuild_queued = false;
  auto nodes = candidates(self);
  if (nodes == st.ring.nodes()) {
    check_leave(self);
    return;
  }
  std::string error;
  auto next = hash_ring::build(st.cfg.storage_ring_size, nodes, error);
  if (!next) {
    std::string key;
    for (const auto& n : nodes)
      key += n + ",";
    if (key != st.refused) {
      st.refused = key;
      log()->error("refusing the new storage nodes: {} (store_errc::ring_too_small); the ring "
                   "stays on its {} nodes",
                   error, st.ring.nodes().size());
      for (const auto& n : nodes)
        if (!std::binary_search(st.ring.nodes().begin(), st.ring.nodes().end(), n))
          emit(self, store_event{store_event::kind::ring_refused, 0, n, nodes.size(), 0, 0});
    }
    return;
  }
  st.refused.clear();
  bool self_storage = std::binary_search(nodes.begin(), nodes.end(), st.self_address);
  hash_ring before = st.ring;
  if (before.empty() && self_storage) {
    // This node's first ring: the slots it wins were the others' before.
    auto others = nodes;
    others.erase(std::find(others.begin(), others.end(), st.self_address));
    std::string ignored;
    if (auto r = hash_ring::build(st.cfg.storage_ring_size, others, ignored))
      before = *r;
  }
  st.ring = *next;
  st.shared_ring->publish(st.ring);
  st.ring_before = before;
  st.ring_before_until_us
    = steady_micros() + std::chrono::microseconds{lagging_view_window}.count();
  note_handoffs(self, before);
  if (st.ring.empty() && !before.empty()
      && std::any_of(st.shards.begin(), st.shards.end(),
                     [](const caf::actor& a) { return static_cast<bool>(a); }))
    log()->warn("no storage node is left to take this node's slots: their keys are gone");
  for (uint32_t s = 0; s < st.ring.slots(); ++s) {
    auto slot = static_cast<uint16_t>(s);
    const auto& now = st.ring.owner(s);
    const auto& was = before.empty() ? std::string{} : before.owner(s);
    auto& shard = st.shards[slot];
    if (now == st.self_address) {
      if (!shard) {
        // From a holder that can hand the slot over, it is pulled; else it
        // is taken over without its entries, which their owners set again
        // (reassert_moved): the shard waits for them a while.
        bool held = !was.empty() && was != st.self_address;
        bool pull = held && st.cfg.storage_migration && in_view(self, was);
        spawn_shard(self, slot, pull ? shard_mode::incoming : shard_mode::owned,
                    held ? was : std::string{});
      } else if (st.modes[slot] == shard_mode::moved || st.modes[slot] == shard_mode::outgoing) {
        self->send(shard, shard_take_from_atom::value, slot,
                   in_view(self, was) ? was : std::string{});
      }
    } else if (shard && st.modes[slot] != shard_mode::moved) {
      give_away(self, slot, now);
    }
  }
  log()->info("{}: ring of {} storage nodes, {} of {} slots here", st.self_address, nodes.size(),
              self_storage ? st.ring.slots_of(st.self_address).size() : 0, st.ring.slots());
  emit(self, store_event{store_event::kind::ring_changed, 0, {}, nodes.size(), 0, 0});
  reassert_moved(self, before);
  release_held_wire(self);
  check_leave(self);
}

/// Issues the requests of this node held for its first ring, or for a
/// ring that still named a node the view had lost; their time runs on.
void release_held(service_actor* self) {
  auto& st = self->state;
  for (auto& h : std::exchange(st.held, {}))
    if (!h.stats_of.empty())
      ask_stats(self, h.stats_of, h.deadline_us, std::move(h.w));
    else
      issue_by(self, std::move(h.req), h.deadline_us, std::move(h.w));
}

/// The ring from the view, then the requests that waited for it.
void rebuild(service_actor* self) {
  rebuild_ring(self);
  release_held(self);
}

void queue_rebuild(service_actor* self) {
  auto& st = self->state;
  if (!st.ready || st.rebuild_queued)
    return;
  st.rebuild_queued = true;
  self->send(self, store_reeval_atom::value, true);
}

/// Shards left owning a slot the ring gives elsewhere hand it off again;
/// shards whose slot went elsewhere (its old owner sent it on after all)
/// while the ring gives it here pull it again.
void reeval(service_actor* self) {
  auto& st = self->state;
  st.reeval_scheduled = false;
  for (uint32_t s = 0; s < st.ring.slots(); ++s) {
    auto slot = static_cast<uint16_t>(s);
    if (!st.shards[slot])
      continue;
    bool ours = st.ring.owner(s) == st.self_address;
    if (st.modes[slot] == shard_mode::owned && !ours)
      give_away(self, slot, st.ring.owner(s));
    else if (st.modes[slot] == shard_mode::moved && ours)
      self->send(st.shards[slot], shard_take_from_atom::value, slot, std::string{});
  }
  check_leave(self);
}

void schedule_reeval(service_actor* self) {
  auto& st = self->state;
  if (st.reeval_scheduled)
    return;
  st.reeval_scheduled = true;
  self->delayed_send(self, reeval_pause, store_reeval_atom::value, false);
}

// -- the pacing of outgoing slots ----------------------------------------------

void schedule_pump(service_actor* self, std::chrono::milliseconds after) {
  auto& st = self->state;
  if (st.pump_scheduled)
    return;
  st.pump_scheduled = true;
  if (after.count() == 0)
    self->send(self, store_pump_atom::value);
  else
    self->delayed_send(self, after, store_pump_atom::value);
}

void finish_move(service_actor* self) {
  auto& st = self->state;
  if (st.move_slots == 0)
    return;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now()
                                                                  - st.move_start)
              .count();
  log()->info("migration done: {} slots, {} keys, {} bytes handed over in {} ms", st.move_slots,
              st.move_keys, st.move_bytes, ms);
  ++st.migrations_done;
  emit(self, store_event{store_event::kind::migration_done,
                         0,
                         {},
                         st.move_keys,
                         st.move_bytes,
                         static_cast<uint64_t>(ms)});
  st.move_slots = st.move_keys = st.move_bytes = 0;
}

void pump(service_actor* self) {
  auto& st = self->state;
  st.pump_scheduled = false;
  if (st.pumping)
    return;
  // The first slot in line whose new owner has room in its window: a slow
  // or dead peer holds up only its own slots.
  std::optional<uint16_t> next;
  for (auto i = st.outgoing.begin(); i != st.outgoing.end();) {
    if (st.modes[*i] != shard_mode::outgoing) {
      st.progress.erase(*i);
      i = st.outgoing.erase(i);
      continue;
    }
    if (!next && st.unacked[st.peers[*i]] < migration_window)
      next = *i;
    ++i;
  }
  if (st.outgoing.empty()) {
    finish_move(self);
    check_leave(self);
    return;
  }
  if (!next)
    return; // an ack calls again
  auto slot = *next;
  auto to = st.peers[slot];
  st.pumping = true;
  self
    ->request(st.shards[slot], caf::infinite, shard_batch_atom::value, slot,
              st.cfg.storage_migration_batch_size)
    .then(
      [=](uint64_t keys, uint64_t bytes, bool done) {
        auto& st = self->state;
        st.pumping = false;
        auto& p = st.progress[slot];
        p.keys += keys;
        p.bytes += bytes;
        st.move_keys += keys;
        st.move_bytes += bytes;
        ++st.unacked[to];
        if (done) {
          auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - p.start)
                      .count();
          ++st.handed_over_slots;
          ++st.move_slots;
          st.handed_over_keys += p.keys;
          emit(self, store_event{store_event::kind::slot_handed_over, slot, to, p.keys, p.bytes,
                                 static_cast<uint64_t>(ms)});
          st.modes[slot] = shard_mode::moved;
          drop_outgoing(self, slot);
        }
        schedule_pump(self, st.cfg.storage_migration_interval);
      },
      [=](caf::error& err) {
        self->state.pumping = false;
        log()->warn("slot {}: its shard did not give a batch: {}", slot, to_string(err));
        drop_outgoing(self, slot);
        schedule_pump(self, self->state.cfg.storage_migration_interval);
      });
}

void on_mode(service_actor* self, uint16_t slot, shard_mode mode, const std::string& peer,
             uint64_t keys) {
  auto& st = self->state;
  if (slot >= st.modes.size() || !st.shards[slot])
    return;
  auto before = st.modes[slot];
  st.modes[slot] = mode;
  st.peers[slot] = peer;
  switch (mode) {
    case shard_mode::outgoing:
      if (st.leavers.count(peer) != 0) {
        // Handed to it before this node learned that it leaves (the shard's
        // word crossed the ring's rebuild): it would refuse the slot, and
        // once gone lose every request the slot forwards to it meanwhile.
        redirect_from_leaver(self, slot);
        break;
      }
      if (st.progress.count(slot) == 0) {
        if (st.outgoing.empty() && st.move_slots == 0)
          st.move_start = std::chrono::steady_clock::now();
        st.outgoing.push_back(slot);
      }
      st.progress[slot] = handoff_progress{std::chrono::steady_clock::now(), 0, 0};
      schedule_pump(self, std::chrono::milliseconds{0});
      break;
    case shard_mode::owned:
      if (before == shard_mode::incoming) {
        ++st.taken_over_slots;
        emit(self, store_event{store_event::kind::slot_taken_over, slot, peer, keys, 0, 0});
      }
      if (st.ring.owner(slot) != st.self_address)
        schedule_reeval(self);
      break;
    case shard_mode::moved:
      if (st.ring.owner(slot) == st.self_address)
        schedule_reeval(self);
      break;
    case shard_mode::incoming:
      // A redirect can name a holder that has died since (its sender had
      // not learned it yet): the shard would wait for it forever and
      // forward every request to it. The slot's entries went with it.
      if (is_gone(self, peer))
        self->send(st.shards[slot], shard_peer_gone_atom::value, peer);
      break;
  }
  check_leave(self);
}

// -- the graceful leave -----------------------------------------------------------

void finish_leave(service_actor* self) {
  auto& st = self->state;
  st.left = true;
  self->request(st.node, caf::infinite, leave_atom::value)
    .then(
      [=] {
        for (auto& rp : self->state.leave_promises)
          rp.deliver(caf::unit);
        self->state.leave_promises.clear();
      },
      [=](caf::error& err) {
        for (auto& rp : self->state.leave_promises)
          rp.deliver(err);
        self->state.leave_promises.clear();
      });
}

/// Leaves once no shard answers for a slot any more and every batch is
/// acknowledged.
void check_leave(service_actor* self) {
  auto& st = self->state;
  if (!st.leaving || st.left)
    return;
  for (size_t s = 0; s < st.shards.size(); ++s)
    if (st.shards[s] && st.modes[s] != shard_mode::moved && !st.ring.empty())
      return;
  // A leaver's acks are not waited for: it refuses what it did not
  // acknowledge, and with MARS gone it may stay in the view long after it
  // left (a batch its refusal crossed would hold this leave for 30 s).
  for (const auto& [peer, n] : st.unacked)
    if (n > 0 && in_view(self, peer) && st.leavers.count(peer) == 0)
      return;
  if (st.handed_over_slots > 0)
    log()->info("every slot is handed over; leaving");
  finish_leave(self);
}

// -- stats -------------------------------------------------------------------

void local_stats(service_actor* self, const std::function<void(std::string)>& done) {
  auto& st = self->state;
  auto j = std::make_shared<nlohmann::json>();
  std::map<std::string, uint64_t> by_mode{
    {"owned", 0}, {"incoming", 0}, {"outgoing", 0}, {"moved", 0}};
  for (size_t s = 0; s < st.shards.size(); ++s)
    if (st.shards[s])
      ++by_mode[to_string(st.modes[s])];
  std::vector<caf::actor> live;
  for (const auto& g : st.groups)
    if (g)
      live.push_back(g);
  auto it = st.view.find(st.self_address);
  bool storage
    = std::binary_search(st.ring.nodes().begin(), st.ring.nodes().end(), st.self_address);
  *j = nlohmann::json{
    {"node", st.self_address},
    {"type", it == st.view.end() ? std::string{} : it->second.type},
    {"storage", storage},
    {"ring_nodes", st.ring.nodes().size()},
    {"ring_members", st.ring.nodes()},
    {"ring_slots", st.ring.slots()},
    {"slots", by_mode},
    {"keys", 0},
    {"bytes", 0},
    {"shards_unanswered", 0},
    {"migrations_in_flight", by_mode["outgoing"] + by_mode["incoming"]},
    {"owned_entries", st.owned.size()},
    {"requests", st.requests},
    {"forwarded", st.forwarded},
    {"reads_again", st.reads_again},
    {"writes_again", st.writes_again},
    {"requests_held", st.requests_held},
    {"timeouts", st.timeouts},
    {"late_responses", st.late_responses},
    {"malformed", st.malformed},
    {"handed_over_slots", st.handed_over_slots},
    {"handed_over_keys", st.handed_over_keys},
    {"migrations_done", st.migrations_done},
    // slots went to their new owners and the handover's end (its
    // migration_done) is still to come, a pump later
    {"handover_open", st.move_slots > 0},
    {"taken_over_slots", st.taken_over_slots},
    {"reasserted", st.reasserted},
    {"owned_taken", st.owned_taken},
  };
  if (live.empty()) {
    done(j->dump());
    return;
  }
  auto left = std::make_shared<size_t>(live.size());
  auto keys = std::make_shared<uint64_t>(0);
  auto bytes = std::make_shared<uint64_t>(0);
  auto unanswered = std::make_shared<uint64_t>(0);
  auto one = [=] {
    if (--*left > 0)
      return;
    (*j)["keys"] = *keys;
    (*j)["bytes"] = *bytes;
    (*j)["shards_unanswered"] = *unanswered; // their keys are not in `keys`
    done(j->dump());
  };
  for (const auto& shard : live)
    self->request(shard, std::chrono::seconds{2}, shard_stats_atom::value)
      .then(
        [=](uint64_t k, uint64_t b) {
          *keys += k;
          *bytes += b;
          one();
        },
        [=](caf::error&) {
          ++*unanswered;
          one();
        });
}

// -- messages from other nodes ---------------------------------------------------

/// Sends the requests from the wire that route() gathered for shards, one
/// message per shard.
void send_to_shards(service_actor* self) {
  auto& st = self->state;
  for (auto& [group, requests] : st.to_shards)
    self->send(st.groups[group], shard_request_atom::value, std::move(requests));
  st.to_shards.clear();
}

void on_wire_request(service_actor* self, byte_view bytes) {
  auto& st = self->state;
  auto slot = request_slot(bytes);
  if (slot == service_slot) {
    auto req = decode_store_request(bytes);
    if (!req || req->op != store_op::stats) {
      ++st.malformed;
      log()->warn("dropped a store request for the service that is not a stats request");
      return;
    }
    local_stats(self, [self, id = req->id, origin = req->origin](std::string json) {
      store_response resp;
      resp.id = id;
      resp.records.push_back(store_record{"stats", true, std::move(json), 0, {}});
      send_wire(self, origin, encode(resp));
    });
    return;
  }
  if (bytes.size() <= request_hops_offset || slot >= st.shards.size()) {
    ++st.malformed;
    log()->warn("dropped a store request of {} bytes for slot {} (the ring has {} slots)",
                bytes.size(), slot, st.shards.size());
    return;
  }
  byte_buffer copy(bytes.data(), bytes.data() + bytes.size());
  // Routed once the first view names the owner (until then this node would
  // answer that no storage node holds the slot), or once the ring drops the
  // node the sender lost (until then it would go to a dead node).
  auto gone = request_gone(copy);
  if ((!st.ready || (!gone.empty() && st.ring.owner(slot) == gone))
      && st.held_wire.size() < max_held_wire) {
    if (auto req = decode_store_request(copy)) {
      auto deadline = steady_micros() + uint64_t{req->timeout_ms} * 1000;
      st.held_wire.push_back(held_wire_request{slot, std::move(copy), deadline, std::move(gone)});
      ++st.requests_held;
      arm_timer(self);
      return;
    }
  }
  route(self, slot, std::move(copy), true);
}

/// A migration message of `step` for `slot`, without records.
byte_buffer bare_step(migration_step step, uint16_t slot) {
  migration_message m;
  m.step = step;
  m.slot = slot;
  return encode(m);
}

/// `peer` refused `slot` because it leaves: its shard here answers for the
/// slot again, and the ring goes on without `peer` until it leaves the view.
void peer_leaving(service_actor* self, const std::string& peer, uint16_t slot) {
  auto& st = self->state;
  if (st.shards[slot])
    self->send(st.shards[slot], shard_migration_atom::value, peer,
               bare_step(migration_step::refuse, slot));
  if (!st.leavers.insert(peer).second)
    return;
  log()->info("{} is leaving: it takes no slots; counted out of the ring", peer);
  st.unacked.erase(peer); // what it did not acknowledge it refuses
  schedule_pump(self, std::chrono::milliseconds{0});
  queue_rebuild(self);
}

void on_wire_migration(service_actor* self, const std::string& peer, byte_view bytes) {
  auto& st = self->state;
  migration_step step;
  uint16_t slot = 0;
  if (!migration_head(bytes, step, slot) || slot >= st.shards.size()) {
    ++st.malformed;
    log()->warn("dropped a malformed migration message of {} bytes from {}", bytes.size(), peer);
    return;
  }
  byte_buffer copy(bytes.data(), bytes.data() + bytes.size());
  if (step == migration_step::pull && !st.ready && st.held_pulls.size() < max_held_wire) {
    // Before its first ring this node cannot tell whether the slot is its
    // own. Answered "nothing here", the puller would answer for the slot
    // while this node, its ring formed a moment later, answered for it as
    // well (dm/README.md); once it has a ring, it answers as a holder would.
    st.held_pulls.push_back(held_pull{peer, std::move(copy)});
    return;
  }
  if (step == migration_step::ack) {
    // The pacing counts it, the shard frees what it kept once all came.
    if (st.shards[slot])
      self->send(st.shards[slot], shard_migration_atom::value, peer, std::move(copy));
    auto& n = st.unacked[peer];
    if (n > 0 && n-- == migration_window)
      schedule_pump(self, std::chrono::milliseconds{0});
    if (n == 0)
      check_leave(self);
    return;
  }
  if (step == migration_step::leaving) {
    peer_leaving(self, peer, slot);
    return;
  }
  bool pushed = step == migration_step::batch || step == migration_step::complete;
  if (pushed && st.leaving) {
    // A node whose view does not know that this one leaves hands it a
    // slot: say so, or two leavers would pass their slots back and forth.
    send_wire(self, peer, bare_step(migration_step::leaving, slot));
    return;
  }
  const auto& owner = st.ring.owner(slot);
  if (pushed && st.shards[slot] && st.modes[slot] == shard_mode::moved && owner != st.self_address
      && owner != peer) {
    // A slot this node gave away comes back, but its ring does not say so.
    send_wire(self, peer, bare_step(migration_step::refuse, slot));
    return;
  }
  if (!st.shards[slot]) {
    switch (step) {
      case migration_step::pull:
        send_wire(self, peer, bare_step(migration_step::complete, slot)); // nothing of it here
        return;
      case migration_step::batch:
      case migration_step::complete: {
        // Its holder hands it here, maybe before this node's ring says so.
        if (!st.cfg.storage_migration || (owner != st.self_address && owner != peer)) {
          send_wire(self, peer, bare_step(migration_step::refuse, slot));
          return;
        }
        spawn_shard(self, slot, shard_mode::incoming, peer);
        break;
      }
      default:
        return;
    }
  }
  self->send(st.shards[slot], shard_migration_atom::value, peer, std::move(copy));
}

void on_received(service_actor* self, const std::string& peer, const packed_messages& batch) {
  for (auto bytes : batch.views()) {
    switch (bytes.empty() ? 0 : bytes[0]) {
      case static_cast<uint8_t>(store_kind::request):
        on_wire_request(self, bytes);
        break;
      case static_cast<uint8_t>(store_kind::response):
        on_response(self, bytes);
        break;
      case static_cast<uint8_t>(store_kind::migration):
        on_wire_migration(self, peer, bytes);
        break;
      default:
        ++self->state.malformed;
        log()->warn("dropped a message of {} bytes from {} that is not the store's", bytes.size(),
                    peer);
    }
  }
  send_to_shards(self);
}

// -- the view ---------------------------------------------------------------------

void check_ready(service_actor* self) {
  auto& st = self->state;
  if (st.ready || !st.synced || st.view_queries > 0)
    return;
  st.ready = true;
  rebuild(self);
  release_held_wire(self);
  auto held_pulls = std::move(st.held_pulls);
  st.held_pulls.clear();
  for (const auto& p : held_pulls)
    on_wire_migration(self, p.from, p.bytes);
}

void learn_node(service_actor* self, const std::string& address) {
  auto& st = self->state;
  ++st.view_queries;
  self->request(st.node, caf::infinite, node_atom::value, address)
    .then(
      [=](const node_record& rec) {
        auto& st = self->state;
        --st.view_queries;
        st.view[rec.mesh_address] = view_entry{rec.type, rec.status};
        if (auto i = std::find(st.gone.begin(), st.gone.end(), rec.mesh_address);
            i != st.gone.end())
          st.gone.erase(i);
        check_ready(self);
        queue_rebuild(self);
      },
      [=](caf::error&) {
        --self->state.view_queries; // gone again before we asked
        check_ready(self);
      });
}

void on_node_event(service_actor* self, const node_event& e) {
  auto& st = self->state;
  using kind = node_event::kind;
  switch (e.what) {
    case kind::node_joined:
      st.leavers.erase(e.subject); // back, or another node at its address
      learn_node(self, e.subject);
      break;
    case kind::node_changed:
      learn_node(self, e.subject);
      break;
    case kind::node_status:
      if (auto i = st.view.find(e.subject); i != st.view.end()) {
        i->second.status = e.status;
        queue_rebuild(self);
      }
      break;
    case kind::node_left: {
      // A node that set itself offline first left on purpose: it handed
      // its slots over, and may have done the writes it owed.
      auto v = st.view.find(e.subject);
      bool graceful = (v != st.view.end() && v->second.status == node_status::offline)
                      || st.leavers.count(e.subject) != 0;
      st.view.erase(e.subject);
      st.leavers.erase(e.subject);
      st.unacked.erase(e.subject);
      if (!is_gone(self, e.subject)) {
        st.gone.push_back(e.subject);
        if (st.gone.size() > max_gone)
          st.gone.pop_front();
      }
      schedule_pump(self, std::chrono::milliseconds{0}); // its window is free
      for (const auto& shard : st.groups)
        if (shard)
          self->send(shard, shard_peer_gone_atom::value, e.subject);
      reassert_pulled_from(self, e.subject);
      // The ring goes without the leaver before the requests it owed are
      // sent again (the rebuild's message is ahead of the reread's). Writes
      // owed by a node that left on purpose fail: it may have done them
      // and handed the result on, and another node may have written since.
      queue_rebuild(self);
      for (auto& p : st.pending.take_peer(e.subject)) {
        if (p.waiter.again && (!graceful || is_read(p.waiter.again->op))) {
          st.rereads.push_back(std::move(p));
          continue;
        }
        ++st.timeouts;
        fail(p.waiter.w, store_errc::timeout,
             "storage node " + e.subject + " left the view before it answered");
      }
      if (!st.rereads.empty())
        self->send(self, store_reread_atom::value);
      break;
    }
    case kind::initial_sync:
      st.synced = true;
      check_ready(self);
      break;
    default:
      break;
  }
}

void on_tick(service_actor* self) {
  auto& st = self->state;
  st.timer_at = UINT64_MAX;
  auto now = steady_micros();
  for (auto& e : st.pending.expire(now)) {
    ++st.timeouts;
    fail(e.waiter.w, store_errc::timeout,
         std::string{"no answer to "} + to_string(static_cast<store_op>(e.command)) + " from "
           + e.peer + " in time");
  }
  auto due = std::partition(st.held.begin(), st.held.end(),
                            [now](const held_request& h) { return h.deadline_us > now; });
  std::vector<held_request> expired{std::make_move_iterator(due),
                                    std::make_move_iterator(st.held.end())};
  st.held.erase(due, st.held.end());
  for (auto& h : expired)
    fail(h.w, store_errc::no_storage_nodes,
         st.ready ? "the ring still named a storage node that had left the view"
                  : "the node has not synced with MARS yet");
  // Their senders have given up on them by now, and say so themselves.
  st.held_wire.erase(
    std::remove_if(st.held_wire.begin(), st.held_wire.end(),
                   [now](const held_wire_request& h) { return h.deadline_us <= now; }),
    st.held_wire.end());
  arm_timer(self);
}

// -- the behavior -------------------------------------------------------------------

store_request one_record(store_op op, std::string key, std::string value = {}, uint32_t ttl_ms = 0,
                         std::string owner = {}) {
  store_request req;
  req.op = op;
  req.records.push_back(
    store_record{std::move(key), true, std::move(value), ttl_ms, std::move(owner)});
  return req;
}

/// A set, swap or set_if_absent of this node's caller, and, for an owned one,
/// what the node keeps of it once it is acknowledged.
std::pair<store_request, std::shared_ptr<owned_entry>> write_of(service_actor* self, store_op op,
                                                                const std::string& key,
                                                                std::string value, uint32_t ttl_ms,
                                                                bool owned) {
  std::shared_ptr<owned_entry> remember;
  if (owned)
    remember = std::make_shared<owned_entry>(owned_entry{value, ttl_ms ? now_ms() + ttl_ms : 0, 0});
  auto req = one_record(op, key, std::move(value), ttl_ms,
                        owned ? self->state.self_address : std::string{});
  if (owned)
    req.records[0].version = next_version(self);
  return {std::move(req), std::move(remember)};
}

/// Keeps `remember` as this node's owned entry `key`, with the version its
/// holder stored (`r`).
void keep_owned(service_actor* self, const std::string& key, const owned_entry& remember,
                const store_response& r) {
  auto& e = self->state.owned[key] = remember;
  e.version = r.version;
  saw_version(self, r.version);
}

/// This node no longer sets its owned entry `key` again, if `value` is
/// what it set (a removal, or the key went to someone else).
void disown(service_actor* self, const std::string& key, const std::string& value) {
  auto& owned = self->state.owned;
  if (auto i = owned.find(key); i != owned.end() && i->second.value == value)
    owned.erase(i);
}

/// A set or swap of this node's caller: `done` hears the answer, after the
/// node remembers (or forgets) the entry as its owned one.
void set_and_remember(service_actor* self, store_op op, const std::string& key, std::string value,
                      uint32_t ttl_ms, bool owned, caf::timespan timeout, waiter done) {
  auto [req, remember] = write_of(self, op, key, std::move(value), ttl_ms, owned);
  issue(self, std::move(req), timeout,
        [self, key, remember = remember, done = std::move(done)](store_response& r) {
          if (r.status == 0) {
            if (remember)
              keep_owned(self, key, *remember, r);
            else
              self->state.owned.erase(key);
          }
          done(r);
        });
}

caf::behavior store_service(service_actor* self, const caf::actor& node,
                            const caf::actor& transport, std::string self_address,
                            const dm_config& cfg) {
  auto& st = self->state;
  st.node = node;
  st.cfg = cfg;
  st.ring = hash_ring{cfg.storage_ring_size};
  st.shared_ring->publish(st.ring);
  st.shards.resize(cfg.storage_ring_size);
  st.groups.resize(shard_group_of(static_cast<uint16_t>(cfg.storage_ring_size - 1)) + 1);
  st.modes.resize(cfg.storage_ring_size, shard_mode::moved);
  st.peers.resize(cfg.storage_ring_size);
  self->monitor(node);
  self->set_down_handler([=](caf::down_msg&) {
    for (const auto& shard : self->state.groups)
      if (shard)
        self->send_exit(shard, caf::exit_reason::user_shutdown);
    for (auto& e : self->state.pending.expire(UINT64_MAX))
      fail(e.waiter.w, store_errc::timeout, "the node stopped while the request was pending");
    for (auto& e : std::exchange(self->state.rereads, {}))
      fail(e.waiter.w, store_errc::timeout, "the node stopped while the request was pending");
    self->quit();
  });
  st.self_address = std::move(self_address);
  st.transport = transport;
  // Before any answer of this service (start_node counts on it); a request
  // from another node that comes before the first view waits here for it.
  for (auto kind : {store_kind::request, store_kind::response, store_kind::migration})
    self->send(transport, route_atom::value, static_cast<uint8_t>(kind),
               caf::actor_cast<caf::actor>(self));
  self->send(node, subscribe_atom::value, caf::actor_cast<caf::actor>(self));
  return {
    [=](const node_event& e) { on_node_event(self, e); },
    [=](received_atom, const std::string& peer, const packed_messages& batch, bool) {
      on_received(self, peer, batch);
    },
    [=](store_response_atom, const byte_buffer& bytes) { on_response(self, bytes); },
    [=](shard_mode_atom, uint16_t slot, uint8_t mode, const std::string& peer, uint64_t keys) {
      on_mode(self, slot, static_cast<shard_mode>(mode), peer, keys);
    },
    [=](flush_atom) {
      self->state.deferred.arrived();
      self->state.outbox.flush(self, self->state.transport);
    },
    [=](send_failed_atom, const std::string& peer, const caf::error& err) {
      auto& st = self->state;
      for (auto& p : st.pending.take_peer(peer)) {
        ++st.timeouts;
        fail(p.waiter.w, store_errc::timeout, "could not reach " + peer + ": " + to_string(err));
      }
    },
    [=](store_tick_atom) { on_tick(self); },
    [=](store_pump_atom) { pump(self); },
    [=](store_reeval_atom, bool full) {
      if (full)
        rebuild(self);
      else
        reeval(self);
    },
    [=](store_reassert_atom, const std::string& key) { reassert(self, key); },
    [=](store_reread_atom) { reread(self); },
    // -- operations ------------------------------------------------------------
    [=](store_ring_view_atom) { return std::shared_ptr<const ring_view>{self->state.shared_ring}; },
    [=](store_owner_atom, const std::string& key) -> caf::result<std::string> {
      auto& st = self->state;
      if (st.ring.empty()) {
        auto [why_code, why] = empty_ring(self);
        return make_error(why_code, why);
      }
      return st.ring.owner_of(key);
    },
    [=](store_get_atom, std::string& key,
        caf::timespan timeout) -> caf::result<std::optional<std::string>> {
      auto rp = self->make_response_promise();
      issue(self, one_record(store_op::get, std::move(key)), timeout,
            [rp](store_response& r) mutable {
              if (r.status != 0)
                return rp.deliver(error_of(r));
              std::optional<std::string> value;
              if (!r.records.empty() && r.records.front().present)
                value = std::move(r.records.front().value);
              rp.deliver(std::move(value));
            });
      return rp;
    },
    [=](store_set_atom, std::string& key, std::string& value, uint32_t ttl_ms, bool owned,
        caf::timespan timeout) -> caf::result<void> {
      auto rp = self->make_response_promise();
      set_and_remember(self, store_op::set, key, std::move(value), ttl_ms, owned, timeout,
                       [rp](store_response& r) mutable {
                         if (r.status != 0)
                           return rp.deliver(error_of(r));
                         rp.deliver(caf::unit);
                       });
      return rp;
    },
    [=](store_swap_atom, std::string& key, std::string& value, uint32_t ttl_ms, bool owned,
        caf::timespan timeout) -> caf::result<std::optional<std::string>> {
      auto rp = self->make_response_promise();
      set_and_remember(self, store_op::swap, key, std::move(value), ttl_ms, owned, timeout,
                       [rp](store_response& r) mutable {
                         if (r.status != 0)
                           return rp.deliver(error_of(r));
                         std::optional<std::string> before;
                         if (!r.records.empty() && r.records[0].present)
                           before = std::move(r.records[0].value);
                         rp.deliver(std::move(before));
                       });
      return rp;
    },
    [=](store_disown_atom, const std::string& key, const std::string& value) {
      disown(self, key, value);
    },
    [=](store_del_atom, std::string& key, caf::timespan timeout) -> caf::result<bool> {
      auto rp = self->make_response_promise();
      self->state.owned.erase(key);
      issue(self, one_record(store_op::del, std::move(key)), timeout,
            [rp](store_response& r) mutable {
              if (r.status != 0)
                return rp.deliver(error_of(r));
              rp.deliver(r.number != 0);
            });
      return rp;
    },
    [=](store_del_if_atom, std::string& key, std::string& expected,
        caf::timespan timeout) -> caf::result<bool> {
      auto rp = self->make_response_promise();
      disown(self, key, expected);
      issue(self, one_record(store_op::del_if_equal, std::move(key), std::move(expected)), timeout,
            [rp](store_response& r) mutable {
              if (r.status != 0)
                return rp.deliver(error_of(r));
              rp.deliver(r.number != 0);
            });
      return rp;
    },
    [=](store_set_nx_atom, std::string& key, std::string& value, uint32_t ttl_ms, bool owned,
        caf::timespan timeout) -> caf::result<std::optional<std::string>> {
      auto rp = self->make_response_promise();
      auto [req, remember]
        = write_of(self, store_op::set_if_absent, key, std::move(value), ttl_ms, owned);
      issue(self, std::move(req), timeout,
            [self, rp, key = key, remember = remember](store_response& r) mutable {
              if (r.status != 0)
                return rp.deliver(error_of(r));
              std::optional<std::string> existing;
              if (r.number == 0 && !r.records.empty())
                existing = std::move(r.records.front().value);
              else if (remember)
                keep_owned(self, key, *remember, r);
              rp.deliver(std::move(existing));
            });
      return rp;
    },
    [=](store_incr_atom, std::string& key, int64_t delta,
        caf::timespan timeout) -> caf::result<int64_t> {
      auto rp = self->make_response_promise();
      auto req = one_record(store_op::incr, std::move(key));
      req.delta = delta;
      issue(self, std::move(req), timeout, [rp](store_response& r) mutable {
        if (r.status != 0)
          return rp.deliver(error_of(r));
        rp.deliver(r.number);
      });
      return rp;
    },
    [=](store_get_many_atom, std::vector<std::string>& keys,
        caf::timespan timeout) -> caf::result<std::vector<std::optional<std::string>>> {
      auto rp = self->make_response_promise();
      store_request req;
      req.op = store_op::get_many;
      for (auto& key : keys)
        req.records.push_back(store_record{std::move(key), true, {}, 0, {}});
      issue(self, std::move(req), timeout, [rp](store_response& r) mutable {
        if (r.status != 0)
          return rp.deliver(error_of(r));
        std::vector<std::optional<std::string>> values;
        values.reserve(r.records.size());
        for (auto& rec : r.records)
          values.push_back(rec.present ? std::optional<std::string>{std::move(rec.value)}
                                       : std::nullopt);
        rp.deliver(std::move(values));
      });
      return rp;
    },
    [=](store_set_many_atom, std::vector<std::string>& keys, std::vector<std::string>& values,
        uint32_t ttl_ms, caf::timespan timeout) -> caf::result<void> {
      auto rp = self->make_response_promise();
      if (keys.size() != values.size()) {
        rp.deliver(make_error(store_errc::malformed,
                              "set_many: " + std::to_string(keys.size()) + " keys but "
                                + std::to_string(values.size()) + " values"));
        return rp;
      }
      store_request req;
      req.op = store_op::set_many;
      for (size_t i = 0; i < keys.size(); ++i)
        req.records.push_back(
          store_record{std::move(keys[i]), true, std::move(values[i]), ttl_ms, {}});
      issue(self, std::move(req), timeout, [rp](store_response& r) mutable {
        if (r.status != 0)
          return rp.deliver(error_of(r));
        rp.deliver(caf::unit);
      });
      return rp;
    },
    [=](store_stats_atom) -> caf::result<std::string> {
      auto rp = self->make_response_promise();
      local_stats(self, [rp](std::string json) mutable { rp.deliver(std::move(json)); });
      return rp;
    },
    [=](store_stats_atom, std::string& node_address,
        caf::timespan timeout) -> caf::result<std::string> {
      auto rp = self->make_response_promise();
      if (node_address == self->state.self_address) {
        local_stats(self, [rp](std::string json) mutable { rp.deliver(std::move(json)); });
        return rp;
      }
      auto deadline = steady_micros() + uint64_t{wire_timeout_ms(timeout)} * 1000;
      ask_stats(self, node_address, deadline, [rp](store_response& r) mutable {
        if (r.status != 0)
          return rp.deliver(error_of(r));
        if (r.records.empty())
          return rp.deliver(make_error(store_errc::malformed, "a stats answer without stats"));
        rp.deliver(std::move(r.records.front().value));
      });
      return rp;
    },
    [=](store_leave_atom) -> caf::result<void> {
      auto& st = self->state;
      auto rp = self->make_response_promise();
      st.leave_promises.push_back(rp);
      if (st.leaving)
        return rp;
      st.leaving = true;
      self->request(st.node, caf::infinite, set_status_atom::value, node_status::offline)
        .then([] {}, [](caf::error&) {});
      self->delayed_send(self, max_leave_handoff, store_leave_timeout_atom::value);
      if (st.ready)
        rebuild(self);
      else
        finish_leave(self);
      return rp;
    },
    [=](store_leave_timeout_atom) {
      if (self->state.left)
        return;
      log()->warn("leaving with slots not handed over after {} s", max_leave_handoff.count());
      finish_leave(self);
    },
    [=](store_subscribe_atom, const caf::actor& subscriber, uint32_t kinds) {
      self->state.subscribers.emplace_back(subscriber, kinds);
    },
  };
}

} // namespace

caf::actor spawn_store_service(caf::actor_system& sys, caf::actor node, caf::actor transport,
                               std::string self_address, const dm_config& cfg) {
  return sys.spawn(store_service, std::move(node), std::move(transport), std::move(self_address),
                   cfg);
}

} // namespace meshrt
