#pragma once

#include <cstdint>
#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>

namespace meshrt::transport {

/// The category of every meshrt caf::error. The transport owns the first
/// codes, why a send failed; the node layer (actors/mesh_error.hpp) adds
/// its own after them and renders the whole category.
constexpr caf::atom_value error_category = caf::atom("meshrt");

/// Why the transport could not deliver a message.
enum class send_errc : uint8_t {
  /// The peer did not acknowledge within retryTimeout.
  network_error = 1,
  /// The message is larger than max_message_size.
  message_too_large = 2,
  /// The peer's address is not "a.b.c.d:port".
  invalid_address = 3,
};

/// The highest code the transport uses; the node layer's codes follow.
constexpr uint8_t last_send_errc = 3;

/// A caf::error of the meshrt category with a context line for humans.
caf::error make_send_error(send_errc code, std::string context);

} // namespace meshrt::transport
