#include "actors/mesh_envelope.hpp"

namespace meshrt {

byte_buffer encode_envelope(envelope_kind kind, uint16_t command, const byte_buffer& payload) {
  byte_buffer out;
  out.reserve(envelope_header_size + payload.size());
  out.push_back(static_cast<uint8_t>(kind));
  out.push_back(static_cast<uint8_t>(command >> 8));
  out.push_back(static_cast<uint8_t>(command & 0xFF));
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

std::optional<envelope> decode_envelope(const byte_buffer& bytes) {
  if (bytes.size() < envelope_header_size
      || bytes[0] != static_cast<uint8_t>(envelope_kind::message))
    return std::nullopt;
  envelope env;
  env.kind = static_cast<envelope_kind>(bytes[0]);
  env.command = static_cast<uint16_t>((bytes[1] << 8) | bytes[2]);
  env.payload.assign(bytes.begin() + envelope_header_size, bytes.end());
  return env;
}

} // namespace meshrt
