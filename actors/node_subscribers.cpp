#include "actors/node_subscribers.hpp"

#include <algorithm>

#include <caf/all.hpp>

#include "actors/node_state.hpp"

namespace meshrt {

void publish(node_actor* self, const node_event& ev) {
  for (const auto& sub : self->state.subscribers)
    self->send(sub, ev);
}

void publish(node_actor* self, node_event::kind what) {
  node_event ev;
  ev.what = what;
  publish(self, ev);
}

void subscribe(node_actor* self, const caf::actor& sub) {
  auto& st = self->state;
  if (std::find(st.subscribers.begin(), st.subscribers.end(), sub) != st.subscribers.end())
    return;
  st.subscribers.push_back(sub);
  self->monitor(sub);
  auto event = [&](node_event::kind what, std::string subject = {}) {
    node_event ev;
    ev.what = what;
    ev.subject = std::move(subject);
    return ev;
  };
  if (st.ready)
    self->send(sub, event(node_event::kind::ready));
  for (const auto& addr : st.view.addresses())
    self->send(sub, event(node_event::kind::node_joined, addr));
  for (const auto& [key, value] : st.view.shared_data()) {
    auto ev = event(node_event::kind::shared_updated, key);
    ev.value = value;
    self->send(sub, ev);
  }
  if (st.mars.initial_synced) {
    self->send(sub, event(node_event::kind::initial_sync));
    auto ev = event(node_event::kind::mars_sync);
    ev.incarnation = st.mars.synced_epoch;
    self->send(sub, ev);
  }
}

void unsubscribe(node_actor* self, const caf::actor_addr& sub) {
  auto& subs = self->state.subscribers;
  subs.erase(std::remove(subs.begin(), subs.end(), sub), subs.end());
}

} // namespace meshrt
