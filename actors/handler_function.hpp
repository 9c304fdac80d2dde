#pragma once

#include <functional>
#include <string>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/expected.hpp>

#include "transport/byte_buffer.hpp"

namespace meshrt {

/// A handler written as a function (HandleRPC, HandleCommand,
/// SetCommandHandler): the request's bytes and the sender's mesh address in,
/// the response's bytes or an error out. For one-way messages (Send, USend,
/// SendMany) the result is ignored.
using handler_function
  = std::function<caf::expected<byte_buffer>(const byte_buffer& data, const std::string& sender)>;

/// Calls `fn`; an exception it throws becomes a meshrt handler_error
/// carrying its what().
caf::expected<byte_buffer> invoke_handler(const handler_function& fn, const byte_buffer& data,
                                          const std::string& sender);

} // namespace meshrt

// Handler functions go to the node actor of the same process only.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(meshrt::handler_function)
