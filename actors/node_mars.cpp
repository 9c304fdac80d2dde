#include "actors/node_mars.hpp"

#include <algorithm>
#include <iterator>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/node_state.hpp"
#include "actors/node_subscribers.hpp"
#include "transport/atoms.hpp"
#include "transport/clock.hpp"
#include "transport/endpoint.hpp"
#include "transport/logger.hpp"

namespace meshrt {

namespace {

void on_view(node_actor* self, const view_delta& delta) {
  auto& st = self->state;
  auto& mars = st.mars;
  ++mars.answers;
  mars.last_answer_us = steady_micros();
  if (!mars.answering) {
    mars.answering = true;
    if (mars.answers == 1)
      logger("node")->info("part of the cluster: MARS at {} answers", mars.address);
    else
      logger("node")->info("part of the cluster again: MARS at {} answers", mars.address);
  }
  mars.answering_epoch = delta.epoch;
  publish(self, node_event::kind::update);
  for (const auto& ev : st.view.apply(delta)) {
    publish(self, ev);
    // After the subscribers heard of it: the store and the DM service
    // re-route what they had under way at a member that left before the
    // transport fails it (a dead one's, at once: peer_gone_atom).
    if (st.transport
        && (ev.what == node_event::kind::node_left || ev.what == node_event::kind::node_joined)) {
      bool gone = ev.what == node_event::kind::node_left;
      self->send(st.transport, transport::peer_gone_atom::value, ev.subject, gone);
      if (st.correlator)
        self->send(st.correlator, transport::peer_gone_atom::value, ev.subject, gone);
    }
  }
  if (st.view.epoch() == delta.epoch && mars.synced_epoch != delta.epoch) {
    mars.synced_epoch = delta.epoch;
    if (!mars.initial_synced) {
      mars.initial_synced = true;
      publish(self, node_event::kind::initial_sync);
    }
    node_event synced;
    synced.what = node_event::kind::mars_sync;
    synced.incarnation = delta.epoch;
    publish(self, synced);
  }
  publish(self, node_event::kind::updated);
  auto& waiters = mars.latest_waiters;
  for (auto& [left, rp] : waiters)
    if (--left == 0)
      rp.deliver(caf::unit);
  waiters.erase(
    std::remove_if(waiters.begin(), waiters.end(), [](const auto& w) { return w.first == 0; }),
    waiters.end());
}

} // namespace

const std::string& mars_address(node_actor* self, uint64_t now) {
  auto& st = self->state;
  auto& mars = st.mars;
  auto ttl = static_cast<uint64_t>(st.mesh.mars_address_cache_ttl.count()) * 1'000'000;
  if (!mars.address.empty() && now - mars.resolved_us < ttl)
    return mars.address;
  if (auto ip = transport::resolve_ipv4(st.mesh.mars_address)) {
    ++mars.resolutions;
    auto resolved = *ip + ":" + std::to_string(st.mesh.mars_port);
    if (resolved != mars.address && !mars.address.empty())
      logger("node")->info("MARS moved from {} to {}", mars.address, resolved);
    mars.address = std::move(resolved);
    mars.resolved_us = now;
  } else if (mars.address.empty()) {
    logger("node")->warn("cannot resolve MARS address '{}'; retrying every heartbeat",
                         st.mesh.mars_address);
  }
  return mars.address;
}

void send_to_mars(node_actor* self, const mars_message& msg, bool reliable) {
  auto& st = self->state;
  const auto& mars = mars_address(self, steady_micros());
  if (mars.empty() || !st.transport)
    return;
  self->send(st.transport, transport::mesh_send_atom::value, mars, encode(msg), reliable);
}

void heartbeat(node_actor* self) {
  auto& st = self->state;
  if (st.mars.left || !st.transport)
    return;
  mars_announce a{st.opts.app,       st.self_record, st.view.epoch(),
                  st.view.version(), st.opts.guest,  {}};
  // A restarted MARS lost its shared data; the view still has it.
  if (st.mars.answering_epoch != 0 && st.mars.answering_epoch != st.view.epoch())
    for (const auto& kv : st.view.shared_data())
      a.restore_shared.emplace_back(kv);
  ++st.mars.heartbeats;
  // While MARS answers, heartbeats are reliable (a lost one is resent, so
  // loss does not expire a live node); while it does not, they are probes
  // that do not pile up in the transport.
  send_to_mars(self, a, st.mars.answering);
}

void check_mars_silence(node_actor* self, uint64_t now) {
  auto& st = self->state;
  auto& mars = st.mars;
  if (mars.last_answer_us == 0 && !mars.warned_unanswered
      && now - mars.started_us > mars_silence_us) {
    mars.warned_unanswered = true;
    logger("node")->warn("MARS at {} does not answer; not part of the cluster yet, asking again "
                         "every {} ms",
                         mars.address.empty() ? st.mesh.mars_address : mars.address,
                         st.opts.heartbeat.count());
  }
  if (mars.answering && now - mars.last_answer_us > mars_silence_us) {
    mars.answering = false;
    logger("node")->warn("MARS at {} has not answered for {} ms; keeping the last view",
                         mars.address, mars_silence_us / 1000);
    publish(self, node_event::kind::mars_lost);
  }
}

void on_mars_message(node_actor* self, byte_view bytes) {
  auto& mars = self->state.mars;
  std::string error;
  auto msg = decode_mars(bytes, error);
  if (msg && std::holds_alternative<view_delta>(*msg)) {
    on_view(self, std::get<view_delta>(*msg));
    return;
  }
  if (msg && std::holds_alternative<mars_probe>(*msg)) {
    ++mars.probes; // someone thought this node gone; the datagram's arrival says otherwise
    return;
  }
  ++mars.malformed;
  logger("node")->warn("dropped a message from MARS at {}: {}", mars.address,
                       msg ? "not a view" : error);
}

void on_peer_unreachable(node_actor* self, const std::string& peer) {
  auto& st = self->state;
  auto& mars = st.mars;
  // MARS's own silence is judged by its answers; a guest is nobody's
  // member and MARS would not take its word.
  if (peer == mars.address || mars.left || !mars.answering || st.opts.guest
      || st.view.find(peer) == nullptr)
    return;
  auto now = steady_micros();
  auto& last = mars.reported_closed[peer];
  if (last != 0 && now - last < suspect_report_interval_us)
    return;
  last = now;
  if (mars.reported_closed.size() > 64) // members long gone
    for (auto i = mars.reported_closed.begin(); i != mars.reported_closed.end();)
      i = now - i->second > suspect_report_interval_us ? mars.reported_closed.erase(i)
                                                       : std::next(i);
  ++mars.suspects_reported;
  logger("node")->debug("{}'s port is closed (ICMP port unreachable); telling MARS", peer);
  send_to_mars(self, mars_suspect{st.opts.app, peer, st.view.epoch(), st.view.version()}, true);
}

bool is_member(const mars_sync& mars, uint64_t now) {
  return mars.last_answer_us != 0 && now - mars.last_answer_us <= mars_silence_us;
}

} // namespace meshrt
