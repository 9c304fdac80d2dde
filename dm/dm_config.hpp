#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "transport/secret_key.hpp"

namespace meshrt {

/// The client gateway's settings (dm_config holds them; config keys in
/// brackets).
struct client_gateway_config {
  /// Address to listen on (start_node sets the node's mesh address).
  std::string address;
  /// First port tried, scanning upward to a free one [clientPort, the flag
  /// --client-port]; 0: the node runs no gateway.
  uint16_t port = 0;
  /// The largest frame payload a client may send [clientMaxFrameSize].
  uint32_t max_frame_size = 1024 * 1024;
  /// Bytes of frames a client may leave unread (messages pushed to it, the
  /// results of its sends) before the gateway drops it (a slow client never
  /// stalls the node) [clientSendQueueBytes].
  uint32_t send_queue_bytes = 4 * 1024 * 1024;
  /// Bytes of a client's sends and clears on their way at most: taken from
  /// its socket and not yet done with (a send's outcome not known, a clear
  /// still in the queue), each counted as its peer's id and message plus
  /// 128 bytes for what the node keeps of it. Beyond it the gateway reads
  /// no more of that client's frames until half of that weight is done
  /// with, so TCP's flow control slows a client that sends faster than its
  /// messages are delivered, and its node's memory stays bounded; nothing
  /// is refused [clientPendingSendBytes].
  uint32_t pending_send_bytes = 4 * 1024 * 1024;
  /// Open client connections at most [clientMaxConnections]. At the limit
  /// a new connection makes the oldest one that has not logged in close
  /// (error too_many_connections), so silent sockets never lock users out;
  /// when every open one is a user's, the new one is refused.
  uint32_t max_connections = 10000;
  /// How long a connection may go without logging in before the gateway
  /// closes it (a client that connects and says nothing holds no socket
  /// for long) [clientLoginTimeout, milliseconds].
  std::chrono::milliseconds login_timeout{10000};
  /// The built-in send and clear frames [exposeCommands]; off, a client
  /// only logs in and receives (the application routes DMs itself).
  bool expose_commands = true;
  /// The key login tokens are checked with (dm/login_token.hpp), read from
  /// [clientTokenKeyFile]; none: the gateway runs open (any client may log
  /// in as any user) and says so once at start.
  std::optional<secret_key> token_key;
  /// The file token_key came from (shown by `meshrt config check`).
  std::string token_key_file;
};

/// Direct-message settings; names and defaults are those of dm-api.txt.
/// runtime/config.hpp reads them from a file.
struct dm_config {
  /// `dmEnabled` (meshrt's own; the reference's dm.Setup): each node runs a
  /// DM service (dm/dm_service.hpp).
  bool enabled = true;
  /// The client gateway (dm/client_gateway.hpp), meshrt's own keys but
  /// `exposeCommands` (the reference's ExposeCommands); its address is the
  /// node's.
  client_gateway_config gateway;
  /// `dmMessagesOutPerPeer` (meshrt's own): messages from one user to one
  /// peer on their way at once, each waiting for its answer; those behind
  /// wait in the sender's queue. Order holds whatever the number; 1 makes
  /// a burst to one peer take a round trip per message.
  uint32_t messages_out_per_peer = 64;
  /// `dmLocationHints` (meshrt's own): each node tells every other node
  /// which users log in and out on it, and a first message to a user goes
  /// straight to the node named so (dm/location_hints.hpp), where it took
  /// the hop through the storage node that owns the user's location. Costs
  /// each node about 14 bytes per user of the other nodes, and each login
  /// and logout a small message to every node. Off: every first message
  /// takes its lookup.
  bool location_hints = true;
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
  /// `storageRebuildWindow`, ms (meshrt's own): a slot taken over without
  /// its entries (their storage node died) gets them again from their
  /// owners; for this long a read of a key it lacks waits for the key
  /// instead of answering "not there" (a connected user's location on its
  /// way). 0: reads answer at once.
  std::chrono::milliseconds storage_rebuild_window{2000};
};

} // namespace meshrt
