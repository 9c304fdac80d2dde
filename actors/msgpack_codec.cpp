#include "actors/msgpack_codec.hpp"

#include <cstring>

namespace meshrt {

namespace {

/// Writes `f` as msgpack's float of `head` (0xca float32, 0xcb float64):
/// the head, then its bits, big-endian.
template<class Float, class Bits>
void write_float(msgpack::sbuffer& buf, uint8_t head, Float f) {
  Bits bits = 0;
  std::memcpy(&bits, &f, sizeof(bits));
  char bytes[1 + sizeof(Bits)];
  bytes[0] = static_cast<char>(head);
  for (size_t i = 0; i < sizeof(Bits); ++i)
    bytes[1 + i] = static_cast<char>(bits >> (8 * (sizeof(Bits) - 1 - i)));
  buf.write(bytes, sizeof(bytes));
}

void pack_float32(msgpack::sbuffer& buf, float f) {
  if (f != 18446744073709551616.0f)
    msgpack::packer<msgpack::sbuffer>{buf}.pack_float(f);
  else
    write_float<float, uint32_t>(buf, 0xca, f);
}

} // namespace

void pack_float64(msgpack::sbuffer& buf, double d) {
  if (d != 18446744073709551616.0)
    msgpack::packer<msgpack::sbuffer>{buf}.pack_double(d);
  else
    write_float<double, uint64_t>(buf, 0xcb, d);
}

void pack_object(msgpack::sbuffer& buf, const msgpack::object& o) {
  msgpack::packer<msgpack::sbuffer> pk{buf};
  switch (o.type) {
    case msgpack::type::FLOAT32:
      pack_float32(buf, static_cast<float>(o.via.f64));
      return;
    case msgpack::type::FLOAT64:
      pack_float64(buf, o.via.f64);
      return;
    case msgpack::type::ARRAY:
      pk.pack_array(o.via.array.size);
      for (uint32_t i = 0; i < o.via.array.size; ++i)
        pack_object(buf, o.via.array.ptr[i]); // as deep as unpack_untrusted allows
      return;
    case msgpack::type::MAP:
      pk.pack_map(o.via.map.size);
      for (uint32_t i = 0; i < o.via.map.size; ++i) {
        pack_object(buf, o.via.map.ptr[i].key);
        pack_object(buf, o.via.map.ptr[i].val);
      }
      return;
    default: // no float inside
      pk.pack(o);
  }
}

msgpack::object_handle unpack_untrusted(const uint8_t* data, size_t size) {
  msgpack::unpack_limit limit{size, size / 2, size, size, 0, 16};
  return msgpack::unpack(reinterpret_cast<const char*>(data), size, nullptr, nullptr, limit);
}

} // namespace meshrt
