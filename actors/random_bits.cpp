#include "actors/random_bits.hpp"

#include <random>

namespace meshrt {

uint64_t random_bits_62() {
  std::random_device rd;
  uint64_t r = (uint64_t{rd()} << 32) | rd();
  return r & ((uint64_t{1} << 62) - 1);
}

} // namespace meshrt
