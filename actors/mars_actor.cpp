#include "actors/mars_actor.hpp"

#include <chrono>

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
using metrics_atom = caf::atom_constant<caf::atom("metrics")>;

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
    }
    reply(self, peer, st.reg->answer(a->app, a->epoch, a->version, now));
  } else if (auto* l = std::get_if<mars_leave>(&*msg)) {
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
  } else {
    ++st.rejected;
    log->warn("dropped a message from {}: views and status go from MARS, not to it", peer);
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
    [=](tick_atom) {
      for (const auto& [app, addr] : self->state.reg->expire(steady_micros()))
        logger("mars")->info("{} expired from app '{}' (silent for {} ms)", addr, app,
                             self->state.cfg.expiry_us / 1000);
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
                       {"rejected", s.rejected}};
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
