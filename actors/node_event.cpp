#include "actors/node_event.hpp"

namespace meshrt {

const char* to_string(node_event::kind what) {
  using kind = node_event::kind;
  switch (what) {
    case kind::ready:
      return "ready";
    case kind::initial_sync:
      return "initial_sync";
    case kind::update:
      return "update";
    case kind::updated:
      return "updated";
    case kind::node_joined:
      return "node_joined";
    case kind::node_left:
      return "node_left";
    case kind::node_status:
      return "node_status";
    case kind::node_changed:
      return "node_changed";
    case kind::shared_updated:
      return "shared_updated";
    case kind::shared_removed:
      return "shared_removed";
    case kind::mars_sync:
      return "mars_sync";
    case kind::mars_lost:
      return "mars_lost";
  }
  return "unknown";
}

} // namespace meshrt
