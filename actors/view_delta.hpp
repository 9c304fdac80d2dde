#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "actors/node_record.hpp"

namespace meshrt {

/// What changed in one app's cluster view between two versions, as MARS
/// sends it to a node. A full delta replaces the node's whole view.
struct view_delta {
  /// The registry's incarnation (a restarted MARS has a new one); versions
  /// of different incarnations are not comparable.
  uint64_t epoch = 0;
  /// The view's version once this delta is applied.
  uint64_t version = 0;
  /// True: `upserts` and `shared_set` are the whole view, not changes.
  bool full = false;
  /// New or changed node records.
  std::vector<node_record> upserts;
  /// Mesh addresses of nodes that left or expired.
  std::vector<std::string> removed;
  /// New or changed shared data.
  std::vector<std::pair<std::string, int16_t>> shared_set;
  /// Removed shared data keys.
  std::vector<std::string> shared_removed;

  bool empty() const {
    return !full && upserts.empty() && removed.empty() && shared_set.empty()
           && shared_removed.empty();
  }
};

} // namespace meshrt
