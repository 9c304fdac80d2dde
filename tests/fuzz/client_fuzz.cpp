// libFuzzer target: the client gateway's frame reader, which reads the bytes
// of every end-user connection. The input is a byte stream cut into reads
// of varying size (the first byte seeds the cut lengths); frames come out
// whole until the first error, which sticks and says why. Each frame
// decoded encodes back to a frame that decodes the same.

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "dm/client_protocol.hpp"

using namespace meshrt;

namespace {

/// Small enough that hostile headers hit the limit, large enough that real
/// frames pass.
constexpr size_t max_payload = 4096;

void check_round_trip(const client_frame& f) {
  auto bytes = encode(f);
  frame_reader again{bytes.size()};
  again.feed(bytes.data(), bytes.size());
  auto g = again.next();
  if (!g || encode(*g) != bytes)
    __builtin_trap();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  size_t cut = data[0] % 17 + 1;
  frame_reader reader{max_payload};
  for (size_t pos = 1; pos < size; pos += cut) {
    reader.feed(data + pos, std::min(cut, size - pos));
    while (auto f = reader.next()) {
      check_round_trip(*f);
    }
    if (reader.error()) {
      if (reader.error_text().empty())
        __builtin_trap(); // every refusal says why
      break;
    }
    if (reader.buffered() > max_payload + 64)
      __builtin_trap(); // held bytes stay bounded by one frame
  }
  reader.release(0);
  // A payload on its own, under every cmd.
  for (int cmd = 0; cmd < 32; ++cmd)
    if (auto f = decode_client_payload(static_cast<client_cmd>(cmd), byte_view{data, size}))
      check_round_trip(*f);
  return 0;
}
