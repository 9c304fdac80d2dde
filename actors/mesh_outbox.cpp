#include "actors/mesh_outbox.hpp"

#include <caf/all.hpp>

#include "transport/atoms.hpp"

namespace meshrt {

using transport::mesh_send_atom;

caf::actor mesh_outbox::link_of(caf::event_based_actor* self, const caf::actor& transport,
                                const std::string& peer) {
  auto i = links_.find(peer);
  if (i != links_.end()) {
    if (!i->second)
      return {}; // being asked for
    if (auto link = caf::actor_cast<caf::actor>(i->second))
      return link;
    // It went idle and ended: the transport starts a new one.
  }
  links_[peer] = caf::actor_addr{};
  // A malformed address is answered with an error: the entry stays empty
  // and every message keeps going through the transport, which reports it.
  self->request(transport, caf::infinite, transport::peer_atom::value, peer)
    .then([this, peer](caf::actor& link) { links_[peer] = link.address(); }, [](caf::error&) {});
  return {};
}

void mesh_outbox::queue_and_flush(caf::event_based_actor* self, const caf::actor& transport,
                                  const std::string& peer, byte_view bytes, bool reliable,
                                  transport::deferred_flush& deferred) {
  queue(self, transport, peer, bytes, reliable);
  if (deferred.now_or_later(self))
    flush(self, transport);
}

void mesh_outbox::send(caf::event_based_actor* self, const caf::actor& transport,
                       const std::string& peer, byte_buffer bytes, bool reliable, uint64_t tag) {
  if (auto h = held_.find(peer); h != held_.end()) {
    send_batch(self, transport, peer, h->second); // what was queued first goes first
    held_.erase(h);
  }
  if (auto link = link_of(self, transport, peer)) {
    if (tag == 0)
      self->send(link, mesh_send_atom::value, std::move(bytes), reliable);
    else
      self->send(link, mesh_send_atom::value, std::move(bytes), reliable, tag);
  } else if (tag == 0) {
    self->send(transport, mesh_send_atom::value, peer, std::move(bytes), reliable);
  } else {
    self->send(transport, mesh_send_atom::value, peer, std::move(bytes), reliable, tag);
  }
}

void mesh_outbox::queue(caf::event_based_actor* self, const caf::actor& transport,
                        const std::string& peer, byte_view bytes, bool reliable) {
  auto& h = held_[peer];
  if (!h.batch.empty() && h.reliable != reliable)
    send_batch(self, transport, peer, h);
  h.reliable = reliable;
  h.batch.add(bytes);
}

void mesh_outbox::flush(caf::event_based_actor* self, const caf::actor& transport) {
  for (auto& [peer, h] : held_)
    send_batch(self, transport, peer, h);
  held_.clear();
}

void mesh_outbox::send_batch(caf::event_based_actor* self, const caf::actor& transport,
                             const std::string& peer, held& h) {
  if (h.batch.empty())
    return;
  if (auto link = link_of(self, transport, peer))
    self->send(link, mesh_send_atom::value, std::move(h.batch), h.reliable);
  else
    self->send(transport, mesh_send_atom::value, peer, std::move(h.batch), h.reliable);
  h.batch = packed_messages{};
}

} // namespace meshrt
