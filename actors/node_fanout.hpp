#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>
#include <caf/error.hpp>
#include <caf/unit.hpp>

#include "actors/mesh_envelope.hpp"
#include "actors/node_fwd.hpp"

namespace meshrt {

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

/// A SendMany this node started: whom to tell of unreachable nodes.
struct started_fanout {
  caf::actor caller;
  uint64_t expires_us = 0;
};

/// The node's part in SendMany trees: the ones it started, and the
/// messages it forwarded that may still fail.
struct fanout_state {
  std::unordered_map<uint64_t, forwarded_fanout> forwarded; // by send tag
  uint64_t next_tag = 1;
  std::unordered_map<uint64_t, started_fanout> started; // by fan-out id
  uint64_t received = 0;
  uint64_t last_hops = 0;
  uint64_t max_hops = 0;
  uint64_t rerouted = 0;
};

/// SendMany / USendMany from an application's actor: the tree of
/// plan_fanout, started here. A reliable one reports each unreachable node
/// to the caller as (send_failed_atom, address, error).
caf::result<caf::unit_t> start_fanout(node_actor* self, uint16_t command,
                                      const std::vector<std::string>& addrs,
                                      const byte_buffer& payload, uint16_t limit, bool reliable);

/// A fan-out message from a peer: delivered here, then forwarded to this
/// node's share of its branch.
void on_fanout(node_actor* self, envelope&& env);

/// A forwarder's report that a node of a SendMany this node started was
/// not reached.
void on_fanout_report(node_actor* self, const std::string& peer, const envelope& report);

/// The fan-out message sent under `tag` could not be delivered: its
/// child's branch is sent from here, and the origin learns which node was
/// missed.
void route_around(node_actor* self, uint64_t tag, const caf::error& err);

/// Forgets fan-outs whose failures can no longer be reported.
void prune_fanouts(node_actor* self, uint64_t now);

} // namespace meshrt
