#include "actors/node_actor.hpp"

#include <random>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "actors/attach_transport.hpp"
#include "actors/mesh_envelope.hpp"
#include "actors/mesh_error.hpp"
#include "actors/node_state.hpp"
#include "actors/node_subscribers.hpp"
#include "actors/registry.hpp"
#include "actors/request_correlator.hpp"
#include "transport/atoms.hpp"
#include "transport/clock.hpp"
#include "transport/logger.hpp"

// The node's jobs each live in a unit of their own (node_state.hpp): keeping
// up with MARS (node_mars), events to subscribers (node_subscribers), handler
// chains (node_handlers), answering requests and calls to itself
// (node_requests), SendMany trees (node_fanout). What is here: the behavior, a table of who handles
// which message, and what is too small for a unit (queries, record changes, stats, leaving).

namespace meshrt {

std::string default_role(const std::string& type) {
  for (const char* role : {http_role, udp_role, tcp_role, dgs_role})
    if (type == role)
      return type;
  return http_role;
}

namespace {

using transport::flush_atom;
using transport::mesh_send_atom;
using transport::received_atom;
using transport::route_atom;
using transport::send_failed_atom;
using transport::tick_atom;
using transport::unreachable_atom;
using leave_step_atom = caf::atom_constant<caf::atom("leavestep")>;

/// Non-members whose dropped messages are logged by name; past this many,
/// drops are only counted.
constexpr size_t max_named_strangers = 64;

/// strictCheckForExternal: is `peer` allowed to send mesh messages here?
bool admitted(node_actor* self, const std::string& peer, size_t count) {
  auto& st = self->state;
  if (!st.mesh.strict_check_for_external || st.view.find(peer) != nullptr)
    return true;
  st.dropped_external += count;
  if (st.named_strangers.size() < max_named_strangers && st.named_strangers.insert(peer).second)
    logger("node")->warn("dropped {} mesh message(s) from {}: not a cluster member "
                         "(strictCheckForExternal)",
                         count, peer);
  return false;
}

/// Handles one message from `peer` (not MARS); responses that came here
/// (before the transport routed them to the correlator) are collected in
/// `responses` for it.
void on_mesh_message(node_actor* self, const std::string& peer, byte_view bytes,
                     packed_messages& responses) {
  auto& st = self->state;
  auto kind = kind_of(bytes);
  if (kind == envelope_kind::response) {
    responses.add(bytes);
    return;
  }
  std::string error;
  auto env = kind == envelope_kind::mars ? std::nullopt : decode_envelope(bytes, error);
  if (!env) {
    if (kind == envelope_kind::mars)
      error = "a MARS record from a node that is not MARS";
    ++st.malformed;
    logger("node")->warn("dropped a malformed mesh message of {} bytes from {}: {}", bytes.size(),
                         peer, error);
    return;
  }
  switch (env->kind) {
    case envelope_kind::message:
      deliver(self, env->command, peer, env->payload);
      break;
    case envelope_kind::request:
      on_request(self, peer, std::move(*env));
      break;
    case envelope_kind::fanout:
      on_fanout(self, std::move(*env));
      break;
    case envelope_kind::fanout_report:
      on_fanout_report(self, peer, *env);
      break;
    case envelope_kind::response:
    case envelope_kind::mars:
      break; // taken care of above
  }
}

/// A record as a query answers it: Node.Self set when it is this node's.
node_record own(node_actor* self, node_record rec) {
  rec.self = rec.mesh_address == self->state.self_record.mesh_address;
  return rec;
}

/// Send / USend. Delegating keeps the application's actor as the sender, so
/// the transport reports a failed delivery to it rather than to the node.
/// A node sending to itself skips the network.
void send_mesh(node_actor* self, uint16_t command, const std::string& addr,
               const byte_buffer& payload, bool reliable) {
  if (addr == self->state.self_record.mesh_address) {
    deliver(self, command, addr, payload);
    return;
  }
  self->delegate(self->state.transport, mesh_send_atom::value, addr,
                 encode_message(command, payload), reliable);
}

/// SendRPC / SendRequest / typed commands: every request goes through the
/// correlator, which answers the caller directly (and hands calls to this
/// node's own address back as local_call_atom).
caf::result<byte_buffer> call(node_actor* self, uint16_t command, const std::string& addr,
                              byte_buffer& payload, caf::timespan timeout) {
  auto& st = self->state;
  if (!st.correlator)
    return make_error(mesh_errc::network_error, "the node is not ready yet");
  self->delegate(st.correlator, rpc_atom::value, command, addr, std::move(payload), timeout);
  return caf::delegated<byte_buffer>{};
}

nlohmann::json stats_json(node_actor* self) {
  auto& st = self->state;
  nlohmann::json j{{"mesh_address", st.self_record.mesh_address},
                   {"app", st.opts.app},
                   {"guest", st.opts.guest},
                   {"mars", st.mars.address},
                   {"mars_resolutions", st.mars.resolutions},
                   {"part_of_cluster", st.mars.answering},
                   {"view_nodes", st.view.size()},
                   {"view_epoch", st.view.epoch()},
                   {"view_version", st.view.version()},
                   {"heartbeats", st.mars.heartbeats},
                   {"answers", st.mars.answers},
                   {"mesh_in", st.handlers.delivered},
                   {"dropped_external", st.dropped_external},
                   {"malformed", st.malformed + st.mars.malformed},
                   {"unhandled", st.handlers.unhandled},
                   {"handler_errors", st.handlers.failed},
                   {"mars_send_failures", st.mars.send_failures},
                   {"suspects_reported", st.mars.suspects_reported},
                   {"mars_probes", st.mars.probes},
                   {"requests_in", st.requests.requests_in},
                   {"responses_forwarded", st.responses_forwarded},
                   {"handler_timeouts", st.requests.handler_timeouts},
                   {"fanout_in", st.fanout.received},
                   {"fanout_last_hops", st.fanout.last_hops},
                   {"fanout_max_hops", st.fanout.max_hops},
                   {"fanout_rerouted", st.fanout.rerouted}};
  return j;
}

/// The node's counters, with its correlator's under "correlator".
caf::typed_response_promise<std::string> stats(node_actor* self) {
  auto rp = self->make_response_promise<std::string>();
  auto j = stats_json(self);
  if (!self->state.correlator) {
    rp.deliver(j.dump());
    return rp;
  }
  self->request(self->state.correlator, std::chrono::seconds{1}, transport::stats_atom::value)
    .then(
      [=](const std::string& requests) mutable {
        j["correlator"] = nlohmann::json::parse(requests);
        rp.deliver(j.dump());
      },
      [=](caf::error&) mutable { rp.deliver(j.dump()); });
  return rp;
}

/// Applies a change to this node's record and tells MARS at once.
template<class F>
caf::unit_t change_record(node_actor* self, F f) {
  f(self->state.self_record);
  heartbeat(self);
  return caf::unit;
}

/// SIGTERM's path, first step: offline at once, the rest after the drain.
caf::response_promise leave(node_actor* self) {
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
}

/// Leaving, after the drain: the leave message to MARS, then (once the
/// transport had a moment to send it) the end.
void leave_step(node_actor* self) {
  auto& st = self->state;
  if (!st.mars.left) {
    st.mars.left = true;
    send_to_mars(self, mars_leave{st.opts.app, st.self_record.mesh_address}, true);
    self->delayed_send(self, std::chrono::milliseconds{100}, leave_step_atom::value);
    return;
  }
  logger("node")->info("{} left the cluster", st.self_record.mesh_address);
  st.leave_promise.deliver(caf::unit);
  fail_self_calls(self);
  self->quit();
}

/// Starts the heartbeats, the first of which makes the node known.
void join(node_actor* self) {
  auto& st = self->state;
  if (st.joined)
    return;
  st.joined = true;
  self->send(self, tick_atom::value);
}

/// The transport is bound: the node has its address, its correlator, and
/// starts heartbeating (with join_when_told: once join_atom came).
void on_transport_ready(node_actor* self, caf::actor transport, uint16_t port) {
  auto& st = self->state;
  st.transport = std::move(transport);
  st.self_record.mesh_address = st.mesh.address + ":" + std::to_string(port);
  st.ready = true;
  st.mars.started_us = steady_micros();
  correlator_options copts;
  copts.retry_timeout = st.mesh.retry_timeout;
  st.correlator = spawn_request_correlator(self, st.transport, st.self_record.mesh_address, copts);
  // Responses go from the peer links to the correlator directly; the route
  // is set before the correlator's first request leaves.
  self->send(st.transport, route_atom::value, static_cast<uint8_t>(envelope_kind::response),
             st.correlator);
  logger("node")->info("{} node {} ({}) of app '{}', MARS {}:{}", st.opts.guest ? "guest" : "mesh",
                       st.self_record.mesh_address, st.self_record.type, st.opts.app,
                       st.mesh.mars_address, st.mesh.mars_port);
  publish(self, node_event::kind::ready);
  if (!st.opts.join_when_told || st.join_told)
    join(self);
}

/// What arrived from one peer: MARS's records, or mesh messages.
void on_received(node_actor* self, const std::string& peer, const packed_messages& messages) {
  auto& st = self->state;
  if (peer == st.mars.address) {
    for (auto bytes : messages.views())
      on_mars_message(self, bytes);
    return;
  }
  if (!admitted(self, peer, messages.size()))
    return;
  packed_messages responses;
  st.receiving = true;
  for (auto bytes : messages.views())
    on_mesh_message(self, peer, bytes, responses);
  st.receiving = false;
  flush_responses(self);
  if (!responses.empty()) {
    st.responses_forwarded += responses.size();
    self->send(st.correlator, received_atom::value, peer, std::move(responses), true);
  }
}

caf::behavior node(node_actor* self, const mesh_config& mesh, const node_options& opts) {
  auto& st = self->state;
  st.mesh = mesh;
  st.opts = opts;
  st.self_record.type = opts.type;
  st.self_record.role = opts.role.empty() ? default_role(opts.type) : opts.role;
  st.self_record.public_endpoint = opts.public_endpoint;
  st.rng = std::make_unique<std::mt19937_64>(std::random_device{}());
  // As CAF's default (an exit message of a normal reason is ignored), but
  // no caller of a self-addressed request is left waiting.
  self->set_exit_handler([=](caf::exit_msg& msg) {
    if (!msg.reason)
      return;
    fail_self_calls(self);
    self->quit(msg.reason);
  });
  self->set_down_handler([=](const caf::down_msg& msg) {
    unsubscribe(self, msg.source);
    self->state.handlers.drop(msg.source);
  });
  return {
    // -- the transport, timers, the network -------------------------------------
    [=](transport_ready_atom, caf::actor& t, uint16_t port) {
      on_transport_ready(self, std::move(t), port);
    },
    [=](tick_atom) {
      auto now = steady_micros();
      check_mars_silence(self, now);
      prune_fanouts(self, now);
      heartbeat(self);
      self->delayed_send(self, self->state.opts.heartbeat, tick_atom::value);
    },
    [=](received_atom, const std::string& peer, const packed_messages& messages, bool) {
      on_received(self, peer, messages);
    },
    [=](flush_atom) {
      self->state.deferred.arrived();
      self->state.outbox.flush(self, self->state.transport);
    },
    [=](unreachable_atom, const std::string& peer) { on_peer_unreachable(self, peer); },
    [=](send_failed_atom, const std::string& peer, const caf::error& err) {
      // What the node sends on its own behalf, untagged: MARS traffic and
      // responses (whose callers time out).
      if (peer == self->state.mars.address)
        ++self->state.mars.send_failures;
      logger("node")->debug("a message to {} failed: {}", peer, to_string(err));
    },
    [=](send_failed_atom, const std::string&, const caf::error& err, uint64_t tag) {
      route_around(self, tag, err); // a forwarded fan-out message
    },
    // -- queries, from the view ---------------------------------------------------
    [=](whoami_atom) { return own(self, self->state.self_record); },
    [=](requester_atom) -> caf::result<caf::actor> {
      if (!self->state.correlator)
        return make_error(mesh_errc::network_error, "the node is not ready yet");
      return self->state.correlator;
    },
    [=](transport_atom) -> caf::result<caf::actor> {
      if (!self->state.transport)
        return make_error(mesh_errc::network_error, "the node is not ready yet");
      return self->state.transport;
    },
    [=](node_atom, const std::string& addr) -> caf::result<node_record> {
      if (const auto* rec = self->state.view.find(addr))
        return own(self, *rec);
      return make_error(mesh_errc::unknown_node, "no node " + addr + " in the cluster view");
    },
    [=](by_endpoint_atom, const std::string& endpoint) -> caf::result<node_record> {
      if (const auto* rec = self->state.view.find_by_public_endpoint(endpoint))
        return own(self, *rec);
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
      return self->state.view.random_online(self->state.self_record.type, (*self->state.rng)(),
                                            self->state.self_record.mesh_address);
    },
    [=](other_public_atom) {
      return self->state.view.with_different_public_host(self->state.self_record.public_endpoint);
    },
    [=](shared_atom, const std::string& key) {
      auto value = self->state.view.shared(key);
      return std::make_tuple(value.value_or(int16_t{0}), value.has_value());
    },
    [=](member_atom) { return is_member(self->state.mars, steady_micros()); },
    [=](stats_atom) { return stats(self); },
    // -- this node's record and the shared data (node_mars tells MARS) ----------
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
      send_to_mars(self, mars_shared{self->state.opts.app, key, value, false}, true);
      heartbeat(self); // its answer carries the change back
      return caf::unit;
    },
    [=](remove_shared_atom, const std::string& key) {
      send_to_mars(self, mars_shared{self->state.opts.app, key, 0, true}, true);
      heartbeat(self);
      return self->state.view.shared(key).has_value();
    },
    [=](wait_latest_atom) {
      auto rp = self->make_response_promise();
      self->state.mars.latest_waiters.emplace_back(2, rp);
      return rp;
    },
    // -- events --------------------------------------------------------------------
    [=](subscribe_atom, const caf::actor& sub) { subscribe(self, sub); },
    [=](unsubscribe_atom, const caf::actor& sub) { unsubscribe(self, sub.address()); },
    // -- handlers (node_handlers) ---------------------------------------------------
    [=](handle_atom, uint16_t command, const caf::actor& handler) -> caf::result<caf::unit_t> {
      if (auto err = self->state.handlers.add(command, handler))
        return err;
      self->monitor(handler);
      return caf::unit;
    },
    [=](handle_atom, uint16_t command, handler_function& fn) -> caf::result<caf::unit_t> {
      if (auto err = self->state.handlers.add(command, std::move(fn)))
        return err;
      return caf::unit;
    },
    [=](is_duplicate_atom, uint16_t command) { return self->state.handlers.has(command); },
    // -- requests (the correlator; node_requests for calls to itself) ------------
    [=](rpc_atom, uint16_t command, const std::string& addr, byte_buffer& payload) {
      return call(self, command, addr, payload, default_request_timeout);
    },
    [=](rpc_atom, uint16_t command, const std::string& addr, byte_buffer& payload,
        caf::timespan timeout) { return call(self, command, addr, payload, timeout); },
    [=](local_call_atom, uint16_t command, byte_buffer& payload, caf::timespan timeout) {
      return call_self(self, command, payload, timeout);
    },
    // -- one-way messages and fan-out (node_fanout) -------------------------------
    [=](send_atom, uint16_t command, const std::string& addr, const byte_buffer& payload) {
      send_mesh(self, command, addr, payload, true);
    },
    [=](usend_atom, uint16_t command, const std::string& addr, const byte_buffer& payload) {
      send_mesh(self, command, addr, payload, false);
    },
    [=](send_many_atom, uint16_t command, const std::vector<std::string>& addrs,
        const byte_buffer& payload,
        uint16_t limit) { return start_fanout(self, command, addrs, payload, limit, true); },
    [=](usend_many_atom, uint16_t command, const std::vector<std::string>& addrs,
        const byte_buffer& payload,
        uint16_t limit) { return start_fanout(self, command, addrs, payload, limit, false); },
    // -- joining and leaving ---------------------------------------------------------
    [=](join_atom) {
      self->state.join_told = true;
      if (self->state.ready)
        join(self);
    },
    [=](leave_atom) { return leave(self); },
    [=](leave_step_atom) { leave_step(self); },
  };
}

} // namespace

caf::actor spawn_node(caf::actor_system& sys, const mesh_config& mesh, const node_options& opts) {
  auto node_handle = sys.spawn(node, mesh, opts);
  attach_transport(sys, node_handle, transport_config_of(mesh));
  return node_handle;
}

} // namespace meshrt
