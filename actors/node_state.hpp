#pragma once

// The node actor's state: what it is (its record and settings), what it
// knows (the cluster view), what it talks through (transport, correlator,
// its outbox of peer links), and one part for each job it is cut into
// (node_mars, node_subscribers, node_handlers, node_requests, node_fanout).
// Only the node's own units include this; applications see
// actors/node_actor.hpp.

#include <cstdint>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/cluster_view.hpp"
#include "actors/mesh_config.hpp"
#include "actors/mesh_outbox.hpp"
#include "actors/node_actor.hpp"
#include "actors/node_atoms.hpp"
#include "actors/node_event.hpp"
#include "actors/node_fanout.hpp"
#include "actors/node_fwd.hpp"
#include "actors/node_handlers.hpp"
#include "actors/node_mars.hpp"
#include "actors/node_record.hpp"
#include "actors/node_requests.hpp"
#include "transport/deferred_flush.hpp"

namespace meshrt {

struct node_state {
  mesh_config mesh;
  node_options opts;
  node_record self_record;
  cluster_view view;
  caf::actor transport;
  caf::actor correlator;
  bool ready = false;
  /// Heartbeats run: from the transport's ready on, or, with
  /// node_options::join_when_told, once join_atom came (join_told) too.
  bool joined = false;
  bool join_told = false;
  std::unique_ptr<std::mt19937_64> rng;
  std::vector<caf::actor> subscribers; // node_subscribers

  /// What the node sends to peers on its own behalf (responses, fan-outs):
  /// responses of one received batch leave in one batch per peer, later
  /// ones (from handler actors) once the mailbox is worked through.
  mesh_outbox outbox;
  transport::deferred_flush deferred;
  bool receiving = false;

  mars_sync mars;
  handler_table handlers;
  request_answers requests;
  fanout_state fanout;
  caf::response_promise leave_promise;

  // strictCheckForExternal, and what came in that could not be used
  std::set<std::string> named_strangers;
  uint64_t dropped_external = 0;
  uint64_t malformed = 0;
  /// Responses that reached the node, not its correlator (only those that
  /// arrive before the transport routes them), handed on.
  uint64_t responses_forwarded = 0;

  static inline const char* name = "meshrt.node";
};

} // namespace meshrt
