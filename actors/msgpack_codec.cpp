#include "actors/msgpack_codec.hpp"

#include <cstring>

namespace {

/// Writes `f` as msgpack's float of `head` (0xca float32, 0xcb float64):
/// the head, then its bits, big-endian.
template<class Float, class Bits>
void write_float(meshrt::pack_stream& out, uint8_t head, Float f) {
  Bits bits = 0;
  std::memcpy(&bits, &f, sizeof(bits));
  char bytes[1 + sizeof(Bits)];
  bytes[0] = static_cast<char>(head);
  for (size_t i = 0; i < sizeof(Bits); ++i)
    bytes[1 + i] = static_cast<char>(bits >> (8 * (sizeof(Bits) - 1 - i)));
  out.write(bytes, sizeof(bytes));
}

/// How msgpack-c packs a float: a whole number in an integer's range as
/// that integer (unsigned from 0 on, signed below), anything else as the
/// float; but its unsigned range ends at 2^64 included, whose conversion
/// to uint64_t is undefined, and this one's below it.
enum class float_form { unsigned_integer, signed_integer, floating };

template<class Float>
float_form form_of(Float f) {
  constexpr auto two_to_the_64 = static_cast<Float>(18446744073709551616.0);
  if (f != f) // NaN
    return float_form::floating;
  if (f >= 0)
    return f < two_to_the_64 && f == static_cast<Float>(static_cast<uint64_t>(f))
             ? float_form::unsigned_integer
             : float_form::floating;
  return f >= -two_to_the_64 / 2 && f == static_cast<Float>(static_cast<int64_t>(f))
           ? float_form::signed_integer
           : float_form::floating;
}

} // namespace

namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(v1) {

  template<>
  packer<meshrt::pack_stream>& packer<meshrt::pack_stream>::pack_double(double d) {
    switch (form_of(d)) {
      case float_form::unsigned_integer:
        pack_imp_uint64(static_cast<uint64_t>(d));
        break;
      case float_form::signed_integer:
        pack_imp_int64(static_cast<int64_t>(d));
        break;
      case float_form::floating:
        write_float<double, uint64_t>(m_stream, 0xcb, d);
    }
    return *this;
  }

  template<>
  packer<meshrt::pack_stream>& packer<meshrt::pack_stream>::pack_float(float f) {
    switch (form_of(f)) {
      case float_form::unsigned_integer:
        pack_imp_uint64(static_cast<uint64_t>(f));
        break;
      case float_form::signed_integer:
        pack_imp_int64(static_cast<int64_t>(f));
        break;
      case float_form::floating:
        write_float<float, uint32_t>(m_stream, 0xca, f);
    }
    return *this;
  }

} // MSGPACK_API_VERSION_NAMESPACE(v1)
} // namespace msgpack

namespace meshrt {

msgpack::object_handle unpack_untrusted(const uint8_t* data, size_t size) {
  msgpack::unpack_limit limit{size, size / 2, size, size, 0, 16};
  return msgpack::unpack(reinterpret_cast<const char*>(data), size, nullptr, nullptr, limit);
}

} // namespace meshrt
