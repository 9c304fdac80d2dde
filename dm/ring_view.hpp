#pragma once

#include <atomic>
#include <memory>

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

private:
  std::shared_ptr<const hash_ring> ring_ = std::make_shared<const hash_ring>();
};

} // namespace meshrt
