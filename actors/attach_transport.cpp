#include "actors/attach_transport.hpp"

#include <caf/all.hpp>

#include "transport/atoms.hpp"
#include "transport/transport_actor.hpp"

namespace meshrt {

void attach_transport(caf::actor_system& sys, const caf::actor& owner,
                      const transport::transport_config& cfg) {
  caf::actor t;
  try {
    t = transport::spawn_transport(sys, cfg, owner);
  } catch (...) {
    caf::anon_send_exit(owner, caf::exit_reason::user_shutdown);
    throw;
  }
  // Whatever ends the owner, a crash or a kill included, its socket and
  // receive thread end with it.
  caf::actor_cast<caf::abstract_actor*>(owner)->attach_functor(
    [t](const caf::error&) { caf::anon_send_exit(t, caf::exit_reason::user_shutdown); });
  caf::scoped_actor self{sys};
  uint16_t port = 0;
  self->request(t, caf::infinite, transport::port_atom::value)
    .receive([&](uint16_t p) { port = p; }, [](caf::error&) {});
  self->send(owner, transport_ready_atom::value, t, port);
}

} // namespace meshrt
