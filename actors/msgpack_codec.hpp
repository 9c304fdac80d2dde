#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include <msgpack.hpp>

#include "transport/byte_buffer.hpp"

namespace meshrt {

/// Appends `d` as msgpack-c packs a double (a whole number as an integer,
/// anything else as a float64), except 2^64, which goes as a float64:
/// msgpack-c's range check lets that one value through to a conversion to
/// uint64_t, which is undefined (UBSan; found by fuzz.command_smoke). A
/// double inside a struct or container still goes through msgpack-c's own.
void pack_float64(msgpack::sbuffer& buf, double d);

/// Appends an unpacked object as msgpack-c would pack it, its floats (at
/// any depth) through pack_float64 and its float32 counterpart: what came
/// off the network may hold a float of 2^64.
void pack_object(msgpack::sbuffer& buf, const msgpack::object& o);

/// The msgpack bytes of `x`: MARS's records, typed commands' payloads
/// (CreateSendBytes, CreateReturnBytes).
template<class T>
byte_buffer pack(const T& x) {
  msgpack::sbuffer buf;
  if constexpr (std::is_same_v<T, double>)
    pack_float64(buf, x);
  else if constexpr (std::is_same_v<T, msgpack::object>)
    pack_object(buf, x);
  else
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
