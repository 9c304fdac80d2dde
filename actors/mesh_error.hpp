#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>

#include "transport/send_error.hpp"

namespace caf {
class actor_system_config;
} // namespace caf

namespace meshrt {

/// Error kinds of meshrt, carried in caf::error with category "meshrt".
/// The first three are the transport's own (transport::send_errc), so an
/// error the transport reports straight to an application's actor is one of
/// these; the rest are the node's.
enum class mesh_errc : uint8_t {
  /// A peer did not acknowledge within retryTimeout, or cannot be reached
  /// (the reference's "Network error").
  network_error = static_cast<uint8_t>(transport::send_errc::network_error),
  /// A message over MaxMessageSize (10,000,000 bytes).
  message_too_large = static_cast<uint8_t>(transport::send_errc::message_too_large),
  /// A mesh address that is not "a.b.c.d:port".
  invalid_address = static_cast<uint8_t>(transport::send_errc::invalid_address),
  // -- the node's kinds, after the transport's ---------------------------------
  /// A node query named a mesh address or public endpoint that is not in
  /// the cluster view.
  unknown_node = transport::last_send_errc + 1,
  /// An argument the reference rejects, e.g. a shared data key over 54
  /// characters.
  invalid_argument = 5,
  /// The handler of a request failed; the context is its message (the
  /// reference's "Handler error").
  handler_error = 6,
  /// No response within the request's timeout (3 s unless the call says
  /// otherwise).
  request_timeout = 7,
  /// The target node did not answer the built-in health check: requests to
  /// it fail at once until it answers one again.
  unhealthy = 8,
  /// A payload that does not decode as the command's type (the reference's
  /// "Invalid data type").
  invalid_data = 9,
  /// The target node has no handler for the command.
  no_handler = 10,
};

/// "network_error", ...
std::string to_string(mesh_errc code);

/// A caf::error of category "meshrt" with a context line for humans.
caf::error make_error(mesh_errc code, std::string context);

/// True if `err` is a meshrt error of kind `code`.
bool is(const caf::error& err, mesh_errc code);

/// IsRequestError: the error came back from a request (handler error, no
/// handler, invalid data, timeout, unhealthy target). A request that could
/// not be delivered fails with a send error instead.
bool is_request_error(const caf::error& err);

/// IsRequestTimeoutError.
bool is_request_timeout_error(const caf::error& err);

/// IsSendError: a message or request could not be delivered (network error,
/// message too large, invalid address); used by Send, USend, SendMany,
/// USendMany and requests alike.
bool is_send_error(const caf::error& err);

/// IsUnhealthyError.
bool is_unhealthy_error(const caf::error& err);

/// The context line of a meshrt error ("" otherwise).
std::string context_of(const caf::error& err);

/// Lets CAF render meshrt errors as "meshrt.network_error: <context>".
void add_mesh_error_category(caf::actor_system_config& cfg);

} // namespace meshrt
