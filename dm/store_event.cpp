#include "dm/store_event.hpp"

namespace meshrt {

const char* to_string(store_event::kind what) {
  switch (what) {
    case store_event::kind::slot_handed_over:
      return "slot_handed_over";
    case store_event::kind::slot_taken_over:
      return "slot_taken_over";
    case store_event::kind::migration_done:
      return "migration_done";
    case store_event::kind::ring_changed:
      return "ring_changed";
    case store_event::kind::ring_refused:
      return "ring_refused";
    case store_event::kind::owned_taken:
      return "owned_taken";
  }
  return "unknown";
}

uint32_t store_event_mask(std::initializer_list<store_event::kind> kinds) {
  if (kinds.size() == 0)
    return UINT32_MAX;
  uint32_t mask = 0;
  for (auto k : kinds)
    mask |= 1u << static_cast<uint8_t>(k);
  return mask;
}

} // namespace meshrt
