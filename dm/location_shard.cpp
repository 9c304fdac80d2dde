#include "dm/location_shard.hpp"

#include <algorithm>
#include <chrono>
#include <map>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/mesh_outbox.hpp"
#include "dm/migration_plan.hpp"
#include "dm/slot_ops.hpp"
#include "dm/store_atoms.hpp"
#include "dm/store_error.hpp"
#include "dm/store_wire.hpp"
#include "transport/atoms.hpp"
#include "transport/deferred_flush.hpp"
#include "transport/logger.hpp"

namespace meshrt {

const char* to_string(shard_mode mode) {
  switch (mode) {
    case shard_mode::owned:
      return "owned";
    case shard_mode::incoming:
      return "incoming";
    case shard_mode::outgoing:
      return "outgoing";
    case shard_mode::moved:
      return "moved";
  }
  return "unknown";
}

namespace {

/// Redirects an incoming slot follows before it stops looking.
constexpr int max_redirects = 4;

/// How long an expiry pass waits at least after the previous one.
constexpr std::chrono::milliseconds min_expire_pause{10};

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

/// One slot of a shard.
struct slot_state {
  uint16_t slot = 0;
  entry_table table;
  owner_names owners;
  shard_mode mode = shard_mode::owned;
  /// incoming: the old owner; outgoing, moved: the new one.
  std::string peer;
  slot_handoff handoff;
  int redirects = 0;
  /// The handoff's batches sent and acknowledged; a moved slot keeps its
  /// entries until the last is (`keeping`), in case the slot is refused.
  uint64_t batches_sent = 0;
  uint64_t acked = 0;
  bool keeping = false;
  /// Records pushed to the slot while it was owned already (merge_records)
  /// and the keys of them it took, since the pusher's last completion.
  uint64_t merged = 0;
  uint64_t merged_new = 0;
  /// Taken over without its entries (their holder is gone; their owners
  /// set them again, store_service's reassert): until this time (ms), a
  /// read of a key the slot lacks waits in `waiting` for the key, or for
  /// this time, instead of answering "not there" for a key on its way.
  int64_t rebuilding_until = 0;
  std::vector<store_request> waiting;
};

/// A shard: the slots of one group this node has, and what they share.
struct shard_state {
  uint16_t group = 0;
  std::string self_address;
  caf::actor service;
  caf::actor transport;
  mesh_outbox outbox;
  transport::deferred_flush deferred;
  bool in_batch = false; // serving a batch: its answers leave together at its end
  bool expire_scheduled = false;
  /// How long a slot taken over without its entries lets reads of missing
  /// keys wait (dm_config::storage_rebuild_window).
  std::chrono::milliseconds rebuild_window{0};
  std::map<uint16_t, slot_state> slots;
};

using shard_actor = caf::stateful_actor<shard_state>;

/// What a shard sends to a peer (answers, forwards, migration) leaves packed
/// with everything else it sends that peer in one pass through its mailbox.
void send_to(shard_actor* self, const std::string& peer, const byte_buffer& bytes) {
  auto& st = self->state;
  st.outbox.queue(self, st.transport, peer, bytes, true);
  if (!st.in_batch && st.deferred.now_or_later(self))
    st.outbox.flush(self, st.transport);
}

void send_migration(shard_actor* self, const slot_state& st, const std::string& peer,
                    migration_step step, std::vector<store_record> records = {},
                    std::string address = {}) {
  migration_message m;
  m.step = step;
  m.slot = st.slot;
  m.address = std::move(address);
  m.records = std::move(records);
  send_to(self, peer, encode(m));
}

void answer(shard_actor* self, const std::string& origin, const store_response& resp);

/// Answers the reads waiting in the slot: every one (`all`: the rebuild
/// window is over, or the slot stops answering here), else those whose
/// keys are all there now.
void answer_waiting(shard_actor* self, slot_state& st, bool all) {
  if (st.waiting.empty())
    return;
  auto now = now_ms();
  std::vector<store_request> still;
  for (auto& req : st.waiting) {
    if (!all && reads_missing_key(st.table, req, now))
      still.push_back(std::move(req));
    else
      answer(self, req.origin, apply_request(st.table, st.owners, req, now));
  }
  st.waiting = std::move(still);
}

/// The slot answers for entries of a node that is gone: their owners are
/// setting them again, and for the rebuild window a read of a key not
/// there yet waits for it.
void start_rebuild(shard_actor* self, slot_state& st) {
  auto window = self->state.rebuild_window;
  if (window.count() == 0)
    return;
  st.rebuilding_until = now_ms() + window.count();
  self->delayed_send(self, window, shard_rebuilt_atom::value, st.slot);
}

bool rebuilding(const slot_state& st, int64_t now) {
  return st.rebuilding_until != 0 && now < st.rebuilding_until;
}

void set_mode(shard_actor* self, slot_state& st, shard_mode mode, std::string peer) {
  if (mode != shard_mode::owned) {
    // Whoever answers for the slot now, the waiting reads get this
    // shard's answer first: the asker would otherwise only time out.
    st.rebuilding_until = 0;
    answer_waiting(self, st, true);
  }
  st.mode = mode;
  st.peer = std::move(peer);
  self->send(self->state.service, shard_mode_atom::value, st.slot, static_cast<uint8_t>(mode),
             st.peer, static_cast<uint64_t>(st.table.size()));
}

void schedule_expiry(shard_actor* self) {
  auto& sh = self->state;
  if (sh.expire_scheduled)
    return;
  int64_t next = 0;
  for (const auto& [slot, st] : sh.slots)
    if (auto d = st.table.next_deadline(); d != 0 && (next == 0 || d < next))
      next = d;
  if (next == 0)
    return;
  sh.expire_scheduled = true;
  auto wait = std::max(std::chrono::milliseconds{next - now_ms()}, min_expire_pause);
  self->delayed_send(self, wait, shard_expire_atom::value);
}

void answer(shard_actor* self, const std::string& origin, const store_response& resp) {
  auto bytes = encode(resp);
  if (origin == self->state.self_address)
    self->send(self->state.service, store_response_atom::value, std::move(bytes));
  else
    send_to(self, origin, bytes);
}

void start_handoff(shard_actor* self, slot_state& st, const std::string& to) {
  if (st.mode == shard_mode::outgoing && st.peer == to)
    return;
  if (st.mode == shard_mode::outgoing)
    send_migration(self, st, st.peer, migration_step::abort);
  st.handoff = slot_handoff{st.table.keys()};
  st.batches_sent = 0;
  st.acked = 0;
  st.keeping = false;
  set_mode(self, st, shard_mode::outgoing, to);
}

void pull(shard_actor* self, slot_state& st, const std::string& from) {
  set_mode(self, st, shard_mode::incoming, from);
  send_migration(self, st, from, migration_step::pull);
}

void serve(shard_actor* self, slot_state& st, byte_buffer& bytes) {
  if (st.mode == shard_mode::outgoing && request_hops(bytes) == 0 && add_hop(bytes)) {
    // While the slot moves, its new owner decides who answers: one still
    // pulling it sends what it gets back here (one hop on, answered below);
    // one that answers for it already answers itself. A new owner does that
    // when views differed for a moment (its pull went to a node that did
    // not have the slot): had this shard answered this node's own requests,
    // a write through the other node would have been missing for a read
    // through this one. Only requests nobody forwarded yet go: one the new
    // owner sends back, or one on a longer way, is answered here.
    send_to(self, st.peer, bytes);
    return;
  }
  if (st.mode == shard_mode::incoming || st.mode == shard_mode::moved) {
    // Not this shard's to answer: the node that is gets it, and answers
    // the origin itself.
    if (add_hop(bytes)) {
      send_to(self, st.peer, bytes);
      return;
    }
  }
  auto req = decode_store_request(bytes);
  if (!req) {
    logger("store")->warn("slot {}: dropped a malformed store request of {} bytes", st.slot,
                          bytes.size());
    return;
  }
  if (st.mode == shard_mode::incoming || st.mode == shard_mode::moved) {
    store_response resp;
    resp.id = req->id;
    resp.status = static_cast<uint8_t>(store_errc::no_storage_nodes);
    resp.error = "slot " + std::to_string(st.slot) + " was forwarded "
                 + std::to_string(max_store_hops) + " times without finding its owner";
    answer(self, req->origin, resp);
    return;
  }
  auto now = now_ms();
  if (rebuilding(st, now) && reads_missing_key(st.table, *req, now)) {
    st.waiting.push_back(std::move(*req));
    return;
  }
  std::vector<std::string> touched;
  auto resp = apply_request(st.table, st.owners, *req, now,
                            st.mode == shard_mode::outgoing ? &touched : nullptr);
  for (const auto& key : touched)
    st.handoff.touched(key);
  answer(self, req->origin, resp);
  answer_waiting(self, st, false);
  schedule_expiry(self);
}

void apply_records(shard_actor* self, slot_state& st, const std::vector<store_record>& records) {
  auto now = now_ms();
  for (const auto& rec : records)
    apply_record(st.table, st.owners, rec, now);
  answer_waiting(self, st, false);
  schedule_expiry(self);
}

/// Records for a slot this shard answers for already: pushed by a node
/// whose ring had the slot at the same time (views that differed for a
/// moment). The keys only it had come in; where both have a key, or the
/// pusher had it removed, this shard's state stays: it is what readers saw
/// since, and a value must not change back under them with no write.
void merge_records(shard_actor* self, slot_state& st, const std::string& from,
                   const migration_message& m) {
  auto now = now_ms();
  for (const auto& rec : m.records)
    if (rec.present && !st.table.find(rec.key, now)) {
      apply_record(st.table, st.owners, rec, now);
      ++st.merged_new;
    }
  st.merged += m.records.size();
  if (m.step == migration_step::complete) {
    if (st.merged > 0)
      logger("store")->info("slot {}: {} records from {}, which had the slot too; took the {} "
                            "keys it did not have, kept its own state of the others",
                            st.slot, st.merged, from, st.merged_new);
    st.merged = st.merged_new = 0;
  }
  answer_waiting(self, st, false);
  schedule_expiry(self);
}

void on_migration(shard_actor* self, slot_state& st, const std::string& from,
                  const migration_message& m) {
  switch (m.step) {
    case migration_step::pull:
      // A holder hands its slot over when its own ring says so, never on
      // request: two nodes whose views differ for a moment would otherwise
      // pull one slot back and forth. Meanwhile it answers what the puller
      // forwards. Only a shard that does not hold the slot answers a pull.
      if (st.mode == shard_mode::moved && st.peer == from)
        send_migration(self, st, from, migration_step::complete); // it is all there
      else if (st.mode == shard_mode::incoming || st.mode == shard_mode::moved)
        send_migration(self, st, from, migration_step::redirect, {}, st.peer);
      return;
    case migration_step::batch:
    case migration_step::complete:
      if (st.mode == shard_mode::outgoing) {
        send_migration(self, st, from, migration_step::refuse);
        return;
      }
      if (st.mode == shard_mode::moved) {
        // The slot comes back: what this shard kept is older than it.
        st.table.clear();
        set_mode(self, st, shard_mode::incoming, from);
      } else if (st.mode == shard_mode::incoming && st.peer != from) {
        logger("store")->info("slot {}: records from {} while waiting for {}; taking them", st.slot,
                              from, st.peer);
      }
      if (st.mode == shard_mode::owned)
        merge_records(self, st, from, m);
      else
        apply_records(self, st, m.records);
      send_migration(self, st, from, migration_step::ack);
      if (m.step == migration_step::complete && st.mode == shard_mode::incoming)
        set_mode(self, st, shard_mode::owned, from);
      return;
    case migration_step::redirect:
      if (st.mode != shard_mode::incoming || st.peer != from)
        return;
      if (++st.redirects > max_redirects || m.address.empty()
          || m.address == self->state.self_address) {
        logger("store")->warn("slot {}: gave up looking for its old owner after {} redirects; "
                              "answering with what it has",
                              st.slot, st.redirects);
        set_mode(self, st, shard_mode::owned, from);
        return;
      }
      pull(self, st, m.address);
      return;
    case migration_step::refuse:
      // The new owner does not take the slot (its ring disagrees): this
      // shard answers again, with its entries (kept until every batch is
      // acknowledged), and the service decides again.
      if ((st.mode == shard_mode::outgoing || (st.mode == shard_mode::moved && st.keeping))
          && st.peer == from) {
        st.keeping = false;
        set_mode(self, st, shard_mode::owned, from);
      }
      return;
    case migration_step::leaving:
      return; // the service's (peer_leaving): the shard hears `refuse`
    case migration_step::abort:
      if (st.mode == shard_mode::incoming && st.peer == from) {
        // The old owner sends the slot elsewhere: what came is not ours.
        // Requests go to it; the service pulls again if its ring says so.
        st.table.clear();
        set_mode(self, st, shard_mode::moved, from);
      }
      return;
    case migration_step::ack:
      if (st.peer != from || (st.mode != shard_mode::outgoing && st.mode != shard_mode::moved))
        return;
      ++st.acked;
      if (st.mode == shard_mode::moved && st.keeping && st.acked >= st.batches_sent) {
        st.keeping = false; // the new owner has every batch
        st.table.clear();
      }
      return;
  }
}

/// The slot a message is for, if this shard has it.
slot_state* slot_of(shard_actor* self, uint16_t slot) {
  auto i = self->state.slots.find(slot);
  return i == self->state.slots.end() ? nullptr : &i->second;
}

void serve_one(shard_actor* self, byte_buffer& bytes) {
  auto slot = request_slot(bytes);
  if (auto* st = slot_of(self, slot))
    serve(self, *st, bytes);
  else
    logger("store")->debug("shard {}: a request for slot {}, which it does not have",
                           self->state.group, slot);
}

caf::behavior location_shard(shard_actor* self, uint16_t group, std::string self_address,
                             caf::actor service, caf::actor transport,
                             std::chrono::milliseconds rebuild_window) {
  auto& sh = self->state;
  sh.group = group;
  sh.rebuild_window = rebuild_window;
  sh.self_address = std::move(self_address);
  sh.service = std::move(service);
  sh.transport = std::move(transport);
  return {
    [=](shard_open_atom, uint16_t slot, uint8_t mode, const std::string& peer) {
      auto& st = self->state.slots[slot];
      answer_waiting(self, st, true);
      st = slot_state{};
      st.slot = slot;
      if (static_cast<shard_mode>(mode) == shard_mode::incoming && !peer.empty()) {
        st.mode = shard_mode::incoming;
        st.peer = peer;
        send_migration(self, st, peer, migration_step::pull);
      } else if (!peer.empty()) {
        start_rebuild(self, st); // owned, taken over from `peer`
      }
    },
    [=](shard_close_atom, uint16_t slot) {
      if (auto* st = slot_of(self, slot))
        answer_waiting(self, *st, true);
      self->state.slots.erase(slot);
    },
    [=](shard_request_atom, byte_buffer& bytes) { serve_one(self, bytes); },
    [=](shard_request_atom, std::vector<byte_buffer>& batch) {
      auto& sh = self->state;
      sh.in_batch = true;
      for (auto& bytes : batch)
        serve_one(self, bytes);
      sh.in_batch = false;
      sh.outbox.flush(self, sh.transport);
    },
    [=](shard_migration_atom, const std::string& from, const byte_buffer& bytes) {
      auto m = decode_migration(bytes);
      auto* st = m ? slot_of(self, m->slot) : nullptr;
      if (!st) {
        logger("store")->warn("shard {}: dropped a migration message from {} ({})",
                              self->state.group, from, m ? "a slot it does not have" : "malformed");
        return;
      }
      on_migration(self, *st, from, *m);
    },
    [=](shard_hand_to_atom, uint16_t slot, const std::string& to) {
      auto* st = slot_of(self, slot);
      if (!st)
        return;
      if (st->mode == shard_mode::owned || st->mode == shard_mode::outgoing)
        start_handoff(self, *st, to);
      else if (st->mode == shard_mode::incoming)
        set_mode(self, *st, shard_mode::moved, st->peer); // its old owner still answers
    },
    [=](shard_take_from_atom, uint16_t slot, const std::string& from) {
      auto* st = slot_of(self, slot);
      if (!st)
        return;
      if (st->mode == shard_mode::outgoing) {
        send_migration(self, *st, st->peer, migration_step::abort);
        set_mode(self, *st, shard_mode::owned, {});
      } else if (st->mode == shard_mode::moved) {
        auto holder = st->peer.empty() ? from : st->peer;
        if (holder.empty()) {
          // Where it went is gone, its entries with it.
          set_mode(self, *st, shard_mode::owned, {});
          start_rebuild(self, *st);
        } else {
          pull(self, *st, holder);
        }
      }
    },
    [=](shard_batch_atom, uint16_t slot, uint32_t n) -> std::tuple<uint64_t, uint64_t, bool> {
      auto* sp = slot_of(self, slot);
      if (!sp || sp->mode != shard_mode::outgoing)
        return {0, 0, true};
      auto& st = *sp;
      auto now = now_ms();
      std::vector<store_record> records;
      uint64_t bytes = 0;
      for (auto& key : st.handoff.next_batch(n)) {
        records.push_back(record_of(st.table, st.owners, key, now));
        bytes += records.back().key.size() + records.back().value.size();
      }
      bool done = st.handoff.done();
      auto keys = static_cast<uint64_t>(records.size());
      send_migration(self, st, st.peer, done ? migration_step::complete : migration_step::batch,
                     std::move(records));
      ++st.batches_sent;
      if (done) {
        // Everything the new owner needs is on its way, ahead of any
        // request forwarded from now on: it answers for the slot.
        st.keeping = st.acked < st.batches_sent;
        if (!st.keeping)
          st.table.clear();
        set_mode(self, st, shard_mode::moved, st.peer);
      }
      return {keys, bytes, done};
    },
    [=](shard_peer_gone_atom, const std::string& node) {
      for (auto& [slot, st] : self->state.slots) {
        if (auto id = st.owners.find(node); id != 0)
          st.table.erase_owned_by(id);
        if (st.peer != node)
          continue;
        if (st.mode == shard_mode::incoming) {
          logger("store")->warn("slot {}: its old owner {} is gone before the last batch; "
                                "answering with the {} keys that came",
                                st.slot, node, st.table.size());
          set_mode(self, st, shard_mode::owned, node);
          start_rebuild(self, st); // the owners of the others set them again
        } else if (st.mode == shard_mode::outgoing
                   || (st.mode == shard_mode::moved && st.keeping)) {
          // Its new owner is gone before it had every batch: the entries
          // here are the slot's.
          st.keeping = false;
          set_mode(self, st, shard_mode::owned, node);
        } else if (st.mode == shard_mode::moved) {
          // Where the slot went is gone, and its entries with it: the
          // service routes by its ring from now on.
          set_mode(self, st, shard_mode::moved, {});
        }
      }
    },
    [=](shard_get_atom, uint16_t slot, const std::string& key) {
      auto* st = slot_of(self, slot);
      if (st == nullptr || st->mode != shard_mode::owned)
        return std::make_tuple(false, std::optional<std::string>{});
      auto now = now_ms();
      std::optional<std::string> value;
      if (auto e = st->table.find(key, now))
        value = std::string{e->value};
      else if (rebuilding(*st, now))
        return std::make_tuple(false, value); // the store request waits for it
      return std::make_tuple(true, std::move(value));
    },
    [=](shard_rebuilt_atom, uint16_t slot) {
      auto* st = slot_of(self, slot);
      if (st == nullptr || st->rebuilding_until == 0 || rebuilding(*st, now_ms()))
        return; // not rebuilding, or a later rebuild's own end comes
      st->rebuilding_until = 0;
      answer_waiting(self, *st, true);
    },
    [=](shard_stats_atom) {
      uint64_t keys = 0, bytes = 0;
      for (const auto& [slot, st] : self->state.slots) {
        keys += st.table.size();
        bytes += st.table.payload_bytes();
      }
      return std::make_tuple(keys, bytes);
    },
    [=](transport::flush_atom) {
      self->state.deferred.arrived();
      self->state.outbox.flush(self, self->state.transport);
    },
    [=](shard_expire_atom) {
      self->state.expire_scheduled = false;
      auto now = now_ms();
      for (auto& [slot, st] : self->state.slots)
        st.table.expire(now);
      schedule_expiry(self);
    },
    [=](transport::send_failed_atom, const std::string& peer, const caf::error& err) {
      // The asking node times out; a migration partner that is gone
      // reaches this shard as shard_peer_gone_atom.
      logger("store")->debug("shard {}: a message to {} failed: {}", self->state.group, peer,
                             to_string(err));
    },
  };
}

} // namespace

caf::actor spawn_location_shard(caf::actor_system& sys, uint16_t group, std::string self_address,
                                caf::actor service, caf::actor transport,
                                std::chrono::milliseconds rebuild_window) {
  // Everything goes in as spawn arguments: CAF 0.17 spawning a function of
  // no arguments binds a null reference (UBSan reports it).
  return sys.spawn(location_shard, group, std::move(self_address), std::move(service),
                   std::move(transport), rebuild_window);
}

} // namespace meshrt
