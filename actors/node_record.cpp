#include "actors/node_record.hpp"

namespace meshrt {

const char* to_string(node_status status) {
  switch (status) {
    case node_status::online:
      return "online";
    case node_status::taken:
      return "taken";
    case node_status::offline:
      return "offline";
  }
  return "unknown";
}

} // namespace meshrt
