// libFuzzer target: the store's wire records (requests, responses and
// migration messages between nodes) and the readers that route a request or
// a migration message without decoding it. Any bytes decode or are refused:
// no crash, no runaway allocation, and what decodes encodes back to bytes
// that decode to the same.

#include <cstddef>
#include <cstdint>

#include "dm/store_wire.hpp"
#include "fuzz/round_trip.hpp"

using namespace meshrt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  byte_view bytes{data, size};
  store_kind_of(bytes);
  request_slot(bytes);
  migration_step step{};
  uint16_t slot = 0;
  migration_head(bytes, step, slot);
  if (auto x = decode_store_request(bytes)) {
    fuzz::check_round_trip(*x, decode_store_request);
    byte_buffer copy(data, data + size);
    add_hop(copy);
  }
  if (auto x = decode_store_response(bytes))
    fuzz::check_round_trip(*x, decode_store_response);
  if (auto x = decode_migration(bytes))
    fuzz::check_round_trip(*x, decode_migration);
  return 0;
}
