#pragma once

// The mesh layer's framing: what one RUDP message between two nodes holds.
// MARS traffic is msgpack (mars_protocol.hpp) and is told apart by its
// sender, MARS's address; everything between nodes starts with this header.
//
//   offset  size  field
//   0       u8    kind      1: message (Send / USend, no answer expected)
//   1       u16   command   the application's command id (big endian)
//   3       ...   payload   the application's bytes, as given
//
// A message that is shorter than the header or has an unknown kind is
// dropped, counted and logged in one line by the node.

#include <cstdint>
#include <optional>

#include "transport/byte_buffer.hpp"

namespace meshrt {

/// What a mesh message is for.
enum class envelope_kind : uint8_t {
  message = 1,
};

/// The bytes before the payload.
constexpr size_t envelope_header_size = 3;

/// A decoded mesh message.
struct envelope {
  envelope_kind kind = envelope_kind::message;
  uint16_t command = 0;
  byte_buffer payload;
};

/// Header followed by `payload`.
byte_buffer encode_envelope(envelope_kind kind, uint16_t command, const byte_buffer& payload);

/// Splits a message into header and payload; nullopt if it is too short or
/// of an unknown kind.
std::optional<envelope> decode_envelope(const byte_buffer& bytes);

} // namespace meshrt
