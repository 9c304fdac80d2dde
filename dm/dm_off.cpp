#include "dm/dm_off.hpp"

#include <cstdint>
#include <set>
#include <string>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "dm/dm_atoms.hpp"
#include "dm/dm_wire.hpp"
#include "transport/atoms.hpp"
#include "transport/logger.hpp"
#include "transport/packed_messages.hpp"

namespace meshrt {

namespace {

struct dm_off_state {
  uint64_t dropped_asks = 0;
  uint64_t dropped_messages = 0;
  /// The nodes a warning named already.
  std::set<std::string> warned;

  static inline const char* name = "meshrt.dm_off";
};

using dm_off_actor = caf::stateful_actor<dm_off_state>;

caf::behavior dm_off(dm_off_actor* self, const caf::actor& transport) {
  for (auto kind : all_dm_kinds)
    self->send(transport, transport::route_atom::value, static_cast<uint8_t>(kind),
               caf::actor_cast<caf::actor>(self));
  self->monitor(transport);
  self->set_down_handler([=](caf::down_msg&) { self->quit(); });
  return {
    [=](transport::received_atom, const std::string& peer, const packed_messages& batch, bool) {
      auto& st = self->state;
      for (auto bytes : batch.views()) {
        auto kind = bytes.empty() ? 0 : bytes[0];
        if (kind == static_cast<uint8_t>(dm_kind::locations)
            || kind == static_cast<uint8_t>(dm_kind::locations_wanted)) {
          ++st.dropped_asks;
          continue;
        }
        ++st.dropped_messages;
        if (st.warned.insert(peer).second)
          logger("dm")->warn("dropped a direct message (kind {}) from {}: DM is off on this node "
                             "(dmEnabled false; further ones from it are counted, not logged)",
                             kind, peer);
      }
    },
    [=](dm_stats_atom) {
      auto& st = self->state;
      return nlohmann::json{
        {"dm", "off"}, {"dropped_asks", st.dropped_asks}, {"dropped_messages", st.dropped_messages}}
        .dump();
    },
  };
}

} // namespace

caf::actor spawn_dm_off(caf::actor_system& sys, const caf::actor& transport) {
  return sys.spawn(dm_off, transport);
}

} // namespace meshrt
