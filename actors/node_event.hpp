#pragma once

#include <cstdint>
#include <string>

#include <caf/allowed_unsafe_message_type.hpp>

#include "actors/node_record.hpp"

namespace meshrt {

/// What a node tells its subscribers (subscribe_atom), one type for every
/// event: a subscriber handles `(const node_event&)` and switches on `what`.
/// The reference's callbacks are the kinds: OnReady, OnInitialSync,
/// OnUpdate, OnUpdated, OnSharedDataUpdate, OnSharedDataRemove.
struct node_event {
  enum class kind : uint8_t {
    /// The socket is bound (OnReady).
    ready,
    /// The first view from MARS is applied (OnInitialSync).
    initial_sync,
    /// An answer from MARS is about to be applied (OnUpdate; the
    /// reference's Update = "update").
    update,
    /// That answer is applied (OnUpdated).
    updated,
    /// `subject` (a mesh address) is in the view now.
    node_joined,
    /// `subject` left the view.
    node_left,
    /// `subject`'s status changed to `status`.
    node_status,
    /// `subject`'s type, role, endpoint or values changed.
    node_changed,
    /// Shared data `subject` is `value` now (OnSharedDataUpdate).
    shared_updated,
    /// Shared data `subject` is gone (OnSharedDataRemove).
    shared_removed,
    /// The node synced with MARS incarnation `incarnation` (the initial sync
    /// and after each MARS restart).
    mars_sync,
    /// MARS stopped answering; the view is kept.
    mars_lost,
  };

  kind what = kind::ready;
  /// A mesh address (node_*) or a shared data key (shared_*).
  std::string subject;
  node_status status = node_status::online; // node_status
  int16_t value = 0;                        // shared_updated
  uint64_t incarnation = 0;                 // mars_sync
};

/// "ready", "node_joined", ...
const char* to_string(node_event::kind what);

} // namespace meshrt

// Events go to actors of the same process only.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(meshrt::node_event)
