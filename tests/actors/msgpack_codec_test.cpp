// meshrt's msgpack packing: msgpack-c's, but a float of 2^64 at any depth
// is packed as a float instead of through msgpack-c's undefined cast.

#include "actors/msgpack_codec.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <msgpack.hpp>

using meshrt::byte_buffer;

namespace {

constexpr double two_64 = 18446744073709551616.0;

/// A user's own struct, as an application packs it into a command.
struct reading {
  double d = 0;
  float f = 0;
  std::vector<double> series;
  std::map<std::string, double> named;
  MSGPACK_DEFINE(d, f, series, named);
};

msgpack::object_handle unpack(const byte_buffer& bytes) {
  return meshrt::unpack_untrusted(bytes.data(), bytes.size());
}

/// msgpack-c's own bytes for `x` (for values it packs without trouble).
template<class T>
byte_buffer msgpack_c_bytes(const T& x) {
  msgpack::sbuffer buf;
  msgpack::pack(buf, x);
  return byte_buffer(buf.data(), buf.data() + buf.size());
}

} // namespace

TEST_SUITE("actors.msgpack_codec") {
  TEST_CASE("a float of 2^64 inside a user's struct is packed as a float, at any depth") {
    reading r;
    r.d = two_64;
    r.f = static_cast<float>(two_64);
    r.series = {two_64, 3.0, -9223372036854775808.0, 0.5};
    r.named = {{"big", two_64}, {"whole", 7.0}};
    auto handle = unpack(meshrt::pack(r));
    const auto& o = handle.get();
    REQUIRE(o.type == msgpack::type::ARRAY);
    REQUIRE(o.via.array.size == 4);
    const auto* fields = o.via.array.ptr;
    CHECK(fields[0].type == msgpack::type::FLOAT64);
    CHECK(fields[0].via.f64 == two_64);
    CHECK(fields[1].type == msgpack::type::FLOAT32);
    CHECK(fields[1].via.f64 == two_64);
    const auto& series = fields[2].via.array;
    REQUIRE(series.size == 4);
    CHECK(series.ptr[0].type == msgpack::type::FLOAT64);
    CHECK(series.ptr[0].via.f64 == two_64);
    // the rest as msgpack-c packs it: whole numbers as integers
    CHECK(series.ptr[1].type == msgpack::type::POSITIVE_INTEGER);
    CHECK(series.ptr[1].via.u64 == 3);
    CHECK(series.ptr[2].type == msgpack::type::NEGATIVE_INTEGER);
    CHECK(series.ptr[2].via.i64 == INT64_MIN);
    CHECK(series.ptr[3].type == msgpack::type::FLOAT64);
    auto back = o.as<reading>();
    CHECK(back.d == two_64);
    CHECK(back.f == static_cast<float>(two_64));
    CHECK(back.series == r.series);
    CHECK(back.named == r.named);
  }

  TEST_CASE("other values pack to msgpack-c's own bytes") {
    reading r;
    r.d = 1e300;
    r.f = -2.5f;
    r.series = {0.0, -0.0, 18446744073709549568.0, -1.0, 1e-9, 4294967296.0};
    r.named = {{"a", 1.0}, {"b", -9223372036854775808.0}};
    CHECK(meshrt::pack(r) == msgpack_c_bytes(r));
    CHECK(meshrt::pack(std::string{"text"}) == msgpack_c_bytes(std::string{"text"}));
    CHECK(meshrt::pack(uint64_t{18446744073709551615u})
          == msgpack_c_bytes(uint64_t{18446744073709551615u}));
  }

  TEST_CASE("an unpacked object holding 2^64 packs again to the same value") {
    reading r;
    r.d = two_64;
    r.f = static_cast<float>(two_64);
    r.series = {two_64, 1.5};
    auto bytes = meshrt::pack(r);
    auto handle = unpack(bytes);
    CHECK(meshrt::pack(handle.get()) == bytes);
  }
}
