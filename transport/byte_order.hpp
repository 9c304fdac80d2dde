#pragma once

// meshrt's one byte order: every integer on the wire, in the RUDP packets
// (transport/wire.hpp) and in the mesh layer's envelopes above them
// (actors/mesh_envelope.hpp), is little-endian. The compiler turns these
// loads and stores into plain moves.

#include <cstdint>

namespace meshrt::transport {

inline uint16_t load16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}

inline uint32_t load32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8)
         | (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

inline uint64_t load64(const uint8_t* p) {
  return static_cast<uint64_t>(load32(p)) | (static_cast<uint64_t>(load32(p + 4)) << 32);
}

inline void store16(uint8_t* p, uint16_t x) {
  p[0] = static_cast<uint8_t>(x);
  p[1] = static_cast<uint8_t>(x >> 8);
}

inline void store32(uint8_t* p, uint32_t x) {
  for (int i = 0; i < 4; ++i)
    p[i] = static_cast<uint8_t>(x >> (8 * i));
}

inline void store64(uint8_t* p, uint64_t x) {
  store32(p, static_cast<uint32_t>(x));
  store32(p + 4, static_cast<uint32_t>(x >> 32));
}

} // namespace meshrt::transport
