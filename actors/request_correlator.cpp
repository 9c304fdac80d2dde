#include "actors/request_correlator.hpp"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "actors/mesh_error.hpp"
#include "actors/mesh_outbox.hpp"
#include "actors/node_actor.hpp"
#include "actors/node_atoms.hpp"
#include "actors/pending_requests.hpp"
#include "transport/atoms.hpp"
#include "transport/clock.hpp"
#include "transport/deferred_flush.hpp"
#include "transport/endpoint.hpp"
#include "transport/logger.hpp"
#include "transport/wire.hpp"

namespace meshrt {

uint32_t wire_timeout_ms(caf::timespan timeout) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();
  return static_cast<uint32_t>(std::clamp<int64_t>(ms, 1, UINT32_MAX));
}

std::pair<response_status, std::string> to_response(const caf::error& err) {
  if (is(err, mesh_errc::invalid_data))
    return {response_status::invalid_data, context_of(err)};
  if (is(err, mesh_errc::no_handler))
    return {response_status::no_handler, context_of(err)};
  if (is(err, mesh_errc::handler_error))
    return {response_status::handler_error, context_of(err)};
  // Any other error a handler answers with (its own category, CAF's
  // unexpected_message, ...) is the handler's failure, told in words.
  return {response_status::handler_error, to_string(err)};
}

caf::error from_response(response_status status, const std::string& text, const std::string& peer,
                         uint16_t command) {
  auto where = " (command " + std::to_string(command) + " on " + peer + ")";
  switch (status) {
    case response_status::no_handler:
      return make_error(mesh_errc::no_handler, text + where);
    case response_status::invalid_data:
      return make_error(mesh_errc::invalid_data, text + where);
    case response_status::handler_error:
    case response_status::ok:
      break;
  }
  return make_error(mesh_errc::handler_error, text + where);
}

namespace {

using transport::flush_atom;
using transport::received_atom;
using transport::send_failed_atom;
using transport::stats_atom;
using transport::tick_atom;
using recheck_atom = caf::atom_constant<caf::atom("recheck")>;
using probe_atom = caf::atom_constant<caf::atom("probe")>;

/// A caller's promise; empty (not pending) for the correlator's own health
/// checks.
using waiter = caf::response_promise;

struct peer_health {
  bool checking = false;
  bool unhealthy = false;
  uint32_t missed = 0; // health checks unanswered in a row
  uint64_t last_request_us = 0;
};

struct correlator_state {
  caf::actor transport;
  caf::actor node;          // the owner, which answers calls to itself
  std::string self_address; // the node's mesh address
  mesh_outbox outbox;
  /// Requests of one pass through the mailbox leave in one batch per peer.
  transport::deferred_flush deferred;
  correlator_options opts;
  pending_requests<waiter> table;
  std::unordered_map<std::string, peer_health> health;
  /// Peers the cluster's view lost (peer_gone_atom from the node): a
  /// failure reported for one ends every request to it.
  std::unordered_set<std::string> gone;
  uint64_t timer_at = UINT64_MAX;
  /// A probe_atom is on its way (probe_waiting()).
  bool probing = false;

  uint64_t requests = 0;  // the application's; the correlator's own
  uint64_t responses = 0; // health checks count in health_checks only
  uint64_t timeouts = 0;
  uint64_t late_responses = 0;
  uint64_t malformed = 0;
  uint64_t network_failures = 0;
  uint64_t refused_unhealthy = 0;
  uint64_t health_checks = 0;
  uint64_t probes = 0; // of them, for requests waiting probe_after or longer

  static inline const char* name = "meshrt.correlator";
};

using correlator_actor = caf::stateful_actor<correlator_state>;

void arm_timer(correlator_actor* self, uint64_t now) {
  auto& st = self->state;
  auto deadline = st.table.next_deadline();
  if (deadline >= st.timer_at)
    return;
  st.timer_at = deadline;
  auto delay = deadline > now ? deadline - now : 0;
  self->delayed_send(self, std::chrono::microseconds{delay}, tick_atom::value);
}

/// Looks again at what waits after probe_after, unless a look is due.
void arm_probe(correlator_actor* self) {
  auto& st = self->state;
  if (st.probing || st.opts.probe_after.count() == 0)
    return;
  st.probing = true;
  self->delayed_send(self, st.opts.probe_after, probe_atom::value);
}

void send_request(correlator_actor* self, const std::string& peer, uint16_t command,
                  const byte_buffer& payload, uint32_t timeout_ms, waiter w) {
  auto& st = self->state;
  auto now = steady_micros();
  arm_probe(self);
  envelope env;
  env.kind = envelope_kind::request;
  env.command = command;
  env.timeout_ms = timeout_ms;
  if (w.pending())
    ++st.requests; // the application's; its own health checks count apart
  env.id = st.table.add(peer, command, now + uint64_t{timeout_ms} * 1000, std::move(w), now);
  st.outbox.queue_and_flush(self, st.transport, peer, encode_envelope(env, payload), true,
                            st.deferred);
  arm_timer(self, now);
}

/// Sends `peer` a health check unless one is under way; whether it did.
bool start_health_check(correlator_actor* self, const std::string& peer) {
  auto& h = self->state.health[peer];
  if (h.checking)
    return false;
  h.checking = true;
  ++self->state.health_checks;
  auto timeout = static_cast<uint32_t>(self->state.opts.health_timeout.count());
  send_request(self, peer, health_check_command, {}, timeout, waiter{});
  return true;
}

/// Checks each peer that a request has waited on for probe_after or
/// longer (request_correlator.hpp says why), and looks again later while
/// anything waits.
void probe_waiting(correlator_actor* self) {
  auto& st = self->state;
  st.probing = false;
  auto now = steady_micros();
  auto after = static_cast<uint64_t>(st.opts.probe_after.count()) * 1000;
  for (const auto& peer : st.table.peers_waiting_since(now > after ? now - after : 0)) {
    if (auto i = st.health.find(peer); i != st.health.end() && i->second.unhealthy)
      continue; // the recheck takes care of it
    if (start_health_check(self, peer))
      ++st.probes;
  }
  if (st.table.size() != 0)
    arm_probe(self);
}

/// The peer answered something: it is alive.
void mark_healthy(correlator_actor* self, const std::string& peer) {
  auto& health = self->state.health;
  auto i = health.find(peer);
  if (i == health.end())
    return;
  if (i->second.unhealthy)
    logger("node")->info("{} answers again: healthy", peer);
  health.erase(i);
}

/// A health check of `peer` failed: unanswered within health_timeout, or
/// the transport gave up on it (retryTimeout).
void health_check_failed(correlator_actor* self, const std::string& peer) {
  auto& st = self->state;
  auto& h = st.health[peer];
  h.checking = false;
  ++h.missed;
  if (!h.unhealthy && h.missed < st.opts.missed_checks) {
    start_health_check(self, peer); // slow or lossy is not dead: ask again
    return;
  }
  auto now = steady_micros();
  if (!h.unhealthy) {
    h.unhealthy = true;
    h.last_request_us = now;
    // A member the view lost is expected not to answer: no warning then.
    auto level = st.gone.count(peer) != 0 ? spdlog::level::info : spdlog::level::warn;
    logger("node")->log(level,
                        "{} did not answer {} health checks in a row (none within {} ms, or "
                        "the transport could not deliver it): unhealthy, requests to it fail at "
                        "once until it answers one",
                        peer, h.missed, st.opts.health_timeout.count());
  }
  if (now - h.last_request_us > static_cast<uint64_t>(st.opts.forget_after.count()) * 1000) {
    st.health.erase(peer); // nobody asks for it any more
    return;
  }
  self->delayed_send(self, st.opts.recheck_interval, recheck_atom::value, peer);
}

/// Ends a pending request without a response.
void fail(correlator_actor* self, pending_requests<waiter>::entry& e, const caf::error& err) {
  if (e.waiter.pending()) {
    e.waiter.deliver(err);
    return;
  }
  health_check_failed(self, e.peer); // one of our own health checks
}

/// Answers the request `r` responds to; one whose deadline passed (or a
/// confused peer answering someone else's id) is dropped and counted: the
/// caller has its answer already and gets no second one.
void on_response(correlator_actor* self, const std::string& peer, envelope& r) {
  auto& st = self->state;
  auto entry = st.table.take(r.id);
  if (!entry || entry->peer != peer) {
    ++st.late_responses;
    logger("node")->debug("dropped a response from {} to request {}: no longer pending", peer,
                          r.id);
    return;
  }
  mark_healthy(self, peer);
  if (!entry->waiter.pending())
    return; // our own health check
  ++st.responses;
  if (r.status == response_status::ok)
    entry->waiter.deliver(std::move(r.payload));
  else
    entry->waiter.deliver(from_response(r.status, std::string(r.payload.begin(), r.payload.end()),
                                        peer, entry->command));
}

/// The responses of one delivery from `peer`.
void on_responses(correlator_actor* self, const std::string& peer, const packed_messages& batch) {
  auto& st = self->state;
  std::string error;
  for (auto bytes : batch.views()) {
    auto env = decode_envelope(bytes, error);
    if (!env || env->kind != envelope_kind::response) {
      ++st.malformed;
      logger("node")->warn("dropped a message of {} bytes from {} that is not a response: {}",
                           bytes.size(), peer, env ? "another kind" : error);
      continue;
    }
    on_response(self, peer, *env);
  }
}

/// A request of the application's: sent to `peer`, or handed to the node
/// if it is the node's own address (handlers run there, no network).
caf::result<byte_buffer> call(correlator_actor* self, uint16_t command, const std::string& peer,
                              byte_buffer& payload, caf::timespan timeout) {
  auto& st = self->state;
  if (peer == st.self_address) {
    self->delegate(st.node, local_call_atom::value, command, std::move(payload), timeout);
    return caf::delegated<byte_buffer>{};
  }
  auto timeout_ms = wire_timeout_ms(timeout);
  if (!transport::endpoint::parse(peer))
    return make_error(mesh_errc::invalid_address,
                      "'" + peer + "' is not a mesh address (a.b.c.d:port)");
  if (payload.size() + request_header_size > transport::max_message_size)
    return make_error(mesh_errc::message_too_large, "request of " + std::to_string(payload.size())
                                                      + " bytes exceeds MaxMessageSize ("
                                                      + std::to_string(transport::max_message_size)
                                                      + " bytes)");
  if (auto i = st.health.find(peer); i != st.health.end() && i->second.unhealthy) {
    i->second.last_request_us = steady_micros();
    ++st.refused_unhealthy;
    return make_error(mesh_errc::unhealthy,
                      peer + " did not answer its health check; retrying it every "
                        + std::to_string(st.opts.recheck_interval.count()) + " ms");
  }
  auto rp = self->make_response_promise();
  send_request(self, peer, command, payload, timeout_ms, rp);
  return rp;
}

caf::behavior correlator(correlator_actor* self, caf::actor node, caf::actor transport,
                         std::string self_address, correlator_options opts) {
  self->state.node = std::move(node);
  self->state.transport = std::move(transport);
  self->state.self_address = std::move(self_address);
  self->state.opts = opts;
  // Every caller gets an answer, also when the node stops (the correlator is
  // linked to it): callers need no timer of their own.
  self->set_exit_handler([=](caf::exit_msg& msg) {
    for (auto& e : self->state.table.expire(UINT64_MAX))
      if (e.waiter.pending())
        e.waiter.deliver(make_error(mesh_errc::network_error, "the node stopped while a request to "
                                                                + e.peer + " was pending"));
    self->quit(msg.reason);
  });
  return {
    [=](rpc_atom, uint16_t command, const std::string& peer,
        byte_buffer& payload) -> caf::result<byte_buffer> {
      return call(self, command, peer, payload, default_request_timeout);
    },
    [=](rpc_atom, uint16_t command, const std::string& peer, byte_buffer& payload,
        caf::timespan timeout) -> caf::result<byte_buffer> {
      return call(self, command, peer, payload, timeout);
    },
    [=](flush_atom) {
      self->state.deferred.arrived();
      self->state.outbox.flush(self, self->state.transport);
    },
    [=](received_atom, const std::string& peer, const packed_messages& batch, bool) {
      on_responses(self, peer, batch);
    },
    [=](send_failed_atom, const std::string& peer, const caf::error& err) {
      // One give-up of the transport fails every message it held, and is
      // reported once per message: the requests it concerns were all sent
      // retryTimeout or more before it. (Not the health check sent on the
      // first report: taking it on the next report of the same give-up
      // made one unlucky give-up at 40% loss mark the peer unhealthy.)
      // A member the view lost whose port closed fails as soon as the
      // transport learns both, whatever was sent when: then all go.
      auto& st = self->state;
      auto rt = static_cast<uint64_t>(st.opts.retry_timeout.count()) * 1000;
      auto now = steady_micros();
      auto sent_until = st.gone.count(peer) != 0 ? UINT64_MAX : now > rt ? now - rt : 0;
      auto failed = st.table.take_peer(peer, sent_until);
      st.network_failures += failed.size();
      for (auto& e : failed)
        fail(self, e, err);
      if (!failed.empty())
        start_health_check(self, peer);
    },
    [=](transport::peer_gone_atom, const std::string& peer, bool gone) {
      auto& st = self->state;
      if (!gone) {
        st.gone.erase(peer);
        return;
      }
      if (st.gone.size() < transport::max_gone_peers)
        st.gone.insert(peer);
      // Requests it had taken may have been acknowledged and wait for an
      // answer a dead process will never send: a health check finds out
      // (a closed port bounces it at once, and the transport's give-up
      // ends them all; a member that left alive answers).
      if (st.table.waits_on(peer))
        start_health_check(self, peer);
    },
    [=](tick_atom) {
      auto& st = self->state;
      auto now = steady_micros();
      st.timer_at = UINT64_MAX;
      for (auto& e : st.table.expire(now)) {
        if (e.waiter.pending()) {
          ++st.timeouts;
          e.waiter.deliver(
            make_error(mesh_errc::request_timeout, "no response from " + e.peer + " to command "
                                                     + std::to_string(e.command) + " in time"));
          start_health_check(self, e.peer);
        } else {
          health_check_failed(self, e.peer);
        }
      }
      arm_timer(self, now);
    },
    [=](probe_atom) { probe_waiting(self); },
    [=](recheck_atom, const std::string& peer) {
      auto i = self->state.health.find(peer);
      if (i != self->state.health.end() && i->second.unhealthy)
        start_health_check(self, peer);
    },
    [=](stats_atom) {
      auto& st = self->state;
      size_t unhealthy = 0;
      for (const auto& kv : st.health)
        unhealthy += kv.second.unhealthy ? 1 : 0;
      nlohmann::json j{{"requests", st.requests},
                       {"responses", st.responses},
                       {"pending", st.table.size()},
                       {"timeouts", st.timeouts},
                       {"late_responses", st.late_responses},
                       {"malformed", st.malformed},
                       {"network_failures", st.network_failures},
                       {"refused_unhealthy", st.refused_unhealthy},
                       {"health_checks", st.health_checks},
                       {"probes", st.probes},
                       {"unhealthy_peers", unhealthy}};
      return j.dump();
    },
  };
}

} // namespace

caf::actor spawn_request_correlator(caf::event_based_actor* owner, caf::actor transport,
                                    std::string self_address, correlator_options opts) {
  return owner->spawn<caf::linked>(correlator, caf::actor_cast<caf::actor>(owner),
                                   std::move(transport), std::move(self_address), opts);
}

} // namespace meshrt
