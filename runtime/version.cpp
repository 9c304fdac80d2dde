#include "runtime/version.hpp"

namespace meshrt {

std::string version() {
  return MESHRT_VERSION;
}

std::string caf_version() {
  return MESHRT_CAF_VERSION;
}

} // namespace meshrt
