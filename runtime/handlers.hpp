#pragma once

#include <functional>
#include <string>

#include "actors/handler_function.hpp"

namespace caf {
class actor;
class actor_system;
} // namespace caf

namespace meshrt {

/// Spawns an actor that answers the node's handler messages with `fn`:
/// (mesh_request_atom, command, sender, payload) -> byte_buffer and
/// (mesh_message_atom, command, sender, payload). An exception thrown by
/// `fn` becomes a meshrt handler_error carrying its what(). Register it with
/// (handle_atom, command, actor) on the node. `fn` runs on CAF's scheduler:
/// work that waits for something belongs in an actor of its own that
/// answers later through a response promise.
///
/// A function can also go to the node itself, (handle_atom, command,
/// handler_function): it then runs inside the node actor, two actor
/// messages fewer per request, and must return quickly.
caf::actor spawn_handler(caf::actor_system& sys, handler_function fn);

} // namespace meshrt
