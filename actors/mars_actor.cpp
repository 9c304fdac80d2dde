#include "actors/mars_actor.hpp"

#include <chrono>
#include <iterator>
#include <unordered_map>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "actors/attach_transport.hpp"
#include "actors/mars_protocol.hpp"
#include "actors/registry.hpp"
#include "transport/atoms.hpp"
#include "transport/clock.hpp"
#include "transport/logger.hpp"
#include "transport/transport_actor.hpp"

namespace meshrt {

namespace {

using transport::mesh_send_atom;
using transport::port_atom;
using transport::received_atom;
using transport::stats_atom;
using transport::tick_atom;
using transport::unreachable_atom;
using metrics_atom = caf::atom_constant<caf::atom("metrics")>;

/// How long a probe of a suspected member waits for its bounce: a closed
/// port on the same host or a LAN answers within a round trip.
constexpr uint64_t probe_wait_us = 1'000'000;

/// The probe of a suspected member (mars_suspect): sent once, its bounce
/// awaited.
struct suspect_probe {
  std::string app;
  uint64_t sent_us = 0;
  std::string reported_by; // the first reporter, for the log
};

struct mars_state {
  std::unique_ptr<registry> reg;
  caf::actor transport;
  uint16_t port = 0;
  mars_config cfg;
  uint64_t messages_in = 0;
  uint64_t payload_in = 0; // bytes of decoded messages
  uint64_t payload_out = 0;
  uint64_t rejected = 0;
  uint64_t started_us = 0;
  /// Suspected members whose probe is out, by mesh address.
  std::unordered_map<std::string, suspect_probe> probes;
  /// The view (epoch, version) each member's last heartbeat said it holds:
  /// what a change MARS sends unasked is computed from. Views only move
  /// forward, and a delta from an older version holds nothing a newer view
  /// has not applied already.
  std::unordered_map<std::string, std::pair<uint64_t, uint64_t>> views;
  uint64_t removed_closed = 0; // members removed because their port closed

  static inline const char* name = "meshrt.mars";
};

using mars_actor = caf::stateful_actor<mars_state>;

/// Sends one message back to a node (or an operator's status client).
void reply(mars_actor* self, const std::string& peer, const mars_message& msg) {
  auto& st = self->state;
  auto bytes = encode(msg);
  st.payload_out += bytes.size();
  self->send(st.transport, mesh_send_atom::value, peer, std::move(bytes), true);
}

/// `app`'s nodes and shared data, and MARS's counters. `wire` holds the
/// bytes MARS's transport sent and received (datagrams with their headers
/// and acknowledgements, every peer).
mars_status status_of(mars_actor* self, const std::string& app,
                      std::pair<uint64_t, uint64_t> wire) {
  auto& st = self->state;
  auto now = steady_micros();
  mars_status status;
  for (auto& e : st.reg->nodes(app))
    status.nodes.push_back({std::move(e.record), (now - std::min(now, e.last_seen_us)) / 1000});
  status.shared = st.reg->shared(app);
  status.uptime_ms = (now - st.started_us) / 1000;
  status.messages_in = st.messages_in;
  status.bytes_in = wire.first;
  status.bytes_out = wire.second;
  return status;
}

/// Answers a status request once the transport has counted its bytes.
void answer_status(mars_actor* self, const std::string& peer, const std::string& app) {
  self->request(self->state.transport, std::chrono::seconds{1}, stats_atom::value)
    .then(
      [=](const std::string& stats) {
        std::pair<uint64_t, uint64_t> wire{0, 0};
        auto doc = nlohmann::json::parse(stats, nullptr, false);
        if (doc.is_object() && doc["peers"].is_object())
          for (const auto& [addr, link] : doc["peers"].items())
            if (link.is_object()) {
              wire.first += link.value("bytes_in", uint64_t{0});
              wire.second += link.value("bytes_out", uint64_t{0});
            }
        reply(self, peer, status_of(self, app, wire));
      },
      [=](caf::error&) {
        reply(self, peer, status_of(self, app, {0, 0}));
      });
}

/// A member reports `s.mesh_address` unreachable: MARS probes it and waits
/// for the bounce (on_unreachable). A report about a node MARS does not
/// have (gone already) or about the reporter itself probes nothing and gets
/// the reporter the present view; a report from outside the app is
/// ignored.
void on_suspect(mars_actor* self, const std::string& peer, mars_suspect& s, uint64_t now) {
  auto& st = self->state;
  if (!st.reg->has(s.app, peer))
    return; // only members report; anyone else gets nothing
  if (s.mesh_address == peer || !st.reg->has(s.app, s.mesh_address)) {
    reply(self, peer, st.reg->answer(s.app, s.epoch, s.version, now));
    return;
  }
  auto& probe = st.probes[s.mesh_address];
  if (probe.sent_us != 0)
    return; // one probe out is enough
  probe.app = s.app;
  probe.reported_by = peer;
  probe.sent_us = now;
  logger("mars")->debug("{} reports {} unreachable; probing", peer, s.mesh_address);
  // Unreliable: a dead peer's port answers the first datagram; nothing to
  // resend.
  auto bytes = encode(mars_message{mars_probe{}});
  st.payload_out += bytes.size();
  self->send(st.transport, mesh_send_atom::value, s.mesh_address, std::move(bytes), false);
}

/// MARS's own datagram to `peer` bounced (ICMP port unreachable). With a
/// probe out for a member there, the member is gone: removed now rather
/// than after its heartbeats' expiry, and every member hears of it now.
void on_unreachable(mars_actor* self, const std::string& peer) {
  auto& st = self->state;
  auto i = st.probes.find(peer);
  if (i == st.probes.end())
    return; // a status client that left, or a bounce nobody asked about
  auto probe = std::move(i->second);
  st.probes.erase(i);
  auto now = steady_micros();
  if (!st.reg->remove(probe.app, peer, now))
    return;
  ++st.removed_closed;
  st.views.erase(peer);
  logger("mars")->info("{} removed from app '{}': its port is closed (reported by {}, confirmed "
                       "by MARS's probe)",
                       peer, probe.app, probe.reported_by);
  // Every member hears of it now, not at its next heartbeat, from the view
  // its last heartbeat named (the reporters' too: their reports' views are
  // no older).
  for (const auto& e : st.reg->nodes(probe.app)) {
    const auto& member = e.record.mesh_address;
    if (auto v = st.views.find(member); v != st.views.end())
      reply(self, member, st.reg->answer(probe.app, v->second.first, v->second.second, now));
  }
}

void handle(mars_actor* self, const std::string& peer, byte_view bytes) {
  auto& st = self->state;
  auto log = logger("mars");
  ++st.messages_in;
  st.payload_in += bytes.size();
  std::string error;
  auto msg = decode_mars(bytes, error);
  if (!msg) {
    ++st.rejected;
    log->warn("dropped a message from {}: {}", peer, error);
    return;
  }
  auto now = steady_micros();
  if (auto* a = std::get_if<mars_announce>(&*msg)) {
    if (!a->restore_shared.empty()) {
      if (auto n = st.reg->restore_shared(a->app, a->restore_shared, now); n > 0)
        log->info("{} restored {} shared value(s) of app '{}'", peer, n, a->app);
    }
    // A guest reads the view without being listed in it.
    if (!a->guest) {
      // The address MARS sees is the one others can reach: it is authoritative.
      a->record.mesh_address = peer;
      if (st.reg->announce(a->app, a->record, now))
        log->debug("{} in app '{}': {} {} {}", peer, a->app, a->record.type, a->record.role,
                   to_string(a->record.status));
      st.views[peer] = {a->epoch, a->version};
    }
    reply(self, peer, st.reg->answer(a->app, a->epoch, a->version, now));
  } else if (auto* l = std::get_if<mars_leave>(&*msg)) {
    st.views.erase(peer);
    if (st.reg->remove(l->app, peer, now))
      log->info("{} left app '{}'", peer, l->app);
  } else if (auto* s = std::get_if<mars_shared>(&*msg)) {
    try {
      if (s->remove)
        st.reg->remove_shared(s->app, s->key, now);
      else
        st.reg->set_shared(s->app, s->key, s->value);
    } catch (const std::invalid_argument& e) {
      ++st.rejected;
      log->warn("dropped shared data from {}: {}", peer, e.what());
    }
  } else if (auto* q = std::get_if<mars_status_request>(&*msg)) {
    answer_status(self, peer, q->app);
  } else if (auto* sus = std::get_if<mars_suspect>(&*msg)) {
    on_suspect(self, peer, *sus, now);
  } else {
    ++st.rejected;
    log->warn("dropped a message from {}: views, status and probes go from MARS, not to it", peer);
  }
}

caf::behavior mars(mars_actor* self, const mars_config& cfg) {
  auto& st = self->state;
  st.cfg = cfg;
  registry::options opts;
  opts.expiry_us = cfg.expiry_us;
  opts.epoch = wall_micros(); // a restarted MARS never continues an old numbering
  st.started_us = steady_micros();
  opts.warmup_until_us = st.started_us + cfg.warmup_us;
  st.reg = std::make_unique<registry>(opts);
  self->send(self, tick_atom::value);
  if (cfg.metrics_interval_s > 0)
    self->delayed_send(self, std::chrono::seconds{cfg.metrics_interval_s}, metrics_atom::value);
  return {
    [=](transport_ready_atom, caf::actor transport, uint16_t port) {
      self->state.transport = std::move(transport);
      self->state.port = port;
      logger("mars")->info("MARS listening on {}:{}", self->state.cfg.address, port);
    },
    [=](received_atom, const std::string& peer, const packed_messages& messages, bool) {
      for (auto bytes : messages.views())
        handle(self, peer, bytes);
    },
    [=](unreachable_atom, const std::string& peer) { on_unreachable(self, peer); },
    [=](tick_atom) {
      auto now = steady_micros();
      for (const auto& [app, addr] : self->state.reg->expire(now)) {
        self->state.views.erase(addr);
        logger("mars")->info("{} expired from app '{}' (silent for {} ms)", addr, app,
                             self->state.cfg.expiry_us / 1000);
      }
      // A probe that did not bounce: the member lives, or its network
      // sends no ICMP; its heartbeats decide.
      auto& probes = self->state.probes;
      for (auto i = probes.begin(); i != probes.end();)
        i = now - i->second.sent_us > probe_wait_us ? probes.erase(i) : std::next(i);
      self->delayed_send(self, std::chrono::microseconds{self->state.cfg.sweep_interval_us},
                         tick_atom::value);
    },
    [=](metrics_atom) {
      auto& s = self->state;
      size_t nodes = 0;
      for (const auto& app : s.reg->apps())
        nodes += s.reg->nodes(app).size();
      logger("mars")->info("metrics: apps={} nodes={} messages_in={} payload_in={} payload_out={} "
                           "rejected={}",
                           s.reg->apps().size(), nodes, s.messages_in, s.payload_in, s.payload_out,
                           s.rejected);
      self->delayed_send(self, std::chrono::seconds{s.cfg.metrics_interval_s}, metrics_atom::value);
    },
    [=](port_atom) { return self->state.port; },
    [=](stats_atom) -> caf::result<std::string> {
      // The registry's figures, and its transport's under "transport".
      auto& s = self->state;
      nlohmann::json j{{"port", s.port},
                       {"uptime_ms", (steady_micros() - s.started_us) / 1000},
                       {"messages_in", s.messages_in},
                       {"payload_in", s.payload_in},
                       {"payload_out", s.payload_out},
                       {"rejected", s.rejected},
                       {"removed_port_closed", s.removed_closed}};
      auto& apps = j["apps"] = nlohmann::json::object();
      for (const auto& app : s.reg->apps())
        apps[app] = {{"nodes", s.reg->nodes(app).size()}, {"shared", s.reg->shared(app).size()}};
      auto rp = self->make_response_promise<std::string>();
      if (!s.transport) {
        rp.deliver(j.dump());
        return rp;
      }
      self->request(s.transport, std::chrono::seconds{1}, stats_atom::value)
        .then(
          [=](const std::string& transport) mutable {
            j["transport"] = nlohmann::json::parse(transport, nullptr, false);
            rp.deliver(j.dump());
          },
          [=](caf::error&) mutable { rp.deliver(j.dump()); });
      return rp;
    },
  };
}

} // namespace

caf::actor spawn_mars(caf::actor_system& sys, const mars_config& cfg) {
  auto registry_actor = sys.spawn(mars, cfg);
  transport::transport_config tc;
  tc.address = cfg.address;
  tc.port = cfg.port;
  // Nodes know MARS by its port: it binds that one or fails, never another.
  tc.port_attempts = 1;
  tc.cluster_key = cfg.cluster_key;
  attach_transport(sys, registry_actor, tc);
  return registry_actor;
}

} // namespace meshrt
