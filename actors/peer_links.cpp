#include "actors/peer_links.hpp"

#include <caf/all.hpp>

#include "transport/atoms.hpp"

namespace meshrt {

void peer_links::send(caf::event_based_actor* self, const caf::actor& transport,
                      const std::string& peer, byte_buffer bytes, bool reliable, uint64_t tag) {
  using transport::mesh_send_atom;
  auto i = links_.find(peer);
  if (i != links_.end() && i->second) {
    if (tag == 0)
      self->send(i->second, mesh_send_atom::value, std::move(bytes), reliable);
    else
      self->send(i->second, mesh_send_atom::value, std::move(bytes), reliable, tag);
    return;
  }
  if (tag == 0)
    self->send(transport, mesh_send_atom::value, peer, std::move(bytes), reliable);
  else
    self->send(transport, mesh_send_atom::value, peer, std::move(bytes), reliable, tag);
  if (i != links_.end())
    return; // already asked
  links_.emplace(peer, caf::actor{});
  // A malformed address is answered with an error: the entry stays empty
  // and every message keeps going through the transport, which reports it.
  self->request(transport, caf::infinite, transport::peer_atom::value, peer)
    .then([this, peer](caf::actor& link) { links_[peer] = std::move(link); }, [](caf::error&) {});
}

} // namespace meshrt
