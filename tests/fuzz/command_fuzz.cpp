// libFuzzer target: typed command payloads, the bytes a handler receives
// from another node: map-style requests (request_data) read with every
// getter, TransportData under a schema of every property type, and a typed
// struct unpacked through msgpack. Anything decodes or is an invalid_data
// error: no crash, no exception escaping, no runaway allocation.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <msgpack.hpp>

#include "runtime/request_data.hpp"
#include "runtime/transport_data.hpp"

using namespace meshrt;

namespace {

struct typed_request {
  std::string name;
  int64_t count = 0;
  std::vector<std::string> tags;
  std::map<std::string, double> scores;
  MSGPACK_DEFINE(name, count, tags, scores);
};

const transport_data_schema& schema() {
  static const transport_data_schema s{{
    {"s", property_type::string},
    {"i", property_type::int64},
    {"u", property_type::uint64},
    {"f", property_type::float64},
    {"b", property_type::boolean},
    {"y", property_type::bytes},
    {"ua", property_type::uint32_array},
    {"sa", property_type::string_array},
    {"ya", property_type::bytes_array},
  }};
  return s;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  byte_buffer bytes(data, data + size);
  is_valid_request_data(bytes);
  if (auto map = request_data::unpack_map(bytes)) {
    for (const auto& key : map->keys()) {
      map->get_string(key);
      map->get_bytes(key);
      map->get_int(key);
      map->get_int8(key);
      map->get_uint16(key);
      map->get_uint64(key);
      map->get_float64(key);
      map->get_bool(key);
    }
    auto again = request_data::unpack_map(map->pack_map());
    if (!again || again->pack_map() != map->pack_map())
      __builtin_trap();
  }
  transport_data td{schema()};
  if (!td.unpack(bytes)) {
    transport_data again{schema()};
    if (again.unpack(td.pack()) || again.pack() != td.pack())
      __builtin_trap();
  }
  unpack<typed_request>(bytes);
  return 0;
}
