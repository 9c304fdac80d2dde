#pragma once

#include <caf/actor.hpp>

#include "actors/node_event.hpp"
#include "actors/node_fwd.hpp"

namespace meshrt {

/// An event to every subscriber.
void publish(node_actor* self, const node_event& ev);

/// An event that is only its kind (ready, update, mars_lost, ...).
void publish(node_actor* self, node_event::kind what);

/// Adds a subscriber (monitored: one that exits is dropped). A late
/// subscriber learns what already happened, in the order it would have
/// reached it: ready, every node now in the view as joined, every shared
/// value as set, then the sync.
void subscribe(node_actor* self, const caf::actor& sub);

/// Removes one subscriber (by address: also one that is gone); the others
/// keep their events.
void unsubscribe(node_actor* self, const caf::actor_addr& sub);

} // namespace meshrt
