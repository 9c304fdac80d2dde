#include "runtime/node.hpp"

#include <stdexcept>
#include <tuple>

#include <caf/all.hpp>

#include "dm/client_gateway.hpp"
#include "dm/dm_atoms.hpp"
#include "dm/dm_off.hpp"
#include "dm/dm_service.hpp"
#include "dm/ring_view.hpp"
#include "dm/store_atoms.hpp"
#include "dm/store_service.hpp"

namespace meshrt {

node start_node(caf::actor_system& sys, const config& cfg, const node_options& opts) {
  // Not known to MARS, so to no peer, before its services take their
  // messages: it joins at the end (unless the caller joins it itself).
  auto held = opts;
  held.join_when_told = true;
  auto node_actor = spawn_node(sys, cfg.mesh, held);
  // spawn_node returns once the transport is bound and the node told so:
  // the correlator exists when this question is answered.
  caf::scoped_actor self{sys};
  caf::actor requester;
  caf::error failed;
  self->request(node_actor, caf::infinite, requester_atom::value)
    .receive([&](caf::actor& r) { requester = std::move(r); },
             [&](caf::error& err) { failed = std::move(err); });
  if (!requester) {
    self->send_exit(node_actor, caf::exit_reason::user_shutdown);
    throw std::runtime_error("the node did not start: " + to_string(failed));
  }
  caf::actor transport;
  std::string address;
  self->request(node_actor, caf::infinite, transport_atom::value)
    .receive([&](caf::actor& t) { transport = std::move(t); }, [](caf::error&) {});
  self->request(node_actor, caf::infinite, whoami_atom::value)
    .receive([&](node_record& me) { address = me.mesh_address; }, [](caf::error&) {});
  if (!transport || address.empty()) {
    self->send_exit(node_actor, caf::exit_reason::user_shutdown);
    throw std::runtime_error("the node did not start: it names no transport or address");
  }
  auto store = spawn_store_service(sys, node_actor, transport, address, cfg.dm);
  caf::actor dm;
  caf::actor gateway;
  uint16_t client_port = 0;
  caf::actor dm_off; // with DM off, what takes the DM's messages (dm/dm_off.hpp)
  if (!cfg.dm.enabled) {
    dm_off = spawn_dm_off(sys, transport);
  } else {
    dm = spawn_dm_service(sys, node_actor, store, transport, address, cfg.dm);
    if (cfg.dm.gateway.port != 0) {
      auto gw_cfg = cfg.dm.gateway;
      gw_cfg.address = address.substr(0, address.rfind(':'));
      std::tie(gateway, client_port) = spawn_client_gateway(sys, dm, gw_cfg);
      self
        ->request(node_actor, caf::infinite, set_endpoint_atom::value,
                  gw_cfg.address + ":" + std::to_string(client_port))
        .receive([] {}, [](caf::error&) {});
    }
  }
  // Each service routes its message kinds to itself first thing (CAF runs
  // that after spawn returns): once each has answered a question, and then
  // the transport, every message that reaches the transport from now on
  // finds its service, not the node (which drops what it does not know).
  self->request(store, caf::infinite, store_ring_view_atom::value)
    .receive([](std::shared_ptr<const ring_view>&) {}, [](caf::error&) {});
  self->request(dm ? dm : dm_off, caf::infinite, dm_stats_atom::value)
    .receive([](std::string&) {}, [](caf::error&) {});
  self->request(transport, caf::infinite, transport::port_atom::value)
    .receive([](uint16_t) {}, [](caf::error&) {});
  if (!opts.join_when_told)
    self->send(node_actor, join_atom::value);
  return node{std::move(node_actor), std::move(requester), std::move(store),
              std::move(dm),         std::move(gateway),   client_port};
}

} // namespace meshrt
