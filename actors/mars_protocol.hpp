#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "actors/node_record.hpp"
#include "actors/view_delta.hpp"
#include "transport/byte_buffer.hpp"
#include "transport/byte_view.hpp"

namespace meshrt {

/// A node's heartbeat to MARS: its record, and the registry incarnation and
/// version its view is at, so that MARS answers with only what is new.
struct mars_announce {
  std::string app;
  node_record record;
  uint64_t epoch = 0;
  uint64_t version = 0;
  /// A guest (mesh-api.txt, Guest) gets the view but is not listed in it.
  bool guest = false;
  /// After a MARS restart: the shared data the node's view still holds, so
  /// that a restarted MARS gets back what it forgot (it keeps shared data in
  /// memory only). Empty otherwise.
  std::vector<std::pair<std::string, int16_t>> restore_shared;
};

/// A node leaving on purpose (after SIGTERM and draining).
struct mars_leave {
  std::string app;
  std::string mesh_address;
};

/// SetSharedData / RemoveSharedData.
struct mars_shared {
  std::string app;
  std::string key;
  int16_t value = 0;
  bool remove = false;
};

/// An operator's question (`meshrt status`): every node of `app` with the age
/// of its last heartbeat, and the shared data. Registers nothing.
struct mars_status_request {
  std::string app;
};

/// MARS's answer to mars_status_request.
struct mars_status {
  struct entry {
    node_record record;
    uint64_t last_seen_ms = 0; // age of the last heartbeat
  };
  std::vector<entry> nodes;
  std::vector<std::pair<std::string, int16_t>> shared;
  /// MARS's own counters (all apps), for operators and `meshrt bench
  /// membership`: messages decoded, and bytes on the wire (UDP payloads:
  /// RUDP headers, acknowledgements and retransmissions included).
  uint64_t uptime_ms = 0;
  uint64_t messages_in = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
};

/// A node's report that a member's port is closed: a datagram to
/// `mesh_address` came back as ICMP port unreachable (its process died, on
/// this host or a LAN). MARS checks for itself with a mars_probe and, when
/// its own datagram bounces as well, removes the member at once instead of
/// after its heartbeats' expiry and sends every member the change, from the
/// view its last heartbeat named. A report about a node MARS no longer has
/// gets the reporter the change from `epoch` and `version`, its view's.
/// Reported again while the member stays in the reporter's view, at most a
/// few times a second.
struct mars_suspect {
  std::string app;
  std::string mesh_address;
  uint64_t epoch = 0;
  uint64_t version = 0;
};

/// MARS's check of a suspected member: a datagram that a live node takes
/// and ignores, and whose bounce tells MARS the port is closed.
struct mars_probe {};

/// Everything that travels between nodes and MARS. MARS answers every
/// announce with a view_delta and every status request with a status.
using mars_message = std::variant<mars_announce, mars_leave, mars_shared, view_delta,
                                  mars_status_request, mars_status, mars_suspect, mars_probe>;

/// The mesh layer's kind byte for MARS records (mesh_envelope.hpp), then msgpack:
/// an array whose first element names the record.
byte_buffer encode(const mars_message& msg);

/// Decodes one message. Returns nullopt and sets `error` (one line) on any
/// malformed input; never throws.
std::optional<mars_message> decode_mars(byte_view bytes, std::string& error);

} // namespace meshrt
