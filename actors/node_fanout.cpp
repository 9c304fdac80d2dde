#include "actors/node_fanout.hpp"

#include <algorithm>
#include <random>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/fanout_plan.hpp"
#include "actors/mesh_error.hpp"
#include "actors/node_handlers.hpp"
#include "actors/node_state.hpp"
#include "transport/atoms.hpp"
#include "transport/clock.hpp"
#include "transport/endpoint.hpp"
#include "transport/logger.hpp"

namespace meshrt {

namespace {

using transport::send_failed_atom;

/// How long the node that called SendMany relays reports of unreachable
/// nodes to its caller: each level of the tree may wait retryTimeout before
/// it routes around a dead node.
constexpr uint64_t fanout_report_window_us = 60'000'000;

/// How long after retryTimeout a forwarded fan-out is kept: a failure
/// reaches the node within retryTimeout plus timer and mailbox delays, so
/// one not reported by then was delivered.
constexpr uint64_t forwarded_grace_us = 5'000'000;

/// Sends a fan-out message on to the next level of the tree, from a node
/// `hops` hops away from the origin.
void forward_fanout(node_actor* self, const envelope& base, uint8_t hops,
                    const std::vector<std::string>& targets,
                    const std::shared_ptr<const byte_buffer>& payload) {
  auto& st = self->state;
  auto& fan = st.fanout;
  auto now = steady_micros();
  for (auto& step : plan_fanout(targets, base.limit)) {
    envelope e;
    e.kind = envelope_kind::fanout;
    e.command = base.command;
    e.reliable = base.reliable;
    e.limit = base.limit;
    e.hops = hops == UINT8_MAX ? hops : static_cast<uint8_t>(hops + 1);
    e.id = base.id;
    e.address = base.address;
    e.branch = step.branch;
    // The payload is shared by all the sends: it is copied once, here.
    auto bytes = encode_envelope(e, *payload);
    if (!base.reliable) {
      st.outbox.send(self, st.transport, step.child, std::move(bytes), false);
      continue;
    }
    auto tag = fan.next_tag++;
    st.outbox.send(self, st.transport, step.child, std::move(bytes), true, tag);
    fan.forwarded.emplace(tag,
                          forwarded_fanout{step.child, base.id, base.address, base.command,
                                           base.limit, hops, std::move(step.branch), payload, now});
  }
}

/// Tells whoever called SendMany that `unreachable` was not reached.
void report_unreachable(node_actor* self, uint64_t id, const std::string& origin,
                        const std::string& unreachable, const caf::error& err) {
  auto& st = self->state;
  if (origin != st.self_record.mesh_address) {
    envelope report;
    report.kind = envelope_kind::fanout_report;
    report.id = id;
    report.address = unreachable;
    st.outbox.send(self, st.transport, origin, encode_envelope(report), true);
    return;
  }
  if (auto i = st.fanout.started.find(id); i != st.fanout.started.end())
    self->send(i->second.caller, send_failed_atom::value, unreachable, err);
}

} // namespace

caf::result<caf::unit_t> start_fanout(node_actor* self, uint16_t command,
                                      const std::vector<std::string>& addrs,
                                      const byte_buffer& payload, uint16_t limit, bool reliable) {
  auto& st = self->state;
  if (limit == 0)
    return make_error(mesh_errc::invalid_argument, "SendMany needs a limit of at least 1");
  bool had_self = false;
  auto targets = fanout_targets(addrs, st.self_record.mesh_address, had_self);
  auto caller = caf::actor_cast<caf::actor>(self->current_sender());
  std::vector<std::string> valid;
  valid.reserve(targets.size());
  for (auto& t : targets) {
    if (transport::endpoint::parse(t)) {
      valid.push_back(std::move(t));
    } else if (caller) {
      self->send(
        caller, send_failed_atom::value, t,
        make_error(mesh_errc::invalid_address, "'" + t + "' is not a mesh address (a.b.c.d:port)"));
    }
  }
  if (had_self)
    deliver(self, command, st.self_record.mesh_address, payload);
  if (valid.empty())
    return caf::unit;
  envelope base;
  base.command = command;
  base.reliable = reliable;
  base.limit = limit;
  base.id = (*st.rng)();
  base.address = st.self_record.mesh_address;
  if (reliable && caller)
    st.fanout.started[base.id] = {caller, steady_micros() + fanout_report_window_us};
  forward_fanout(self, base, 0, valid, std::make_shared<const byte_buffer>(payload));
  return caf::unit;
}

void on_fanout(node_actor* self, envelope&& env) {
  auto& fan = self->state.fanout;
  ++fan.received;
  fan.last_hops = env.hops;
  fan.max_hops = std::max<uint64_t>(fan.max_hops, env.hops);
  auto payload = std::make_shared<const byte_buffer>(std::move(env.payload));
  deliver(self, env.command, env.address, *payload);
  if (!env.branch.empty())
    forward_fanout(self, env, env.hops, env.branch, payload);
}

void on_fanout_report(node_actor* self, const std::string& peer, const envelope& report) {
  auto& started = self->state.fanout.started;
  if (auto i = started.find(report.id); i != started.end())
    self->send(i->second.caller, send_failed_atom::value, report.address,
               make_error(mesh_errc::network_error,
                          report.address + " did not acknowledge a SendMany message (reported by "
                            + peer + ")"));
}

void route_around(node_actor* self, uint64_t tag, const caf::error& err) {
  auto& fan = self->state.fanout;
  auto i = fan.forwarded.find(tag);
  if (i == fan.forwarded.end())
    return;
  auto f = std::move(i->second);
  fan.forwarded.erase(i);
  ++fan.rerouted;
  logger("node")->warn("SendMany: {} unreachable; sending its branch of {} node(s) from here",
                       f.child, f.branch.size());
  report_unreachable(self, f.id, f.origin, f.child, err);
  envelope base;
  base.command = f.command;
  base.reliable = true;
  base.limit = f.limit;
  base.id = f.id;
  base.address = f.origin;
  forward_fanout(self, base, f.hops, f.branch, f.payload);
}

void prune_fanouts(node_actor* self, uint64_t now) {
  auto& st = self->state;
  auto& fan = st.fanout;
  auto keep_us = static_cast<uint64_t>(st.mesh.retry_timeout.count()) * 1000 + forwarded_grace_us;
  for (auto i = fan.forwarded.begin(); i != fan.forwarded.end();)
    i = now - i->second.sent_us > keep_us ? fan.forwarded.erase(i) : std::next(i);
  for (auto i = fan.started.begin(); i != fan.started.end();)
    i = i->second.expires_us <= now ? fan.started.erase(i) : std::next(i);
}

} // namespace meshrt
