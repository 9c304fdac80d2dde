#include "actors/mesh_outbox.hpp"

#include <caf/all.hpp>

#include "transport/atoms.hpp"

namespace meshrt {

using transport::mesh_send_atom;

caf::actor mesh_outbox::link_of(caf::event_based_actor* self, const caf::actor& transport,
                                const std::string& peer, bool& asking) {
  asking = waiting_.count(peer) != 0;
  if (asking)
    return {};
  auto i = links_.find(peer);
  if (i != links_.end()) {
    if (!i->second)
      return {}; // the transport named no link: through it, which reports why
    if (auto link = caf::actor_cast<caf::actor>(i->second))
      return link;
    // It went idle and ended: the transport starts a new one.
  }
  links_[peer] = caf::actor_addr{};
  waiting_[peer];
  asking = true;
  auto release = [this, self, transport, peer](const caf::actor& link) {
    auto w = waiting_.find(peer);
    if (w == waiting_.end())
      return;
    auto messages = std::move(w->second);
    waiting_.erase(w);
    for (auto& m : messages)
      deliver(self, link, transport, peer, m);
  };
  self->request(transport, caf::infinite, transport::peer_atom::value, peer)
    .then(
      [this, peer, release](caf::actor& link) {
        links_[peer] = link.address();
        release(link);
      },
      [release](caf::error&) { release(caf::actor{}); });
  return {};
}

void mesh_outbox::deliver(caf::event_based_actor* self, const caf::actor& link,
                          const caf::actor& transport, const std::string& peer, waiting& m) {
  if (link && m.is_batch)
    self->send(link, mesh_send_atom::value, std::move(m.batch), m.reliable);
  else if (link && m.tag == 0)
    self->send(link, mesh_send_atom::value, std::move(m.bytes), m.reliable);
  else if (link)
    self->send(link, mesh_send_atom::value, std::move(m.bytes), m.reliable, m.tag);
  else if (m.is_batch)
    self->send(transport, mesh_send_atom::value, peer, std::move(m.batch), m.reliable);
  else if (m.tag == 0)
    self->send(transport, mesh_send_atom::value, peer, std::move(m.bytes), m.reliable);
  else
    self->send(transport, mesh_send_atom::value, peer, std::move(m.bytes), m.reliable, m.tag);
}

void mesh_outbox::post(caf::event_based_actor* self, const caf::actor& transport,
                       const std::string& peer, waiting m) {
  bool asking = false;
  auto link = link_of(self, transport, peer, asking);
  if (asking)
    waiting_[peer].push_back(std::move(m));
  else
    deliver(self, link, transport, peer, m);
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
  waiting m;
  m.bytes = std::move(bytes);
  m.is_batch = false;
  m.reliable = reliable;
  m.tag = tag;
  post(self, transport, peer, std::move(m));
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
  waiting m;
  m.batch = std::move(h.batch);
  m.reliable = h.reliable;
  post(self, transport, peer, std::move(m));
  h.batch = packed_messages{};
}

} // namespace meshrt
