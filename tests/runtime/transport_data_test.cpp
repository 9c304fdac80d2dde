#include "runtime/transport_data.hpp"

#include <doctest/doctest.h>

#include "actors/mesh_error.hpp"

using namespace meshrt;

namespace {

// The reference's example schemas.
const transport_data_schema example{{
  {"name", property_type::string},
  {"counter", property_type::int64},
  {"list", property_type::uint32_array},
  {"data", property_type::bytes},
  {"users", property_type::bytes_array},
}};

const transport_data_schema user{{
  {"UID", property_type::string},
  {"SID", property_type::string},
}};

} // namespace

TEST_SUITE("runtime.transport_data") {

  TEST_CASE("the reference's example packs and unpacks, nested users included") {
    std::vector<byte_buffer> users;
    auto ud = user.make();
    for (auto [uid, sid] : {std::pair{"u1", "s1"}, std::pair{"u2", "s2"}}) {
      CHECK_FALSE(ud.set_as_string("UID", uid));
      CHECK_FALSE(ud.set_as_string("SID", sid));
      users.push_back(ud.pack());
    }
    auto td = example.make();
    CHECK_FALSE(td.set_as_string("name", "John"));
    CHECK_FALSE(td.set_as_int("counter", 0));
    CHECK_FALSE(td.set_as_uint32_array("list", {10, 20, 2}));
    CHECK_FALSE(td.set_as_bytes("data", {0xff, 0xee, 0xdd, 0xcc}));
    CHECK_FALSE(td.set_as_bytes_array("users", users));
    auto packed = td.pack();

    auto in = example.make();
    REQUIRE_FALSE(in.unpack(packed));
    CHECK(*in.get_as_string("name") == "John");
    CHECK(*in.get_as_int("counter") == 0);
    CHECK(*in.get_as_uint32_array("list") == std::vector<uint32_t>{10, 20, 2});
    CHECK(*in.get_as_bytes("data") == byte_buffer{0xff, 0xee, 0xdd, 0xcc});
    auto list = in.get_as_bytes_array("users");
    REQUIRE(list);
    REQUIRE(list->size() == 2);
    auto u = user.make();
    REQUIRE_FALSE(u.unpack((*list)[1]));
    CHECK(*u.get_as_string("UID") == "u2");
    CHECK(*u.get_as_string("SID") == "s2");
  }

  TEST_CASE("every type round-trips, unset properties stay unset") {
    transport_data_schema all{{{"s", property_type::string},
                               {"i", property_type::int64},
                               {"u", property_type::uint64},
                               {"f", property_type::float64},
                               {"b", property_type::boolean},
                               {"by", property_type::bytes},
                               {"ua", property_type::uint32_array},
                               {"sa", property_type::string_array},
                               {"ba", property_type::bytes_array}}};
    auto td = all.make();
    td.set_as_int("i", -5);
    td.set_as_uint("u", UINT64_MAX);
    td.set_as_float64("f", 2.25);
    td.set_as_bool("b", true);
    td.set_as_string_array("sa", {"a", "b"});
    auto in = all.make();
    REQUIRE_FALSE(in.unpack(td.pack()));
    CHECK(*in.get_as_int("i") == -5);
    CHECK(*in.get_as_uint("u") == UINT64_MAX);
    CHECK(*in.get_as_float64("f") == 2.25);
    CHECK(*in.get_as_bool("b"));
    CHECK(*in.get_as_string_array("sa") == std::vector<std::string>{"a", "b"});
    CHECK_FALSE(in.has("s"));
    auto unset = in.get_as_string("s");
    REQUIRE_FALSE(unset);
    CHECK(is(unset.error(), mesh_errc::invalid_data));
    in.clear();
    CHECK_FALSE(in.has("i"));
  }

  TEST_CASE("float64 values at the edges of msgpack's integers round-trip") {
    // msgpack-c packs a whole double as an integer; 2^64 is whole but no
    // uint64_t, and its own check let it through to an undefined cast.
    transport_data_schema one{{{"f", property_type::float64}}};
    for (double d : {18446744073709551616.0, 18446744073709549568.0, -9223372036854775808.0, 3.0,
                     -0.5, 1e300, -1e300}) {
      auto td = one.make();
      REQUIRE_FALSE(td.set_as_float64("f", d));
      auto in = one.make();
      REQUIRE_FALSE(in.unpack(td.pack()));
      CHECK_MESSAGE(*in.get_as_float64("f") == d, d);
    }
  }

  TEST_CASE("unknown names, wrong types and foreign bytes are clear errors") {
    auto td = example.make();
    auto e = td.set_as_string("nope", "x");
    CHECK(is(e, mesh_errc::invalid_argument));
    CHECK(context_of(e) == "no transport data property 'nope'");
    e = td.set_as_int("name", 3);
    CHECK(context_of(e) == "property 'name' is a string, not a int");
    CHECK(is(td.get_as_int("name").error(), mesh_errc::invalid_argument));
    // Another schema's bytes: wrong arity.
    auto u = user.make();
    u.set_as_string("UID", "x");
    auto err = td.unpack(u.pack());
    CHECK(is(err, mesh_errc::invalid_data));
    CHECK(context_of(err) == "transport data: 2 values for a schema of 5 properties");
    // Right arity, wrong type in one place: nothing is kept.
    transport_data_schema two{{{"a", property_type::string}, {"b", property_type::int64}}};
    transport_data_schema two_swapped{{{"a", property_type::int64}, {"b", property_type::int64}}};
    auto t = two.make();
    t.set_as_string("a", "text");
    t.set_as_int("b", 1);
    auto s = two_swapped.make();
    err = s.unpack(t.pack());
    CHECK(context_of(err) == "transport data: property 'a' is not a int");
    CHECK_FALSE(s.has("b"));
    CHECK(is(td.unpack(byte_buffer{0x93, 0x01}), mesh_errc::invalid_data));
    CHECK(is(td.unpack(pack(std::string{"not an array"})), mesh_errc::invalid_data));
    CHECK_THROWS_AS(
      transport_data_schema({{"a", property_type::string}, {"a", property_type::int64}}),
      std::invalid_argument);
  }
}
