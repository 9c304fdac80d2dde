#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include <caf/actor.hpp>

#include "transport/packed_messages.hpp"

namespace meshrt::transport {

/// Who gets the messages a peer link delivers. The layer above puts its
/// message kind into the first byte (actors/mesh_envelope.hpp); a kind with
/// a route of its own goes to that route's actor, every other message (an
/// empty one too) to the receiver the transport was spawned with. A node
/// routes responses to its request correlator this way, so that they reach
/// it without a detour through the node.
class delivery_routes {
public:
  explicit delivery_routes(caf::actor receiver) : receiver_(std::move(receiver)) {}

  /// Messages whose first byte is `kind` go to `to` from now on (an
  /// invalid handle: back to the receiver).
  void set(uint8_t kind, caf::actor to);

  /// Splits one delivered burst by destination and calls f(actor, batch) for
  /// each, in the order the destinations first appear; each destination gets
  /// its messages in the order they came. Without routes, or when every
  /// message goes to one actor, the batch passes on whole, uncopied.
  template<class F>
  void deliver(packed_messages&& batch, F&& f) const {
    if (routes_.empty()) {
      f(receiver_, std::move(batch));
      return;
    }
    const caf::actor* only = nullptr;
    bool mixed = false;
    for (auto m : batch.views()) {
      const auto& to = destination(m);
      if (only == nullptr)
        only = &to;
      else if (*only != to)
        mixed = true;
    }
    if (!mixed) {
      f(only ? *only : receiver_, std::move(batch));
      return;
    }
    std::vector<std::pair<const caf::actor*, packed_messages>> parts;
    for (auto m : batch.views()) {
      const auto* to = &destination(m);
      auto i = parts.begin();
      while (i != parts.end() && *i->first != *to)
        ++i;
      if (i == parts.end())
        i = parts.insert(parts.end(), {to, packed_messages{}});
      i->second.add(m);
    }
    for (auto& [to, part] : parts)
      f(*to, std::move(part));
  }

  /// Who gets what has no route of its own.
  const caf::actor& receiver() const {
    return receiver_;
  }

private:
  const caf::actor& destination(byte_view message) const {
    if (!message.empty())
      for (const auto& [kind, to] : routes_)
        if (kind == message[0])
          return to;
    return receiver_;
  }

  caf::actor receiver_;
  /// Few routes (one per layer that wants its own kinds): a scan is fastest.
  std::vector<std::pair<uint8_t, caf::actor>> routes_;
};

} // namespace meshrt::transport
