#pragma once

#include <cstddef>
#include <cstdint>

#include <msgpack.hpp>

#include "transport/byte_buffer.hpp"

namespace meshrt {

/// The msgpack bytes of `x`: MARS's records, typed commands' payloads
/// (CreateSendBytes, CreateReturnBytes).
template<class T>
byte_buffer pack(const T& x) {
  msgpack::sbuffer buf;
  msgpack::pack(buf, x);
  return byte_buffer(buf.data(), buf.data() + buf.size());
}

/// Unpacks one msgpack object from bytes that came off the network. No
/// declared size may exceed what the input could hold (an element takes at
/// least one byte): a few hostile bytes announcing a huge array must not
/// make msgpack allocate gigabytes. Throws msgpack's exceptions (all derived
/// from std::exception) on malformed or truncated input.
msgpack::object_handle unpack_untrusted(const uint8_t* data, size_t size);

} // namespace meshrt
