#pragma once

// What the wire-record fuzz targets check of each record they decode: it
// encodes to bytes that decode to a record encoding to the same bytes.

#include "transport/byte_buffer.hpp"
#include "transport/byte_view.hpp"

namespace meshrt::fuzz {

template<class T, class Decode>
void check_round_trip(const T& x, Decode decode) {
  auto bytes = encode(x);
  auto again = decode(byte_view{bytes.data(), bytes.size()});
  if (!again || encode(*again) != bytes)
    __builtin_trap();
}

} // namespace meshrt::fuzz
