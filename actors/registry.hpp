#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "actors/node_record.hpp"
#include "actors/view_delta.hpp"

namespace meshrt {

/// The longest shared data key (mesh-api.txt, SetSharedData).
constexpr size_t max_shared_key_length = 54;

/// MARS's registry, free of sockets and clocks: soft-state node records and
/// shared data per app namespace (SetAppName), with heartbeat expiry and
/// versioned deltas.
///
/// Every real change (a node joins, changes its record, leaves or expires; a
/// shared value is set or removed) gets the app's next version number. A
/// heartbeat that changes nothing only refreshes the node's last-seen time,
/// so at steady state a node's "what changed since version V" is empty and
/// MARS traffic stays a few bytes per node and heartbeat however large the
/// cluster. Removals leave tombstones for `tombstone_us`; a node asking from
/// before the oldest tombstone still kept gets the full view instead.
class registry {
public:
  struct options {
    /// A node silent this long is removed (default: 3 heartbeats of 500 ms).
    uint64_t expiry_us = 1'500'000;
    /// How long removals are remembered for deltas.
    uint64_t tombstone_us = 30'000'000;
    /// This registry's incarnation; MARS uses its start time (wall clock),
    /// so a restarted MARS never continues an old numbering.
    uint64_t epoch = 1;
    /// Until this time (same clock as every `now_us`), the registry is
    /// warming up after a start: nodes that hold a view of an earlier
    /// incarnation get an empty answer instead of a full view, so that they
    /// do not see every node that has not re-announced yet leave and come
    /// back. One expiry period is enough for every live node to re-announce.
    uint64_t warmup_until_us = 0;
  };

  /// One node as `meshrt status` shows it.
  struct node_entry {
    node_record record;
    uint64_t last_seen_us = 0;
  };

  registry() = default;
  explicit registry(options opts);

  /// A node's announcement or heartbeat. Returns true if the view changed
  /// (new node or different record).
  bool announce(const std::string& app, node_record record, uint64_t now_us);

  /// A node leaves on purpose (shutdown). Returns true if it was known.
  bool remove(const std::string& app, const std::string& mesh_address, uint64_t now_us);

  /// Removes every node silent for longer than expiry_us and forgets old
  /// tombstones. Returns (app, mesh address) of the removed nodes.
  std::vector<std::pair<std::string, std::string>> expire(uint64_t now_us);

  /// SetSharedData. Throws std::invalid_argument if `key` is empty or longer
  /// than max_shared_key_length. Returns true if the value changed.
  bool set_shared(const std::string& app, const std::string& key, int16_t value);

  /// RemoveSharedData. Returns true if the key existed.
  bool remove_shared(const std::string& app, const std::string& key, uint64_t now_us);

  /// What changed in `app` after version `since` of incarnation `epoch`.
  /// Version 0, another incarnation or a version from before the oldest
  /// tombstone gives the full view.
  view_delta delta_since(const std::string& app, uint64_t epoch, uint64_t since) const;

  /// The answer to a node's heartbeat holding version `since` of incarnation
  /// `epoch`: delta_since, except while warming up, when a node holding a
  /// view of an earlier incarnation gets an empty, partial delta of this one
  /// (it keeps its view; cluster_view ignores such a delta).
  view_delta answer(const std::string& app, uint64_t epoch, uint64_t since, uint64_t now_us) const;

  /// While warming up: shared data a node's view still holds from before a
  /// restart is taken back, unless the key is known or was removed since.
  /// Keys longer than max_shared_key_length are skipped. Returns how many
  /// were taken.
  size_t restore_shared(const std::string& app,
                        const std::vector<std::pair<std::string, int16_t>>& values,
                        uint64_t now_us);

  /// True until options::warmup_until_us.
  bool warming_up(uint64_t now_us) const {
    return now_us < opts_.warmup_until_us;
  }

  uint64_t epoch() const {
    return opts_.epoch;
  }

  /// The current version of `app`'s view (0 if the app is unknown).
  uint64_t version(const std::string& app) const;

  /// Whether `mesh_address` is a node of `app`.
  bool has(const std::string& app, const std::string& mesh_address) const;

  /// Every node of `app`, ordered by mesh address.
  std::vector<node_entry> nodes(const std::string& app) const;

  /// The shared data of `app`, ordered by key.
  std::vector<std::pair<std::string, int16_t>> shared(const std::string& app) const;

  /// Every app with at least one node or shared value.
  std::vector<std::string> apps() const;

private:
  struct stamped_record {
    node_record record;
    uint64_t changed_at = 0; // version
    uint64_t last_seen_us = 0;
  };

  struct stamped_value {
    int16_t value = 0;
    uint64_t changed_at = 0;
  };

  struct tombstone {
    uint64_t version = 0;
    uint64_t at_us = 0;
  };

  struct app_state {
    uint64_t version = 0;
    /// Versions at or below this may have lost tombstones: deltas from
    /// there are sent full.
    uint64_t floor = 0;
    std::map<std::string, stamped_record> nodes;
    std::map<std::string, tombstone> removed_nodes;
    std::map<std::string, stamped_value> shared;
    std::map<std::string, tombstone> removed_shared;
  };

  void bury(app_state& st, std::map<std::string, tombstone>& graves, const std::string& name,
            uint64_t now_us);

  options opts_;
  std::map<std::string, app_state> apps_;
};

} // namespace meshrt
