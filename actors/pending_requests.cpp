#include "actors/pending_requests.hpp"

#include <random>

namespace meshrt {

uint64_t first_request_id() {
  std::random_device rd;
  uint64_t r = (uint64_t{rd()} << 32) | rd();
  return (r & ((uint64_t{1} << 62) - 1)) | 1; // odd: never 0, and 2^62 ids before a wrap
}

} // namespace meshrt
