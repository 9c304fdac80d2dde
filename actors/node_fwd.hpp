#pragma once

// The node actor's name for the units it is cut into (node_mars,
// node_handlers, node_requests, node_fanout): each takes the node as `self`
// and works on its own part of node_state (node_state.hpp).

#include <caf/fwd.hpp>

namespace meshrt {

struct node_state;

/// The node actor (node_actor.cpp).
using node_actor = caf::stateful_actor<node_state>;

} // namespace meshrt
