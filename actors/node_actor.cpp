#include "actors/node_actor.hpp"

#include <algorithm>
#include <random>
#include <set>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "actors/cluster_view.hpp"
#include "actors/mars_protocol.hpp"
#include "actors/mesh_envelope.hpp"
#include "actors/node_atoms.hpp"
#include "actors/registry.hpp"
#include "actors/transport_owner.hpp"
#include "runtime/logging.hpp"
#include "runtime/transport_settings.hpp"
#include "transport/atoms.hpp"
#include "transport/clock.hpp"
#include "transport/endpoint.hpp"
#include "transport/mesh_error.hpp"
#include "transport/transport_actor.hpp"

namespace meshrt {

std::string default_role(const std::string& type) {
  for (const char* role : {"HTTP", "UDP", "TCP", "DGS"})
    if (type == role)
      return type;
  return "HTTP";
}

namespace {

using transport::mesh_send_atom;
using transport::received_atom;
using transport::send_failed_atom;
using transport::tick_atom;
using leave_step_atom = caf::atom_constant<caf::atom("leavestep")>;

/// How long MARS may stay silent before the node counts as cut off
/// (IsPartOfCluster false, mars_lost event): the reference's two seconds.
constexpr uint64_t mars_silence_us = 2'000'000;

/// Non-members whose dropped messages are logged by name; past this many,
/// drops are only counted.
constexpr size_t max_named_strangers = 64;

struct node_state {
  config cfg;
  node_options opts;
  node_record self_record;
  cluster_view view;
  caf::actor transport;
  bool ready = false;

  // MARS
  std::string mars; // "a.b.c.d:port"; empty until resolved
  uint64_t mars_resolved_us = 0;
  uint64_t last_answer_us = 0; // 0: never answered
  bool mars_answering = false;
  uint64_t answering_epoch = 0; // the incarnation of MARS's last answer
  uint64_t synced_epoch = 0;    // the incarnation the view last synced with
  bool initial_synced = false;
  bool left = false; // sent mars_leave: no more heartbeats
  uint64_t started_us = 0;
  bool warned_unanswered = false;

  std::vector<caf::actor> subscribers;
  std::map<uint16_t, caf::actor> handlers;
  std::vector<std::pair<int, caf::response_promise>> latest_waiters;
  caf::response_promise leave_promise;
  std::unique_ptr<std::mt19937_64> rng;
  std::set<std::string> named_strangers;

  // counters
  uint64_t heartbeats = 0;
  uint64_t answers = 0;
  uint64_t mesh_in = 0;
  uint64_t dropped_external = 0;
  uint64_t malformed = 0;
  uint64_t unhandled = 0;
  uint64_t mars_send_failures = 0;

  static inline const char* name = "meshrt.node";
};

using node_actor = caf::stateful_actor<node_state>;

template<class... Ts>
void publish(node_actor* self, const Ts&... xs) {
  for (const auto& sub : self->state.subscribers)
    self->send(sub, xs...);
}

void publish(node_actor* self, const view_event& ev) {
  using kind = view_event::kind;
  switch (ev.what) {
    case kind::node_joined:
      publish(self, node_joined_atom::value, ev.subject);
      break;
    case kind::node_left:
      publish(self, node_left_atom::value, ev.subject);
      break;
    case kind::node_updated:
      publish(self, node_changed_atom::value, ev.subject);
      break;
    case kind::node_status_changed:
      publish(self, node_status_atom::value, ev.subject, ev.status);
      break;
    case kind::shared_updated:
      publish(self, shared_updated_atom::value, ev.subject, ev.value);
      break;
    case kind::shared_removed:
      publish(self, shared_removed_atom::value, ev.subject);
      break;
  }
}

/// MARS's "a.b.c.d:port", resolved again once marsAddressCacheTTL passed.
const std::string& mars_address(node_actor* self, uint64_t now) {
  auto& st = self->state;
  auto ttl = static_cast<uint64_t>(st.cfg.mesh.mars_address_cache_ttl.count()) * 1'000'000;
  if (!st.mars.empty() && now - st.mars_resolved_us < ttl)
    return st.mars;
  if (auto ip = transport::resolve_ipv4(st.cfg.mesh.mars_address)) {
    auto resolved = *ip + ":" + std::to_string(st.cfg.mesh.mars_port);
    if (resolved != st.mars && !st.mars.empty())
      logger("node")->info("MARS moved from {} to {}", st.mars, resolved);
    st.mars = std::move(resolved);
    st.mars_resolved_us = now;
  } else if (st.mars.empty()) {
    logger("node")->warn("cannot resolve MARS address '{}'; retrying every heartbeat",
                         st.cfg.mesh.mars_address);
  }
  return st.mars;
}

void send_to_mars(node_actor* self, const mars_message& msg, bool reliable) {
  auto& st = self->state;
  const auto& mars = mars_address(self, steady_micros());
  if (mars.empty() || !st.transport)
    return;
  self->send(st.transport, mesh_send_atom::value, mars, encode(msg), reliable);
}

void heartbeat(node_actor* self) {
  auto& st = self->state;
  if (st.left || !st.transport)
    return;
  mars_announce a{st.opts.app,       st.self_record, st.view.epoch(),
                  st.view.version(), st.opts.guest,  {}};
  // A restarted MARS lost its shared data; the view still has it.
  if (st.answering_epoch != 0 && st.answering_epoch != st.view.epoch())
    for (const auto& kv : st.view.shared_data())
      a.restore_shared.emplace_back(kv);
  ++st.heartbeats;
  // While MARS answers, heartbeats are reliable (a lost one is resent, so
  // loss does not expire a live node); while it does not, they are probes
  // that do not pile up in the transport.
  send_to_mars(self, a, st.mars_answering);
}

void check_mars_silence(node_actor* self, uint64_t now) {
  auto& st = self->state;
  if (st.last_answer_us == 0 && !st.warned_unanswered && now - st.started_us > mars_silence_us) {
    st.warned_unanswered = true;
    logger("node")->warn("MARS at {} does not answer; not part of the cluster yet, asking again "
                         "every {} ms",
                         st.mars.empty() ? st.cfg.mesh.mars_address : st.mars,
                         st.opts.heartbeat.count());
  }
  if (st.mars_answering && now - st.last_answer_us > mars_silence_us) {
    st.mars_answering = false;
    logger("node")->warn("MARS at {} has not answered for {} ms; keeping the last view", st.mars,
                         mars_silence_us / 1000);
    publish(self, mars_lost_atom::value);
  }
}

void on_view(node_actor* self, const view_delta& delta) {
  auto& st = self->state;
  auto now = steady_micros();
  ++st.answers;
  st.last_answer_us = now;
  if (!st.mars_answering) {
    st.mars_answering = true;
    if (st.answers == 1)
      logger("node")->info("part of the cluster: MARS at {} answers", st.mars);
    else
      logger("node")->info("part of the cluster again: MARS at {} answers", st.mars);
  }
  st.answering_epoch = delta.epoch;
  publish(self, update_atom::value);
  for (const auto& ev : st.view.apply(delta))
    publish(self, ev);
  if (st.view.epoch() == delta.epoch && st.synced_epoch != delta.epoch) {
    st.synced_epoch = delta.epoch;
    if (!st.initial_synced) {
      st.initial_synced = true;
      publish(self, initial_sync_atom::value);
    }
    publish(self, mars_sync_atom::value, delta.epoch);
  }
  publish(self, updated_atom::value);
  auto& waiters = st.latest_waiters;
  for (auto& [left, rp] : waiters)
    if (--left == 0)
      rp.deliver(caf::unit);
  waiters.erase(
    std::remove_if(waiters.begin(), waiters.end(), [](const auto& w) { return w.first == 0; }),
    waiters.end());
}

void on_mars_message(node_actor* self, const byte_buffer& bytes) {
  auto& st = self->state;
  std::string error;
  auto msg = decode_mars(bytes, error);
  if (msg && std::holds_alternative<view_delta>(*msg)) {
    on_view(self, std::get<view_delta>(*msg));
    return;
  }
  ++st.malformed;
  logger("node")->warn("dropped a message from MARS at {}: {}", st.mars,
                       msg ? "not a view" : error);
}

void on_mesh_message(node_actor* self, const std::string& peer, const byte_buffer& bytes) {
  auto& st = self->state;
  auto env = decode_envelope(bytes);
  if (!env) {
    ++st.malformed;
    logger("node")->warn("dropped a malformed mesh message of {} bytes from {}", bytes.size(),
                         peer);
    return;
  }
  auto i = st.handlers.find(env->command);
  if (i == st.handlers.end()) {
    ++st.unhandled;
    logger("node")->warn("dropped a mesh message from {}: no handler for command {}", peer,
                         env->command);
    return;
  }
  ++st.mesh_in;
  self->send(i->second, mesh_message_atom::value, env->command, peer, std::move(env->payload));
}

/// strictCheckForExternal: is `peer` allowed to send mesh messages here?
bool admitted(node_actor* self, const std::string& peer, size_t count) {
  auto& st = self->state;
  if (!st.cfg.mesh.strict_check_for_external || st.view.find(peer) != nullptr)
    return true;
  st.dropped_external += count;
  if (st.named_strangers.size() < max_named_strangers && st.named_strangers.insert(peer).second)
    logger("node")->warn("dropped {} mesh message(s) from {}: not a cluster member "
                         "(strictCheckForExternal)",
                         count, peer);
  return false;
}

/// Send / USend. Delegating keeps the application's actor as the sender, so
/// the transport reports a failed delivery to it rather than to the node.
void send_mesh(node_actor* self, uint16_t command, const std::string& addr,
               const byte_buffer& payload, bool reliable) {
  self->delegate(self->state.transport, mesh_send_atom::value, addr,
                 encode_envelope(envelope_kind::message, command, payload), reliable);
}

std::string stats_json(node_actor* self) {
  auto& st = self->state;
  nlohmann::json j{{"mesh_address", st.self_record.mesh_address},
                   {"app", st.opts.app},
                   {"guest", st.opts.guest},
                   {"mars", st.mars},
                   {"part_of_cluster", st.mars_answering},
                   {"view_nodes", st.view.size()},
                   {"view_epoch", st.view.epoch()},
                   {"view_version", st.view.version()},
                   {"heartbeats", st.heartbeats},
                   {"answers", st.answers},
                   {"mesh_in", st.mesh_in},
                   {"dropped_external", st.dropped_external},
                   {"malformed", st.malformed},
                   {"unhandled", st.unhandled},
                   {"mars_send_failures", st.mars_send_failures}};
  return j.dump();
}

/// Applies a change to this node's record and tells MARS at once.
template<class F>
caf::unit_t change_record(node_actor* self, F f) {
  f(self->state.self_record);
  heartbeat(self);
  return caf::unit;
}

caf::behavior node(node_actor* self, const config& cfg, const node_options& opts) {
  auto& st = self->state;
  st.cfg = cfg;
  st.opts = opts;
  st.self_record.type = opts.type;
  st.self_record.role = opts.role.empty() ? default_role(opts.type) : opts.role;
  st.self_record.public_endpoint = opts.public_endpoint;
  st.rng = std::make_unique<std::mt19937_64>(std::random_device{}());
  self->set_down_handler([=](const caf::down_msg& msg) {
    auto& subs = self->state.subscribers;
    subs.erase(std::remove(subs.begin(), subs.end(), msg.source), subs.end());
    for (auto i = self->state.handlers.begin(); i != self->state.handlers.end();)
      i = i->second == msg.source ? self->state.handlers.erase(i) : std::next(i);
  });
  return {
    [=](transport_ready_atom, caf::actor transport, uint16_t port) {
      auto& st = self->state;
      st.transport = std::move(transport);
      st.self_record.mesh_address = st.cfg.mesh.address + ":" + std::to_string(port);
      st.ready = true;
      st.started_us = steady_micros();
      logger("node")->info("{} node {} ({}) of app '{}', MARS {}:{}",
                           st.opts.guest ? "guest" : "mesh", st.self_record.mesh_address,
                           st.self_record.type, st.opts.app, st.cfg.mesh.mars_address,
                           st.cfg.mesh.mars_port);
      publish(self, ready_atom::value);
      self->send(self, tick_atom::value);
    },
    [=](tick_atom) {
      auto now = steady_micros();
      check_mars_silence(self, now);
      heartbeat(self);
      self->delayed_send(self, self->state.opts.heartbeat, tick_atom::value);
    },
    [=](received_atom, const std::string& peer, const std::vector<byte_buffer>& messages, bool) {
      auto& st = self->state;
      if (peer == st.mars) {
        for (const auto& bytes : messages)
          on_mars_message(self, bytes);
        return;
      }
      if (!admitted(self, peer, messages.size()))
        return;
      for (const auto& bytes : messages)
        on_mesh_message(self, peer, bytes);
    },
    [=](send_failed_atom, const std::string& peer, const caf::error& err) {
      // Only MARS traffic is sent on the node's own behalf.
      ++self->state.mars_send_failures;
      logger("node")->debug("a message to {} failed: {}", peer, to_string(err));
    },
    // -- queries ------------------------------------------------------------
    [=](whoami_atom) { return self->state.self_record; },
    [=](node_atom, const std::string& addr) -> caf::result<node_record> {
      if (const auto* rec = self->state.view.find(addr))
        return *rec;
      return make_error(mesh_errc::unknown_node, "no node " + addr + " in the cluster view");
    },
    [=](by_endpoint_atom, const std::string& endpoint) -> caf::result<node_record> {
      if (const auto* rec = self->state.view.find_by_public_endpoint(endpoint))
        return *rec;
      return make_error(mesh_errc::unknown_node,
                        "no node with public endpoint " + endpoint + " in the cluster view");
    },
    [=](addresses_atom, const std::vector<std::string>& ignore) {
      return self->state.view.addresses(ignore);
    },
    [=](by_type_atom, const std::string& type) { return self->state.view.addresses_by_type(type); },
    [=](by_role_atom, const std::string& role) { return self->state.view.addresses_by_role(role); },
    [=](types_atom) { return self->state.view.types(); },
    [=](role_of_type_atom, const std::string& type) { return self->state.view.role_of_type(type); },
    [=](random_node_atom, const std::string& type) {
      return self->state.view.random_online(type, (*self->state.rng)());
    },
    [=](sibling_atom) {
      auto& st = self->state;
      return st.view.random_online(st.self_record.type, (*st.rng)(), st.self_record.mesh_address);
    },
    [=](other_public_atom) {
      return self->state.view.with_different_public_host(self->state.self_record.public_endpoint);
    },
    [=](shared_atom, const std::string& key) {
      auto value = self->state.view.shared(key);
      return std::make_tuple(value.value_or(int16_t{0}), value.has_value());
    },
    [=](member_atom) {
      auto& st = self->state;
      return st.last_answer_us != 0 && steady_micros() - st.last_answer_us <= mars_silence_us;
    },
    [=](stats_atom) { return stats_json(self); },
    // -- commands -----------------------------------------------------------
    [=](set_value_atom, const std::string& name, const byte_buffer& value) {
      return change_record(self, [&](node_record& r) { r.values[name] = value; });
    },
    [=](set_type_atom, const std::string& type) {
      return change_record(self, [&](node_record& r) { r.type = type; });
    },
    [=](set_role_atom, const std::string& role) {
      return change_record(self, [&](node_record& r) { r.role = role; });
    },
    [=](set_endpoint_atom, const std::string& endpoint) {
      return change_record(self, [&](node_record& r) { r.public_endpoint = endpoint; });
    },
    [=](set_status_atom, node_status status) {
      return change_record(self, [&](node_record& r) { r.status = status; });
    },
    [=](set_shared_atom, const std::string& key, int16_t value) -> caf::result<caf::unit_t> {
      if (key.empty() || key.size() > max_shared_key_length)
        return make_error(mesh_errc::invalid_argument,
                          "shared data key '" + key + "' must have 1 to "
                            + std::to_string(max_shared_key_length) + " characters, not "
                            + std::to_string(key.size()));
      auto& st = self->state;
      send_to_mars(self, mars_shared{st.opts.app, key, value, false}, true);
      heartbeat(self); // its answer carries the change back
      return caf::unit;
    },
    [=](remove_shared_atom, const std::string& key) {
      auto& st = self->state;
      send_to_mars(self, mars_shared{st.opts.app, key, 0, true}, true);
      heartbeat(self);
      return st.view.shared(key).has_value();
    },
    [=](subscribe_atom, const caf::actor& sub) {
      auto& st = self->state;
      if (std::find(st.subscribers.begin(), st.subscribers.end(), sub) != st.subscribers.end())
        return;
      st.subscribers.push_back(sub);
      self->monitor(sub);
      // Late subscribers learn what already happened.
      if (st.ready)
        self->send(sub, ready_atom::value);
      if (st.initial_synced) {
        self->send(sub, initial_sync_atom::value);
        self->send(sub, mars_sync_atom::value, st.synced_epoch);
      }
    },
    [=](unsubscribe_atom, const caf::actor& sub) {
      auto& subs = self->state.subscribers;
      subs.erase(std::remove(subs.begin(), subs.end(), sub), subs.end());
    },
    [=](wait_latest_atom) {
      auto rp = self->make_response_promise();
      self->state.latest_waiters.emplace_back(2, rp);
      return rp;
    },
    [=](handle_atom, uint16_t command, const caf::actor& handler) {
      self->state.handlers[command] = handler;
      self->monitor(handler);
    },
    [=](send_atom, uint16_t command, const std::string& addr, const byte_buffer& payload) {
      send_mesh(self, command, addr, payload, true);
    },
    [=](usend_atom, uint16_t command, const std::string& addr, const byte_buffer& payload) {
      send_mesh(self, command, addr, payload, false);
    },
    [=](leave_atom) {
      auto& st = self->state;
      auto rp = self->make_response_promise();
      if (st.leave_promise.pending()) {
        rp.deliver(caf::unit); // already leaving
        return rp;
      }
      st.leave_promise = rp;
      logger("node")->info("{} going offline; leaving the cluster in {} ms",
                           st.self_record.mesh_address, st.opts.drain.count());
      change_record(self, [](node_record& r) { r.status = node_status::offline; });
      self->delayed_send(self, st.opts.drain, leave_step_atom::value);
      return rp;
    },
    [=](leave_step_atom) {
      auto& st = self->state;
      if (!st.left) {
        st.left = true;
        send_to_mars(self, mars_leave{st.opts.app, st.self_record.mesh_address}, true);
        // Give the transport a moment to get the leave message out.
        self->delayed_send(self, std::chrono::milliseconds{100}, leave_step_atom::value);
        return;
      }
      logger("node")->info("{} left the cluster", st.self_record.mesh_address);
      st.leave_promise.deliver(caf::unit);
      self->quit();
    },
  };
}

} // namespace

caf::actor spawn_node(caf::actor_system& sys, const config& cfg, const node_options& opts) {
  auto node_handle = sys.spawn(node, cfg, opts);
  attach_transport(sys, node_handle, transport_settings(cfg.mesh));
  return node_handle;
}

} // namespace meshrt
