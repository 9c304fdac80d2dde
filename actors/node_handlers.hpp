#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "actors/handler_function.hpp"
#include "actors/node_fwd.hpp"
#include "transport/byte_buffer.hpp"

namespace meshrt {

/// A registered handler: an actor, or a function the node runs itself.
struct handler_entry {
  caf::actor actor;
  std::shared_ptr<const handler_function> fn;
};

/// The node's handlers per command, each chain in registration order.
struct handler_table {
  std::map<uint16_t, std::vector<handler_entry>> chains;
  uint64_t delivered = 0; // one-way messages handed to handlers
  uint64_t unhandled = 0; // messages and requests for a command without one
  uint64_t failed = 0;    // handler answers that were errors (timeouts included)

  /// HandleRPC / HandleCommand with an actor; the built-in health check's
  /// command is refused with invalid_argument.
  caf::error add(uint16_t command, caf::actor handler);

  /// The same with a function the node runs itself.
  caf::error add(uint16_t command, handler_function fn);

  /// Forgets a handler actor that is gone, from every chain.
  void drop(const caf::actor_addr& gone);

  /// IsCommandDuplicate: whether `command` has a handler (the health check
  /// always has one).
  bool has(uint16_t command) const;
};

/// What a handler chain ends with: the last handler's answer, or the first
/// error.
using answer_fn = std::function<void(caf::expected<byte_buffer>)>;

/// Asks the handlers of `command` in registration order; each gets the
/// request, the answer is the last one's, the first failure ends the chain.
/// An actor that does not answer within `timeout` ends it with
/// request_timeout; no handler at all is no_handler.
void run_handlers(node_actor* self, uint16_t command, std::string sender, byte_buffer payload,
                  std::chrono::milliseconds timeout, const answer_fn& answer);

/// Hands a one-way message (Send, USend, a fan-out) to every handler of its
/// command.
void deliver(node_actor* self, uint16_t command, const std::string& sender,
             const byte_buffer& payload);

} // namespace meshrt
