#include "actors/node_actor.hpp"

#include <algorithm>
#include <random>
#include <set>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "actors/cluster_view.hpp"
#include "actors/fanout_plan.hpp"
#include "actors/handler_function.hpp"
#include "actors/mars_protocol.hpp"
#include "actors/mesh_envelope.hpp"
#include "actors/mesh_error.hpp"
#include "actors/node_atoms.hpp"
#include "actors/peer_links.hpp"
#include "actors/registry.hpp"
#include "actors/request_correlator.hpp"
#include "actors/transport_owner.hpp"
#include "transport/atoms.hpp"
#include "transport/clock.hpp"
#include "transport/deferred_flush.hpp"
#include "transport/endpoint.hpp"
#include "transport/logger.hpp"
#include "transport/transport_actor.hpp"

namespace meshrt {

std::string default_role(const std::string& type) {
  for (const char* role : {"HTTP", "UDP", "TCP", "DGS"})
    if (type == role)
      return type;
  return "HTTP";
}

namespace {

using transport::flush_atom;
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

/// How much longer than the caller's timeout a node waits for its handlers.
constexpr uint64_t handler_grace_ms = 1000;

/// How long the node that called SendMany relays reports of unreachable
/// nodes to its caller: each level of the tree may wait retryTimeout before
/// it routes around a dead node.
constexpr uint64_t fanout_report_window_us = 60'000'000;

/// How long after retryTimeout a forwarded fan-out is kept: a failure
/// reaches the node within retryTimeout plus timer and mailbox delays, so
/// one not reported by then was delivered.
constexpr uint64_t forwarded_grace_us = 5'000'000;

/// A fan-out message this node forwarded, kept (under the tag its send
/// carries) until the transport could no longer report it failed, to route
/// around its child.
struct forwarded_fanout {
  std::string child;
  uint64_t id = 0;
  std::string origin;
  uint16_t command = 0;
  uint16_t limit = 0;
  uint8_t hops = 0; // this node's hop count
  std::vector<std::string> branch;
  std::shared_ptr<const byte_buffer> payload;
  uint64_t sent_us = 0;
};

/// A registered handler: an actor, or a function the node runs itself.
struct handler_entry {
  caf::actor actor;
  std::shared_ptr<const handler_function> fn;
};

using handler_chain = std::vector<handler_entry>;

/// A SendMany this node started: whom to tell of unreachable nodes.
struct started_fanout {
  caf::actor caller;
  uint64_t expires_us = 0;
};

struct node_state {
  mesh_config mesh;
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

  caf::actor correlator;
  peer_links links;
  /// Responses leave in one batch per peer: those of one received batch
  /// together, later ones (from handler actors) once the mailbox is
  /// worked through.
  transport::deferred_flush deferred;
  bool receiving = false;
  std::vector<caf::actor> subscribers;
  /// Handlers per command, in registration order.
  std::map<uint16_t, handler_chain> handlers;
  std::unordered_map<uint64_t, forwarded_fanout> forwarded; // by send tag
  uint64_t next_tag = 1;
  std::unordered_map<uint64_t, started_fanout> started;
  std::vector<std::pair<int, caf::response_promise>> latest_waiters;
  caf::response_promise leave_promise;
  /// Calls this node made to itself whose handler actors have not answered
  /// yet, by a key of their own: answered with an error if the node stops.
  std::unordered_map<uint64_t, caf::response_promise> self_calls;
  uint64_t next_self_call = 1;
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
  uint64_t requests_in = 0;
  uint64_t handler_timeouts = 0;
  uint64_t fanout_in = 0;
  uint64_t fanout_last_hops = 0;
  uint64_t fanout_max_hops = 0;
  uint64_t fanout_rerouted = 0;

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
  auto ttl = static_cast<uint64_t>(st.mesh.mars_address_cache_ttl.count()) * 1'000'000;
  if (!st.mars.empty() && now - st.mars_resolved_us < ttl)
    return st.mars;
  if (auto ip = transport::resolve_ipv4(st.mesh.mars_address)) {
    auto resolved = *ip + ":" + std::to_string(st.mesh.mars_port);
    if (resolved != st.mars && !st.mars.empty())
      logger("node")->info("MARS moved from {} to {}", st.mars, resolved);
    st.mars = std::move(resolved);
    st.mars_resolved_us = now;
  } else if (st.mars.empty()) {
    logger("node")->warn("cannot resolve MARS address '{}'; retrying every heartbeat",
                         st.mesh.mars_address);
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
                         st.mars.empty() ? st.mesh.mars_address : st.mars,
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

void on_mars_message(node_actor* self, byte_view bytes) {
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

/// What a handler chain ends with: the last handler's answer, or the first
/// error.
using answer_fn = std::function<void(caf::expected<byte_buffer>)>;

/// The built-in health check's command cannot be taken over by a handler.
caf::error refuse_reserved(uint16_t command) {
  if (command != health_check_command)
    return {};
  return make_error(mesh_errc::invalid_argument,
                    "command " + std::to_string(command)
                      + " is the built-in health check (MeshHealthCheck)");
}

/// Asks the handlers of `command` in registration order; each gets the
/// request, the answer is the last one's, the first failure ends the chain.
void call_handler(node_actor* self, const std::shared_ptr<const handler_chain>& chain, size_t index,
                  uint16_t command, const std::shared_ptr<const std::string>& sender,
                  const std::shared_ptr<const byte_buffer>& payload,
                  std::chrono::milliseconds timeout, const answer_fn& answer) {
  // Functions answer in place; the chain goes on until an actor is asked.
  for (; index < chain->size() && (*chain)[index].fn; ++index) {
    auto result = invoke_handler(*(*chain)[index].fn, *payload, *sender);
    if (!result || index + 1 == chain->size()) {
      answer(std::move(result));
      return;
    }
  }
  self
    ->request((*chain)[index].actor, timeout, mesh_request_atom::value, command, *sender, *payload)
    .then(
      [=](byte_buffer& out) {
        if (index + 1 < chain->size())
          call_handler(self, chain, index + 1, command, sender, payload, timeout, answer);
        else
          answer(std::move(out));
      },
      [=](caf::error& err) {
        if (err == caf::sec::request_timeout)
          answer(make_error(mesh_errc::request_timeout,
                            "the handler of command " + std::to_string(command)
                              + " did not answer within " + std::to_string(timeout.count())
                              + " ms"));
        else
          answer(std::move(err));
      });
}

void run_handlers(node_actor* self, uint16_t command, std::string sender, byte_buffer payload,
                  std::chrono::milliseconds timeout, const answer_fn& answer) {
  auto& st = self->state;
  auto i = st.handlers.find(command);
  if (i == st.handlers.end() || i->second.empty()) {
    ++st.unhandled;
    // The caller's error names the command and this node.
    answer(make_error(mesh_errc::no_handler, "no handler registered"));
    return;
  }
  const auto& chain = i->second;
  if (std::all_of(chain.begin(), chain.end(), [](const handler_entry& h) { return h.fn; })) {
    // Functions only: the whole chain answers in place, nothing to keep.
    for (size_t k = 0; k < chain.size(); ++k) {
      auto result = invoke_handler(*chain[k].fn, payload, sender);
      if (!result || k + 1 == chain.size()) {
        answer(std::move(result));
        return;
      }
    }
  }
  call_handler(self, std::make_shared<const handler_chain>(chain), 0, command,
               std::make_shared<const std::string>(std::move(sender)),
               std::make_shared<const byte_buffer>(std::move(payload)), timeout, answer);
}

/// Hands a one-way message (Send, USend, a fan-out) to every handler of its
/// command.
void deliver(node_actor* self, uint16_t command, const std::string& sender,
             const byte_buffer& payload) {
  auto& st = self->state;
  auto i = st.handlers.find(command);
  if (i == st.handlers.end() || i->second.empty()) {
    ++st.unhandled;
    logger("node")->warn("dropped a mesh message from {}: no handler for command {}", sender,
                         command);
    return;
  }
  ++st.mesh_in;
  for (const auto& h : i->second) {
    if (!h.fn) {
      self->send(h.actor, mesh_message_atom::value, command, sender, payload);
      continue;
    }
    auto result = invoke_handler(*h.fn, payload, sender);
    if (!result)
      logger("node")->warn("the handler of command {} failed on a message from {}: {}", command,
                           sender, context_of(result.error()));
  }
}

void send_envelope(node_actor* self, const std::string& peer, const envelope& env, bool reliable,
                   uint64_t tag = 0) {
  auto& st = self->state;
  st.links.send(self, st.transport, peer, encode_envelope(env), reliable, tag);
}

/// Sends the responses queued so far, now or after the waiting messages.
void flush_responses(node_actor* self) {
  auto& st = self->state;
  if (st.links.queued() && st.deferred.now_or_later(self))
    st.links.flush(self, st.transport);
}

/// The same for a fan-out, whose payload is shared by all its sends.
void send_fanout(node_actor* self, const std::string& child, const envelope& header,
                 const byte_buffer& payload, uint64_t tag) {
  auto& st = self->state;
  st.links.send(self, st.transport, child, encode_envelope(header, payload), header.reliable, tag);
}

void on_request(node_actor* self, const std::string& peer, envelope&& req) {
  auto& st = self->state;
  ++st.requests_in;
  auto respond = [self, peer, id = req.id](response_status status, byte_buffer payload) {
    envelope resp;
    resp.kind = envelope_kind::response;
    resp.status = status;
    resp.id = id;
    resp.payload = std::move(payload);
    auto& st = self->state;
    st.links.queue(self, st.transport, peer, encode_envelope(resp), true);
    if (!st.receiving)
      flush_responses(self);
  };
  if (req.command == health_check_command) {
    respond(response_status::ok, {});
    return;
  }
  // Handlers get the caller's timeout and a grace second: an answer that
  // misses the caller's deadline by a little is dropped and counted there;
  // one later than that is not waited for.
  run_handlers(self, req.command, peer, std::move(req.payload),
               std::chrono::milliseconds{uint64_t{req.timeout_ms} + handler_grace_ms},
               [self, respond](caf::expected<byte_buffer> result) {
                 if (result) {
                   respond(response_status::ok, std::move(*result));
                 } else if (is(result.error(), mesh_errc::request_timeout)) {
                   // The caller has stopped waiting; nothing to answer.
                   ++self->state.handler_timeouts;
                   logger("node")->debug("{}", context_of(result.error()));
                 } else {
                   auto [status, text] = to_response(result.error());
                   respond(status, byte_buffer(text.begin(), text.end()));
                 }
               });
}

/// Sends a fan-out message on to the next level of the tree, from a node
/// `hops` hops away from the origin.
void forward_fanout(node_actor* self, const envelope& base, uint8_t hops,
                    const std::vector<std::string>& targets,
                    const std::shared_ptr<const byte_buffer>& payload) {
  auto& st = self->state;
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
    if (!base.reliable) {
      send_fanout(self, step.child, e, *payload, 0);
      continue;
    }
    auto tag = st.next_tag++;
    send_fanout(self, step.child, e, *payload, tag);
    st.forwarded.emplace(tag,
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
    send_envelope(self, origin, report, true);
    return;
  }
  if (auto i = st.started.find(id); i != st.started.end())
    self->send(i->second.caller, send_failed_atom::value, unreachable, err);
}

/// The fan-out message sent under `tag` could not be delivered: its
/// child's branch is sent from here, and the origin learns which node was
/// missed.
void route_around(node_actor* self, uint64_t tag, const caf::error& err) {
  auto& st = self->state;
  auto i = st.forwarded.find(tag);
  if (i == st.forwarded.end())
    return;
  auto f = std::move(i->second);
  st.forwarded.erase(i);
  ++st.fanout_rerouted;
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

void on_fanout(node_actor* self, envelope&& env) {
  auto& st = self->state;
  ++st.fanout_in;
  st.fanout_last_hops = env.hops;
  st.fanout_max_hops = std::max<uint64_t>(st.fanout_max_hops, env.hops);
  auto payload = std::make_shared<const byte_buffer>(std::move(env.payload));
  deliver(self, env.command, env.address, *payload);
  if (!env.branch.empty())
    forward_fanout(self, env, env.hops, env.branch, payload);
}

/// Handles one message from `peer`; responses are collected in `responses`
/// for the correlator, one actor message per received batch.
void on_mesh_message(node_actor* self, const std::string& peer, byte_view bytes,
                     std::vector<response_record>& responses) {
  auto& st = self->state;
  std::string error;
  auto env = decode_envelope(bytes, error);
  if (!env) {
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
    case envelope_kind::response:
      responses.push_back({env->id, env->status, std::move(env->payload)});
      break;
    case envelope_kind::fanout:
      on_fanout(self, std::move(*env));
      break;
    case envelope_kind::fanout_report:
      if (auto i = st.started.find(env->id); i != st.started.end())
        self->send(i->second.caller, send_failed_atom::value, env->address,
                   make_error(mesh_errc::network_error,
                              env->address + " did not acknowledge a SendMany message (reported by "
                                + peer + ")"));
      break;
  }
}

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

/// SendRPC / SendRequest / typed commands. The correlator answers the
/// caller directly; a node calling itself runs its handlers in place.
caf::result<byte_buffer> call(node_actor* self, uint16_t command, const std::string& addr,
                              byte_buffer& payload, caf::timespan timeout) {
  auto& st = self->state;
  if (addr != st.self_record.mesh_address) {
    if (!st.correlator)
      return make_error(mesh_errc::network_error, "the node is not ready yet");
    self->delegate(st.correlator, rpc_atom::value, command, addr, std::move(payload), timeout);
    return caf::delegated<byte_buffer>{};
  }
  auto timeout_ms = wire_timeout_ms(timeout);
  auto rp = self->make_response_promise<byte_buffer>();
  if (command == health_check_command) {
    rp.deliver(byte_buffer{});
    return rp;
  }
  auto key = st.next_self_call++;
  st.self_calls.emplace(key, rp);
  run_handlers(self, command, addr, std::move(payload), std::chrono::milliseconds{timeout_ms},
               [self, key, addr, command](caf::expected<byte_buffer> result) {
                 auto i = self->state.self_calls.find(key);
                 if (i == self->state.self_calls.end())
                   return;
                 auto rp = std::move(i->second);
                 self->state.self_calls.erase(i);
                 if (result) {
                   rp.deliver(std::move(*result));
                 } else if (is(result.error(), mesh_errc::request_timeout)) {
                   rp.deliver(std::move(result.error()));
                 } else {
                   auto [status, text] = to_response(result.error());
                   rp.deliver(from_response(status, text, addr, command));
                 }
               });
  return rp;
}

/// Answers the calls to itself still pending: the node is stopping.
void fail_self_calls(node_actor* self) {
  for (auto& [key, rp] : self->state.self_calls)
    rp.deliver(
      make_error(mesh_errc::network_error, "the node stopped while a call to itself was pending"));
  self->state.self_calls.clear();
}

/// SendMany / USendMany: the tree of plan_fanout, started here.
caf::result<caf::unit_t> send_many(node_actor* self, uint16_t command,
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
    st.started[base.id] = {caller, steady_micros() + fanout_report_window_us};
  forward_fanout(self, base, 0, valid, std::make_shared<const byte_buffer>(payload));
  return caf::unit;
}

/// Forgets fan-outs whose failures can no longer be reported.
void prune_fanouts(node_actor* self, uint64_t now) {
  auto& st = self->state;
  auto keep_us = static_cast<uint64_t>(st.mesh.retry_timeout.count()) * 1000 + forwarded_grace_us;
  for (auto i = st.forwarded.begin(); i != st.forwarded.end();)
    i = now - i->second.sent_us > keep_us ? st.forwarded.erase(i) : std::next(i);
  for (auto i = st.started.begin(); i != st.started.end();)
    i = i->second.expires_us <= now ? st.started.erase(i) : std::next(i);
}

nlohmann::json stats_json(node_actor* self) {
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
                   {"mars_send_failures", st.mars_send_failures},
                   {"requests_in", st.requests_in},
                   {"handler_timeouts", st.handler_timeouts},
                   {"fanout_in", st.fanout_in},
                   {"fanout_last_hops", st.fanout_last_hops},
                   {"fanout_max_hops", st.fanout_max_hops},
                   {"fanout_rerouted", st.fanout_rerouted}};
  return j;
}

/// Applies a change to this node's record and tells MARS at once.
template<class F>
caf::unit_t change_record(node_actor* self, F f) {
  f(self->state.self_record);
  heartbeat(self);
  return caf::unit;
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
    auto& subs = self->state.subscribers;
    subs.erase(std::remove(subs.begin(), subs.end(), msg.source), subs.end());
    for (auto& [command, chain] : self->state.handlers)
      chain.erase(std::remove_if(chain.begin(), chain.end(),
                                 [&](const handler_entry& h) { return h.actor == msg.source; }),
                  chain.end());
  });
  return {
    [=](transport_ready_atom, caf::actor transport, uint16_t port) {
      auto& st = self->state;
      st.transport = std::move(transport);
      st.self_record.mesh_address = st.mesh.address + ":" + std::to_string(port);
      st.ready = true;
      st.started_us = steady_micros();
      st.correlator = spawn_request_correlator(self, st.transport, st.self_record.mesh_address,
                                               correlator_options{});
      logger("node")->info("{} node {} ({}) of app '{}', MARS {}:{}",
                           st.opts.guest ? "guest" : "mesh", st.self_record.mesh_address,
                           st.self_record.type, st.opts.app, st.mesh.mars_address,
                           st.mesh.mars_port);
      publish(self, ready_atom::value);
      self->send(self, tick_atom::value);
    },
    [=](tick_atom) {
      auto now = steady_micros();
      check_mars_silence(self, now);
      prune_fanouts(self, now);
      heartbeat(self);
      self->delayed_send(self, self->state.opts.heartbeat, tick_atom::value);
    },
    [=](received_atom, const std::string& peer, const packed_messages& messages, bool) {
      auto& st = self->state;
      if (peer == st.mars) {
        for (auto bytes : messages.views())
          on_mars_message(self, bytes);
        return;
      }
      if (!admitted(self, peer, messages.size()))
        return;
      std::vector<response_record> responses;
      st.receiving = true;
      for (auto bytes : messages.views())
        on_mesh_message(self, peer, bytes, responses);
      st.receiving = false;
      flush_responses(self);
      if (!responses.empty())
        self->send(st.correlator, response_atom::value, peer, std::move(responses));
    },
    [=](flush_atom) {
      auto& st = self->state;
      st.deferred.arrived();
      st.links.flush(self, st.transport);
    },
    [=](send_failed_atom, const std::string& peer, const caf::error& err) {
      // What the node sends on its own behalf, untagged: MARS traffic and
      // responses (whose callers time out).
      if (peer == self->state.mars)
        ++self->state.mars_send_failures;
      logger("node")->debug("a message to {} failed: {}", peer, to_string(err));
    },
    [=](send_failed_atom, const std::string&, const caf::error& err, uint64_t tag) {
      route_around(self, tag, err); // a forwarded fan-out message
    },
    // -- queries ------------------------------------------------------------
    [=](whoami_atom) { return self->state.self_record; },
    [=](requester_atom) -> caf::result<caf::actor> {
      if (!self->state.correlator)
        return make_error(mesh_errc::network_error, "the node is not ready yet");
      return self->state.correlator;
    },
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
    [=](stats_atom) {
      auto rp = self->make_response_promise<std::string>();
      auto j = stats_json(self);
      if (!self->state.correlator) {
        rp.deliver(j.dump());
        return rp;
      }
      self->request(self->state.correlator, std::chrono::seconds{1}, stats_atom::value)
        .then(
          [=](const std::string& requests) mutable {
            j["correlator"] = nlohmann::json::parse(requests);
            rp.deliver(j.dump());
          },
          [=](caf::error&) mutable { rp.deliver(j.dump()); });
      return rp;
    },
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
      // Late subscribers learn what already happened, in the order it
      // would have reached them: every node now in the view as joined,
      // every shared value as set, then the sync.
      if (st.ready)
        self->send(sub, ready_atom::value);
      for (const auto& addr : st.view.addresses())
        self->send(sub, node_joined_atom::value, addr);
      for (const auto& [key, value] : st.view.shared_data())
        self->send(sub, shared_updated_atom::value, key, value);
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
    [=](handle_atom, uint16_t command, const caf::actor& handler) -> caf::result<caf::unit_t> {
      if (auto err = refuse_reserved(command))
        return err;
      self->state.handlers[command].push_back({handler, nullptr});
      self->monitor(handler);
      return caf::unit;
    },
    [=](handle_atom, uint16_t command, handler_function& fn) -> caf::result<caf::unit_t> {
      if (auto err = refuse_reserved(command))
        return err;
      self->state.handlers[command].push_back(
        {caf::actor{}, std::make_shared<const handler_function>(std::move(fn))});
      return caf::unit;
    },
    [=](is_duplicate_atom, uint16_t command) {
      auto& handlers = self->state.handlers;
      auto i = handlers.find(command);
      return command == health_check_command || (i != handlers.end() && !i->second.empty());
    },
    [=](rpc_atom, uint16_t command, const std::string& addr, byte_buffer& payload) {
      return call(self, command, addr, payload, default_request_timeout);
    },
    [=](rpc_atom, uint16_t command, const std::string& addr, byte_buffer& payload,
        caf::timespan timeout) { return call(self, command, addr, payload, timeout); },
    [=](send_many_atom, uint16_t command, const std::vector<std::string>& addrs,
        const byte_buffer& payload,
        uint16_t limit) { return send_many(self, command, addrs, payload, limit, true); },
    [=](usend_many_atom, uint16_t command, const std::vector<std::string>& addrs,
        const byte_buffer& payload,
        uint16_t limit) { return send_many(self, command, addrs, payload, limit, false); },
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
      fail_self_calls(self);
      self->quit();
    },
  };
}

} // namespace

caf::actor spawn_node(caf::actor_system& sys, const mesh_config& mesh, const node_options& opts) {
  auto node_handle = sys.spawn(node, mesh, opts);
  attach_transport(sys, node_handle, transport_config_of(mesh));
  return node_handle;
}

} // namespace meshrt
