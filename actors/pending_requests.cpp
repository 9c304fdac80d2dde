#include "actors/pending_requests.hpp"

#include "actors/random_bits.hpp"

namespace meshrt {

uint64_t first_request_id() {
  return random_bits_62() | 1; // odd: never 0, and 2^62 ids before a wrap
}

} // namespace meshrt
