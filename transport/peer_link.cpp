#include "transport/peer_link.hpp"

#include <atomic>
#include <chrono>
#include <deque>

#include <caf/all.hpp>

#include "transport/atoms.hpp"
#include "transport/clock.hpp"
#include "transport/deferred_flush.hpp"
#include "transport/delivery_routes.hpp"
#include "transport/logger.hpp"
#include "transport/packet_guard.hpp"
#include "transport/send_error.hpp"
#include "transport/udp_socket.hpp"

#include <spdlog/spdlog.h>

namespace meshrt::transport {

namespace {

std::atomic<size_t> live_links{0};

/// New-data packets per flush (about 180 KB): a burst goes out in slices with
/// the link's mailbox (acks) served in between.
constexpr size_t packets_per_flush = 128;

std::string stats_json(const session& sess) {
  const auto& s = sess.stats();
  std::string out = "{";
  auto field = [&](const char* name, uint64_t value) {
    if (out.size() > 1)
      out += ", ";
    out += '"';
    out += name;
    out += "\": " + std::to_string(value);
  };
  field("datagrams_in", s.datagrams_in);
  field("datagrams_out", s.datagrams_out);
  field("bytes_in", s.bytes_in);
  field("bytes_out", s.bytes_out);
  field("rejected", s.rejected);
  field("stale_epoch", s.stale_epoch);
  field("duplicates", s.duplicates);
  field("out_of_window", s.out_of_window);
  field("bad_acks", s.bad_acks);
  field("retransmits", s.retransmits);
  field("timeouts", s.timeouts);
  field("spurious_timeouts", s.spurious_timeouts);
  field("probes", s.probes);
  field("give_ups", s.give_ups);
  field("abandoned", s.abandoned);
  field("oversized", s.oversized);
  field("interrupted", s.interrupted);
  field("peer_resets", s.peer_resets);
  field("peer_restarts", s.peer_restarts);
  field("srtt_us", sess.srtt_us());
  field("cwnd", sess.congestion_window());
  field("pending_segments", sess.pending_segments());
  return out + "}";
}

/// The link's parts; CAF constructs state empty, the behavior fills it in.
struct link_parts {
  link_parts(endpoint peer, std::shared_ptr<udp_socket> sock, std::shared_ptr<packet_guard> guard,
             delivery_routes routes, session_options opts, fault_options faults) :
    sess(opts, wall_micros()),
    peer(peer), peer_name(peer.to_string()), sock(std::move(sock)), guard(std::move(guard)),
    sealed(this->guard && this->guard->keyed()), routes(std::move(routes)), faults(faults),
    inject(faults.active()), retry_timeout_ms(opts.retry_timeout_us / 1000) {
    out.reserve(64 * (max_packet_size + packet_guard::trailer_size));
    ++live_links;
  }

  ~link_parts() {
    --live_links;
  }

  link_parts(const link_parts&) = delete;
  link_parts& operator=(const link_parts&) = delete;

  session sess;
  endpoint peer;
  std::string peer_name;
  std::shared_ptr<udp_socket> sock;
  std::shared_ptr<packet_guard> guard;
  /// Whether packets leave with the cluster key's trailer.
  bool sealed;
  delivery_routes routes;
  fault_injector faults;
  bool inject;
  uint64_t retry_timeout_ms;
  /// Senders of tracked messages (and their tags), told if their message
  /// fails. Reliable messages complete in the order they were sent, so a
  /// FIFO suffices.
  struct tracked {
    uint64_t message_id;
    caf::strong_actor_ptr sender;
    uint64_t tag;
  };
  std::deque<tracked> senders;
  deferred_flush deferred;
  uint64_t timer_at = UINT64_MAX;
  /// Packets of the current flush, back to back, for one sendmmsg.
  std::vector<uint8_t> out;
  std::vector<size_t> out_sizes;
  std::vector<const uint8_t*> out_ptrs;
  /// The transport, told when the link has been idle for `idle_timeout_us`
  /// (0: never); last_active_us is the last datagram or message.
  caf::actor transport;
  uint64_t idle_timeout_us = 0;
  uint64_t last_active_us = 0;
  /// The peer's host reported its port closed (ICMP port unreachable)
  /// since the last datagram from it, and the cluster's view lost it
  /// (peer_gone_atom): together, the process there is gone and nothing
  /// unacknowledged will ever be (give_up_if_gone()).
  bool port_closed = false;
  bool gone = false;
  /// Idle, reported to the transport, which forgot this link: whatever
  /// still reaches it (from a sender that cached its handle, a datagram
  /// the receive thread routed just before) goes on to the transport, and
  /// CAF ends it once nobody holds its handle.
  bool forwarding = false;
};

struct peer_link_state {
  std::unique_ptr<link_parts> link;
  static inline const char* name = "meshrt.peer_link";
};

using peer_link_actor = caf::stateful_actor<peer_link_state>;

/// Tells the sender of a message that it failed: (send_failed_atom, peer,
/// error), with the sender's tag appended if it gave one.
void report_failure(const link_parts& st, const caf::strong_actor_ptr& sender, uint64_t tag,
                    caf::error err) {
  auto dst = caf::actor_cast<caf::actor>(sender);
  if (tag == 0)
    caf::anon_send(dst, send_failed_atom::value, st.peer_name, std::move(err));
  else
    caf::anon_send(dst, send_failed_atom::value, st.peer_name, std::move(err), tag);
}

caf::error too_large(size_t size) {
  return make_send_error(send_errc::message_too_large,
                         "message of " + std::to_string(size) + " bytes exceeds MaxMessageSize ("
                           + std::to_string(max_message_size) + " bytes)");
}

void send_out(link_parts& st) {
  if (st.out_sizes.empty())
    return;
  // Pointers are taken only now: `out` may have moved while it grew.
  size_t offset = 0;
  for (auto n : st.out_sizes) {
    st.out_ptrs.push_back(st.out.data() + offset);
    offset += n;
  }
  st.sock->send_batch(st.peer, st.out_ptrs.data(), st.out_sizes.data(), st.out_sizes.size());
  st.out.clear();
  st.out_sizes.clear();
  st.out_ptrs.clear();
}

/// Hands over what the session delivered, one actor message per run of one
/// kind (reliable ones in order): one message and one buffer per burst, not
/// per message, is what lets small messages flow at millions per second.
/// Then settles the senders of what it completed; those that failed hear
/// `why` (empty: the session gave up after retryTimeout).
void hand_over(peer_link_actor* self, const std::string& why = {}) {
  auto& st = *self->state.link;
  for (auto& batch : st.sess.take_batches()) {
    bool reliable = batch.kind == reliability::reliable;
    st.routes.deliver(std::move(batch.messages), [&](const caf::actor& to, packed_messages part) {
      self->send(to, received_atom::value, st.peer_name, std::move(part), reliable);
    });
  }
  // Senders wait in id order, and completions come in id order: each one
  // settles the senders in its range.
  for (auto& done : st.sess.take_completions()) {
    for (; !st.senders.empty() && st.senders.front().message_id <= done.last_id;
         st.senders.pop_front()) {
      const auto& waiting = st.senders.front();
      if (!done.delivered && waiting.message_id >= done.first_id)
        report_failure(st, waiting.sender, waiting.tag,
                       make_send_error(send_errc::network_error,
                                       !why.empty()
                                         ? why
                                         : "no acknowledgement from " + st.peer_name
                                             + " within retryTimeout ("
                                             + std::to_string(st.retry_timeout_ms) + " ms)"));
    }
  }
}

/// A peer whose port closed and that left the cluster's view is gone: what
/// it has not acknowledged fails now rather than after retryTimeout. Either
/// alone is not enough: a port reported closed may belong to a process that
/// has not joined yet, and a member that leaves the view by saying goodbye
/// may still acknowledge what is on its way; the store and the DM service
/// re-route work under way at a member when the view loses it, before any
/// of this fails (the node tells them first).
void give_up_if_gone(peer_link_actor* self) {
  auto& st = *self->state.link;
  if (!st.port_closed || !st.gone || st.sess.pending_segments() == 0)
    return;
  logger("transport")
    ->debug("{} is gone (its port is closed and the cluster lost it): {} "
            "unacknowledged segment(s) fail now",
            st.peer_name, st.sess.pending_segments());
  st.sess.abandon();
  hand_over(self, st.peer_name
                    + " is gone: its port is closed (ICMP port unreachable) and the "
                      "cluster's view lost it; nothing sent to it will be acknowledged");
}

/// Runs the session: flush, send what it produced, hand over what arrived
/// or completed, and arm the timer for the next deadline.
void pump(peer_link_actor* self) {
  auto& st = *self->state.link;
  auto now = steady_micros();
  auto append = [&](const uint8_t* data, size_t size) {
    if (st.sealed) {
      auto at = st.out.size();
      st.out.insert(st.out.end(), data, data + size);
      st.out.resize(at + size + packet_guard::trailer_size); // room for the trailer
      st.guard->seal(st.out.data() + at, size, st.peer);
      st.out_sizes.push_back(size + packet_guard::trailer_size);
      return;
    }
    st.out.insert(st.out.end(), data, data + size);
    st.out_sizes.push_back(size);
  };
  if (st.inject) {
    std::function<void(const uint8_t*, size_t)> emit = append;
    st.sess.flush(now, [&](const uint8_t* d, size_t n) { st.faults.submit(d, n, emit); });
    st.faults.release(emit);
  } else {
    st.sess.flush(now, append);
  }
  send_out(st);
  hand_over(self);
  // A burst larger than one flush's budget continues behind whatever has
  // arrived meanwhile (acks first).
  if (st.sess.has_sendable())
    st.deferred.later(self);
  auto deadline = st.sess.next_deadline();
  if (deadline < st.timer_at) {
    st.timer_at = deadline;
    auto delay = deadline > now ? deadline - now : 0;
    self->delayed_send(self, std::chrono::microseconds{delay}, tick_atom::value);
  }
}

/// Queues one message; a message over the limit is refused at once and its
/// sender told. Reliable messages of an actor are tracked so that a failure
/// can be reported to it.
void enqueue(peer_link_actor* self, byte_buffer&& data, bool reliable, uint64_t now,
             uint64_t tag = 0) {
  auto& st = *self->state.link;
  auto size = data.size();
  auto sender = self->current_sender();
  bool track = reliable && sender != nullptr;
  auto id = st.sess.send(std::move(data),
                         reliable ? reliability::reliable : reliability::unreliable, now, track);
  if (!id) {
    if (sender)
      report_failure(st, sender, tag, too_large(size));
    return;
  }
  if (track)
    st.senders.push_back({*id, std::move(sender), tag});
}

/// Queues packed messages: small ones are copied straight into bundles, with
/// no allocation per message. An oversized one is refused on its own; a
/// batch left unacknowledged is reported once.
void enqueue_packed(peer_link_actor* self, const packed_messages& messages, bool reliable,
                    uint64_t now) {
  auto& st = *self->state.link;
  auto sender = self->current_sender();
  bool track = reliable && sender != nullptr;
  auto kind = reliable ? reliability::reliable : reliability::unreliable;
  std::optional<uint64_t> last;
  for (auto message : messages.views()) {
    auto id = st.sess.send(message.data(), message.size(), kind, now, track);
    if (!id && sender)
      report_failure(st, sender, 0, too_large(message.size()));
    if (id)
      last = id;
  }
  // Every message of the batch is tracked, so that they share bundles; the
  // last one stands for the batch: should any fail, it fails as well.
  if (track && last)
    st.senders.push_back({*last, std::move(sender), 0});
}

/// Flushes at once when nothing else waits in the mailbox (latency);
/// otherwise defers the flush to after the waiting messages, so that a burst
/// of sends or datagrams is coalesced into as few packets as possible.
void schedule_flush(peer_link_actor* self) {
  if (self->state.link->deferred.now_or_later(self))
    pump(self);
}

/// Checks every idle timeout whether nothing moved for a whole one; if so,
/// tells the transport, which forgets the link, and forwards from then on.
/// (It does not quit: a sender may hold its handle and send in the same
/// instant, and a message to an actor that quit is lost. Unreachable, CAF
/// ends it.)
void check_idle(peer_link_actor* self) {
  auto& st = *self->state.link;
  auto now = steady_micros();
  if (now - st.last_active_us < st.idle_timeout_us || !st.sess.quiet() || !st.senders.empty()) {
    self->delayed_send(self, std::chrono::microseconds{st.idle_timeout_us}, link_idle_atom::value);
    return;
  }
  self->send(st.transport, link_idle_atom::value, st.peer.address, st.peer.port);
  // Its end (unreachable) must not take the transport along.
  self->unlink_from(st.transport);
  st.forwarding = true;
  st.out = {};
  st.out_sizes = {};
  st.out_ptrs = {};
}

/// A message for a link that forwards (`forwarding`): to the transport,
/// with its sender.
template<class... Ts>
void forward(peer_link_actor* self, Ts&&... xs) {
  auto& st = *self->state.link;
  self->delegate(st.transport, mesh_send_atom::value, st.peer_name, std::forward<Ts>(xs)...);
}

caf::behavior peer_link(peer_link_actor* self, endpoint peer, std::shared_ptr<udp_socket> sock,
                        std::shared_ptr<packet_guard> guard, delivery_routes routes,
                        session_options opts, fault_options faults, caf::actor transport,
                        uint64_t idle_timeout_us) {
  // Each link injects its own faults, seeded by the run's seed and the peer.
  faults.seed ^= std::hash<endpoint>{}(peer);
  opts.flush_budget = std::min(opts.flush_budget, packets_per_flush);
  self->state.link = std::make_unique<link_parts>(peer, std::move(sock), std::move(guard),
                                                  std::move(routes), opts, faults);
  auto& parts = *self->state.link;
  parts.transport = std::move(transport);
  parts.idle_timeout_us = idle_timeout_us;
  parts.last_active_us = steady_micros();
  if (idle_timeout_us > 0)
    self->delayed_send(self, std::chrono::microseconds{idle_timeout_us}, link_idle_atom::value);
  return {
    [=](datagram_atom, packed_messages& datagrams) {
      if (self->state.link->forwarding) {
        const auto& peer = self->state.link->peer;
        self->send(self->state.link->transport, datagram_atom::value, peer.address, peer.port,
                   std::move(datagrams));
        return;
      }
      auto now = steady_micros();
      self->state.link->last_active_us = now;
      self->state.link->port_closed = false; // something listens there again
      for (auto dg : datagrams.views())
        self->state.link->sess.input(dg.data(), dg.size(), now);
      // The receivers first: under the I/O scheduler the ack then waits for
      // their jobs, and an answer they send leaves in the ack's packet.
      hand_over(self);
      schedule_flush(self);
    },
    [=](mesh_send_atom, byte_buffer& data, bool reliable) {
      if (self->state.link->forwarding)
        return forward(self, std::move(data), reliable);
      self->state.link->last_active_us = steady_micros();
      enqueue(self, std::move(data), reliable, self->state.link->last_active_us);
      schedule_flush(self);
    },
    [=](mesh_send_atom, byte_buffer& data, bool reliable, uint64_t tag) {
      if (self->state.link->forwarding)
        return forward(self, std::move(data), reliable, tag);
      self->state.link->last_active_us = steady_micros();
      enqueue(self, std::move(data), reliable, self->state.link->last_active_us, tag);
      schedule_flush(self);
    },
    [=](mesh_send_atom, std::vector<byte_buffer>& batch, bool reliable) {
      if (self->state.link->forwarding)
        return forward(self, std::move(batch), reliable);
      auto now = steady_micros(); // one clock read per batch
      self->state.link->last_active_us = now;
      for (auto& data : batch)
        enqueue(self, std::move(data), reliable, now);
      schedule_flush(self);
    },
    [=](mesh_send_atom, packed_messages& messages, bool reliable) {
      if (self->state.link->forwarding)
        return forward(self, std::move(messages), reliable);
      self->state.link->last_active_us = steady_micros();
      enqueue_packed(self, messages, reliable, self->state.link->last_active_us);
      schedule_flush(self);
    },
    [=](flush_atom) {
      self->state.link->deferred.arrived();
      pump(self);
    },
    [=](tick_atom) {
      // Timers are judged after the datagrams already waiting: an ack in the
      // mailbox must not lose the race against the retransmission timer.
      self->state.link->timer_at = UINT64_MAX;
      schedule_flush(self);
    },
    [=](route_atom, uint8_t kind, caf::actor& to) {
      self->state.link->routes.set(kind, std::move(to));
    },
    [=](stats_atom) { return stats_json(self->state.link->sess); },
    [=](link_idle_atom) {
      if (!self->state.link->forwarding)
        check_idle(self);
    },
    [=](unreachable_atom) {
      self->state.link->port_closed = true;
      give_up_if_gone(self);
    },
    [=](peer_gone_atom, bool gone) {
      self->state.link->gone = gone;
      give_up_if_gone(self);
    },
    [=](faults_atom, double drop_percent) {
      auto& st = *self->state.link;
      auto changed = faults;
      changed.drop_percent = drop_percent;
      st.faults = fault_injector{changed};
      st.inject = changed.active();
    },
  };
}

} // namespace

size_t peer_links_alive() {
  return live_links.load();
}

caf::actor spawn_peer_link(caf::event_based_actor* self, endpoint peer,
                           std::shared_ptr<udp_socket> sock, std::shared_ptr<packet_guard> guard,
                           const delivery_routes& routes, session_options opts,
                           fault_options faults, std::chrono::milliseconds idle_timeout) {
  auto idle_us = static_cast<uint64_t>(
    std::chrono::duration_cast<std::chrono::microseconds>(idle_timeout).count());
  return self->spawn<caf::linked>(peer_link, peer, std::move(sock), std::move(guard), routes, opts,
                                  faults, caf::actor_cast<caf::actor>(self), idle_us);
}

} // namespace meshrt::transport
