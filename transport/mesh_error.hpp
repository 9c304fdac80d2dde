#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>

namespace caf {
class actor_system_config;
} // namespace caf

namespace meshrt {

/// Error kinds of meshrt, carried in caf::error with category "meshrt".
enum class mesh_errc : uint8_t {
  /// A peer did not acknowledge within retryTimeout, or cannot be reached
  /// (the reference's "Network error").
  network_error = 1,
  /// A message over MaxMessageSize (10,000,000 bytes).
  message_too_large = 2,
  /// A mesh address that is not "a.b.c.d:port".
  invalid_address = 3,
  /// A node query named a mesh address or public endpoint that is not in
  /// the cluster view.
  unknown_node = 4,
  /// An argument the reference rejects, e.g. a shared data key over 54
  /// characters.
  invalid_argument = 5,
};

/// "network_error", ...
std::string to_string(mesh_errc code);

/// A caf::error of category "meshrt" with a context line for humans.
caf::error make_error(mesh_errc code, std::string context);

/// True if `err` is a meshrt error of kind `code`.
bool is(const caf::error& err, mesh_errc code);

/// The context line of a meshrt error ("" otherwise).
std::string context_of(const caf::error& err);

/// Lets CAF render meshrt errors as "meshrt.network_error: <context>".
void add_mesh_error_category(caf::actor_system_config& cfg);

} // namespace meshrt
