#include "actors/msgpack_codec.hpp"

namespace meshrt {

msgpack::object_handle unpack_untrusted(const uint8_t* data, size_t size) {
  msgpack::unpack_limit limit{size, size / 2, size, size, 0, 16};
  return msgpack::unpack(reinterpret_cast<const char*>(data), size, nullptr, nullptr, limit);
}

} // namespace meshrt
