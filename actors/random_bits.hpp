#pragma once

#include <cstdint>

namespace meshrt {

/// 62 bits from the operating system (std::random_device), in [0, 2^62):
/// for numbers that must differ between two runs of a process at one
/// address (request ids, DM stream numbers). Callers set a bit of their
/// own above or below, which keeps the number from 0 and from a wrap.
uint64_t random_bits_62();

} // namespace meshrt
