#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace meshrt {

/// Direct-message settings; names and defaults are those of dm-api.txt.
/// runtime/config.hpp reads them from a file.
struct dm_config {
  /// `dmEnabled` (meshrt's own; the reference's dm.Setup): each node runs a
  /// DM service (dm/dm_service.hpp).
  bool enabled = true;
  /// `storageTargetNodeType`: node type that hosts user-location shards.
  std::string storage_target_node_type = "HTTP";
  /// `storageRingSize`: slots of the hash ring (must exceed the node count).
  uint32_t storage_ring_size = 300;
  /// `storageMigration`: move keys when storage nodes join or leave.
  bool storage_migration = true;
  /// `storageMigrationBatchSize`: keys per migration message.
  uint32_t storage_migration_batch_size = 10;
  /// `storageMigrationInterval`, ms: pause between migration batches.
  std::chrono::milliseconds storage_migration_interval{1};
};

} // namespace meshrt
