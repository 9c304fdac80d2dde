// libFuzzer target: MARS's message decoder. Whatever arrives on MARS's port
// must decode to a message or to one error line: no crash, no runaway
// allocation, and a decoded message must encode and decode to itself.

#include <cstddef>
#include <cstdint>
#include <string>

#include "actors/mars_protocol.hpp"

using namespace meshrt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  byte_buffer bytes(data, data + size);
  std::string error;
  auto msg = decode_mars(bytes, error);
  if (!msg) {
    if (error.empty())
      __builtin_trap(); // every refusal says why
    return 0;
  }
  auto again = decode_mars(encode(*msg), error);
  if (!again || again->index() != msg->index())
    __builtin_trap();
  return 0;
}
