#pragma once

#include <string>

namespace meshrt {

/// The meshrt release, e.g. "0.1.0".
std::string version();

/// The CAF release meshrt was built against, e.g. "0.17.6".
std::string caf_version();

} // namespace meshrt
