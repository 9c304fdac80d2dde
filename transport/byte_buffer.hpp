#pragma once

#include <cstdint>
#include <vector>

namespace meshrt {

/// The bytes of one message, as sent and received through the mesh.
using byte_buffer = std::vector<uint8_t>;

} // namespace meshrt
