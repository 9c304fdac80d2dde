#include "actors/mars_actor.hpp"

#include <chrono>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/mars_protocol.hpp"
#include "actors/registry.hpp"
#include "actors/transport_owner.hpp"
#include "runtime/logging.hpp"
#include "transport/atoms.hpp"
#include "transport/clock.hpp"
#include "transport/transport_actor.hpp"

namespace meshrt {

namespace {

using transport::mesh_send_atom;
using transport::port_atom;
using transport::received_atom;
using transport::tick_atom;
using metrics_atom = caf::atom_constant<caf::atom("metrics")>;

struct mars_state {
  std::unique_ptr<registry> reg;
  caf::actor transport;
  uint16_t port = 0;
  mars_config cfg;
  uint64_t messages_in = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint64_t rejected = 0;
  uint64_t started_us = 0;

  static inline const char* name = "meshrt.mars";
};

using mars_actor = caf::stateful_actor<mars_state>;

/// Sends one message back to a node (or an operator's status client).
void reply(mars_actor* self, const std::string& peer, const mars_message& msg) {
  auto& st = self->state;
  auto bytes = encode(msg);
  st.bytes_out += bytes.size();
  self->send(st.transport, mesh_send_atom::value, peer, std::move(bytes), true);
}

void handle(mars_actor* self, const std::string& peer, const byte_buffer& bytes) {
  auto& st = self->state;
  auto log = logger("mars");
  ++st.messages_in;
  st.bytes_in += bytes.size();
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
    mars_status status;
    for (auto& e : st.reg->nodes(q->app))
      status.nodes.push_back({std::move(e.record), (now - std::min(now, e.last_seen_us)) / 1000});
    status.shared = st.reg->shared(q->app);
    status.uptime_ms = (now - st.started_us) / 1000;
    status.messages_in = st.messages_in;
    status.bytes_in = st.bytes_in;
    status.bytes_out = st.bytes_out;
    reply(self, peer, status);
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
    [=](received_atom, const std::string& peer, const std::vector<byte_buffer>& messages, bool) {
      for (const auto& bytes : messages)
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
      logger("mars")->info("metrics: apps={} nodes={} messages_in={} bytes_in={} bytes_out={} "
                           "rejected={}",
                           s.reg->apps().size(), nodes, s.messages_in, s.bytes_in, s.bytes_out,
                           s.rejected);
      self->delayed_send(self, std::chrono::seconds{s.cfg.metrics_interval_s}, metrics_atom::value);
    },
    [=](port_atom) { return self->state.port; },
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
  attach_transport(sys, registry_actor, tc);
  return registry_actor;
}

} // namespace meshrt
