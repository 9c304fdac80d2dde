#pragma once

#include <cstdint>

#include "transport/secret_key.hpp"

namespace meshrt::test {

/// A key of 32 bytes of `fill`: tests need keys that are equal or differ,
/// not secret ones.
inline secret_key test_key(uint8_t fill) {
  secret_key k;
  k.bytes.fill(fill);
  return k;
}

} // namespace meshrt::test
