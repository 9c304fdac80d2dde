#pragma once

#include <functional>
#include <string>

#include <caf/expected.hpp>

#include "transport/byte_buffer.hpp"

namespace caf {
class actor;
class actor_system;
} // namespace caf

namespace meshrt {

/// A handler written as a function (HandleRPC, HandleCommand,
/// SetCommandHandler): the request's bytes and the sender's mesh address in,
/// the response's bytes or an error out. For one-way messages (Send, USend,
/// SendMany) the result is ignored.
using handler_function
  = std::function<caf::expected<byte_buffer>(const byte_buffer& data, const std::string& sender)>;

/// Spawns an actor that answers the node's handler messages with `fn`:
/// (mesh_request_atom, command, sender, payload) -> byte_buffer and
/// (mesh_message_atom, command, sender, payload). An exception thrown by
/// `fn` becomes a meshrt handler_error carrying its what(). Register it with
/// (handle_atom, command, actor) on the node. `fn` runs on CAF's scheduler:
/// work that waits for something belongs in an actor of its own that
/// answers later through a response promise.
caf::actor spawn_handler(caf::actor_system& sys, handler_function fn);

} // namespace meshrt
