#pragma once

#include <cstddef>
#include <cstdint>

#include <msgpack.hpp>

#include "transport/byte_buffer.hpp"

namespace meshrt {

/// What meshrt packs msgpack into: msgpack-c's sbuffer, under a type of its
/// own so that msgpack-c's packer for it packs every float (a struct's or a
/// container's at any depth, an unpacked object's) through the two below.
class pack_stream {
public:
  explicit pack_stream(msgpack::sbuffer& buf) : buf_(buf) {}

  void write(const char* data, size_t size) {
    buf_.write(data, size);
  }

private:
  msgpack::sbuffer& buf_;
};

} // namespace meshrt

namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(v1) {

  /// As msgpack-c packs a double (a whole number as an integer, anything else
  /// as a float64), but 2^64 as a float64: msgpack-c's range check lets that
  /// one value through to a conversion to uint64_t, which is undefined (UBSan;
  /// found by fuzz.command_smoke). Its float32 counterpart alike.
  template<>
  packer<meshrt::pack_stream>& packer<meshrt::pack_stream>::pack_double(double d);
  template<>
  packer<meshrt::pack_stream>& packer<meshrt::pack_stream>::pack_float(float f);

} // MSGPACK_API_VERSION_NAMESPACE(v1)
} // namespace msgpack

namespace meshrt {

/// The msgpack bytes of `x`: MARS's records, typed commands' payloads
/// (CreateSendBytes, CreateReturnBytes), unpacked objects re-packed (what
/// came off the network may hold a float of 2^64). Floats at any depth as
/// above.
template<class T>
byte_buffer pack(const T& x) {
  msgpack::sbuffer buf;
  pack_stream out{buf};
  msgpack::pack(out, x);
  return byte_buffer(buf.data(), buf.data() + buf.size());
}

/// Unpacks one msgpack object from bytes that came off the network. No
/// declared size may exceed what the input could hold (an element takes at
/// least one byte): a few hostile bytes announcing a huge array must not
/// make msgpack allocate gigabytes. Throws msgpack's exceptions (all derived
/// from std::exception) on malformed or truncated input.
msgpack::object_handle unpack_untrusted(const uint8_t* data, size_t size);

} // namespace meshrt
