// libFuzzer target: the DM service's wire records between nodes (FindData
// and SendData deliveries, their answers, channel-closed notices, the users'
// locations a node announces). Any bytes decode or are refused: no crash,
// and what decodes encodes back to bytes that decode to the same.

#include <cstddef>
#include <cstdint>

#include "dm/dm_wire.hpp"
#include "fuzz/round_trip.hpp"

using namespace meshrt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  byte_view bytes{data, size};
  if (auto x = decode_dm_deliver(bytes)) {
    if (!valid_user_id(x->from) || !valid_user_id(x->to))
      __builtin_trap(); // the decoder promises valid user ids
    fuzz::check_round_trip(*x, decode_dm_deliver);
  }
  if (auto x = decode_dm_answer(bytes))
    fuzz::check_round_trip(*x, decode_dm_answer);
  if (auto x = decode_dm_closed(bytes))
    fuzz::check_round_trip(*x, decode_dm_closed);
  if (auto x = decode_dm_locations(bytes)) {
    for (const auto& uid : x->users)
      if (!valid_user_id(uid))
        __builtin_trap();
    fuzz::check_round_trip(*x, decode_dm_locations);
  }
  if (auto incarnation = decode_locations_wanted(bytes))
    if (encode_locations_wanted(*incarnation) != byte_buffer(bytes.begin(), bytes.end()))
      __builtin_trap();
  return 0;
}
