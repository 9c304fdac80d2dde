#include "runtime/request_data.hpp"

#include <doctest/doctest.h>

#include "actors/mesh_error.hpp"

using namespace meshrt;

TEST_SUITE("runtime.request_data") {

  TEST_CASE("values round-trip through the msgpack map") {
    request_data d;
    d.set("name", std::string{"ann"})
      .set("level", 42)
      .set("score", -7)
      .set("ratio", 0.5)
      .set("ok", true)
      .set("blob", byte_buffer{1, 2, 3})
      .set("list", std::vector<int>{1, 2});
    auto back = request_data::unpack_map(d.pack_map());
    REQUIRE(back);
    CHECK(back->keys()
          == std::vector<std::string>{"blob", "level", "list", "name", "ok", "ratio", "score"});
    CHECK(*back->get_string("name") == "ann");
    CHECK(*back->get_int("level") == 42);
    CHECK(*back->get_uint8("level") == 42);
    CHECK(*back->get_int8("score") == -7);
    CHECK(*back->get_float64("ratio") == 0.5);
    CHECK(*back->get_float64("level") == 42.0);
    CHECK(*back->get_bool("ok"));
    CHECK(*back->get_bytes("blob") == byte_buffer{1, 2, 3});
    CHECK(*back->get<std::vector<int>>("list") == std::vector<int>{1, 2});
  }

  TEST_CASE("every integer width reads back and refuses what it cannot hold") {
    request_data d;
    d.set("i16", int16_t{-32768})
      .set("i32", int32_t{-2147483647 - 1})
      .set("i64", int64_t{-9223372036854775807LL - 1})
      .set("u16", uint16_t{65535})
      .set("u32", uint32_t{4294967295U})
      .set("u64", uint64_t{18446744073709551615ULL});
    auto back = request_data::unpack_map(d.pack_map());
    REQUIRE(back);
    CHECK(*back->get_int16("i16") == -32768);
    CHECK(*back->get_int32("i32") == -2147483647 - 1);
    CHECK(*back->get_int64("i64") == -9223372036854775807LL - 1);
    CHECK(*back->get_uint16("u16") == 65535);
    CHECK(*back->get_uint32("u32") == 4294967295U);
    CHECK(*back->get_uint64("u64") == 18446744073709551615ULL);
    // One past each end is invalid_data naming the key and the width.
    auto small = back->get_int16("i32");
    REQUIRE_FALSE(small);
    CHECK(context_of(small.error()) == "key 'i32': -2147483648 is out of range for int16");
    CHECK_FALSE(back->get_int32("i64"));
    CHECK_FALSE(back->get_int64("u64")); // 2^64 - 1 does not fit a signed 64-bit number
    auto wide = back->get_uint16("u32");
    REQUIRE_FALSE(wide);
    CHECK(context_of(wide.error()) == "key 'u32': 4294967295 is out of range for uint16");
    CHECK_FALSE(back->get_uint16("i16"));
    CHECK_FALSE(back->get_uint64("i64"));
    CHECK(*back->get_int64("u32") == 4294967295LL);
    CHECK(*back->get_uint64("u16") == 65535);
  }

  TEST_CASE("a missing key is the zero value, as in the reference") {
    request_data d;
    CHECK_FALSE(d.has("x"));
    CHECK(*d.get_int("x") == 0);
    CHECK(d.get_string("x")->empty());
    CHECK_FALSE(*d.get_bool("x"));
    CHECK(d.get_bytes("x")->empty());
  }

  TEST_CASE("a wrong type or an out-of-range number is invalid_data naming the key") {
    request_data d;
    d.set("name", std::string{"ann"})
      .set("big", 300)
      .set("neg", -1)
      .set("half", 1.5)
      .set("whole", 3.0);
    auto e = d.get_int("name");
    REQUIRE_FALSE(e);
    CHECK(is(e.error(), mesh_errc::invalid_data));
    CHECK(context_of(e.error()) == "key 'name': expected an integer, got string");
    auto r = d.get_int8("big");
    REQUIRE_FALSE(r);
    CHECK(context_of(r.error()) == "key 'big': 300 is out of range for int8");
    CHECK_FALSE(d.get_uint32("neg"));
    CHECK_FALSE(d.get_int("half"));
    CHECK(*d.get_int("whole") == 3); // Go's JSON numbers are float64
    CHECK_FALSE(d.get_bool("name"));
    CHECK_FALSE(d.get_bytes("big"));
    CHECK_FALSE(d.get_float64("name"));
    CHECK_FALSE(d.get<std::vector<int>>("name"));
  }

  TEST_CASE("floats at the 64-bit integers' edges: out of range, never an undefined cast") {
    // {"f": float64 x}: 2^64 and 2^63 are what uint64_t's and int64_t's
    // max() become as doubles; -2^63 is int64_t's min itself.
    auto one = [](uint64_t float_bits) {
      byte_buffer b{0x81, 0xa1, 'f', 0xcb};
      for (int i = 0; i < 8; ++i)
        b.push_back(static_cast<uint8_t>(float_bits >> (56 - 8 * i)));
      auto d = request_data::unpack_map(b);
      REQUIRE(d);
      return *d;
    };
    auto two_64 = one(0x43f0000000000000); // 2^64
    CHECK_FALSE(two_64.get_uint64("f"));
    CHECK(*two_64.get_float64("f") == 18446744073709551616.0);
    auto two_63 = one(0x43e0000000000000); // 2^63
    CHECK(*two_63.get_uint64("f") == 9223372036854775808ULL);
    CHECK_FALSE(two_63.get_int("f"));
    CHECK(*one(0xc3e0000000000000).get_int("f") == INT64_MIN); // -2^63
    // deeper: a list of one float32 2^64 and one float64 2^64 keeps both
    byte_buffer nested{0x81, 0xa1, 'l',  0x92, 0xca, 0x5f, 0x80, 0x00, 0x00,
                       0xcb, 0x43, 0xf0, 0,    0,    0,    0,    0,    0};
    auto n = request_data::unpack_map(nested);
    REQUIRE(n);
    CHECK(n->pack_map() == nested);
    // and set() packs 2^64 without msgpack-c's cast: it reads back the same
    request_data s;
    s.set("f", 18446744073709551616.0);
    CHECK(*s.get_float64("f") == 18446744073709551616.0);
    CHECK_FALSE(s.get_uint64("f"));
  }

  TEST_CASE("only maps with string keys are request data (ValidateDataType)") {
    CHECK(is(request_data::unpack_map(pack(42)).error(), mesh_errc::invalid_data));
    CHECK(is(request_data::unpack_map(pack(std::map<int, int>{{1, 2}})).error(),
             mesh_errc::invalid_data));
    CHECK(is(request_data::unpack_map(byte_buffer{0x81}).error(), mesh_errc::invalid_data));
    CHECK(is_valid_request_data(request_data{}.set("a", 1).pack_map()));
    CHECK(is_valid_request_data(pack(std::make_tuple(1, std::string{"struct"}))));
    CHECK_FALSE(is_valid_request_data(pack(7)));
    CHECK_FALSE(is_valid_request_data(pack(std::map<int, int>{{1, 2}})));
    CHECK_FALSE(is_valid_request_data(byte_buffer{0xc1}));
  }
}
