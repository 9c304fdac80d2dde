#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include <caf/actor.hpp>

#include "dm/hash_ring.hpp"

namespace meshrt {

/// The store service's ring as the other actors of its node read it: the
/// latest ring, as an immutable snapshot the service replaces whenever the
/// ring changes. The DM service finds the owner of a user's location here
/// without a message to the store service and back (a first message's
/// lookup); whatever asks the store itself meets the same ring there.
class ring_view {
public:
  /// The ring now (empty before the first one).
  std::shared_ptr<const hash_ring> load() const {
    return std::atomic_load(&ring_);
  }

  /// The store service's ring changed (its thread only).
  void publish(const hash_ring& ring) {
    std::atomic_store(&ring_, std::make_shared<const hash_ring>(ring));
  }

  /// The location shard of `group` on this node (dm/location_shard.hpp),
  /// null if the node never had a slot of it. The owner of a user's
  /// location asks it directly for a first message's lookup: two messages
  /// between actors instead of four through the store service.
  caf::actor shard_of_group(uint16_t group) const {
    auto shards = std::atomic_load(&shards_);
    return group < shards->size() ? (*shards)[group] : caf::actor{};
  }

  /// The store service spawned a shard (its thread only).
  void publish_shards(const std::vector<caf::actor>& groups) {
    std::atomic_store(&shards_, std::make_shared<const std::vector<caf::actor>>(groups));
  }

private:
  std::shared_ptr<const hash_ring> ring_ = std::make_shared<const hash_ring>();
  std::shared_ptr<const std::vector<caf::actor>> shards_
    = std::make_shared<const std::vector<caf::actor>>();
};

} // namespace meshrt
