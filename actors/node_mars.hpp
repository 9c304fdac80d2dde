#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/response_promise.hpp>

#include "actors/mars_protocol.hpp"
#include "actors/node_fwd.hpp"
#include "transport/byte_view.hpp"

namespace meshrt {

/// How long MARS may stay silent before the node counts as cut off
/// (IsPartOfCluster false, mars_lost event): the reference's two seconds.
constexpr uint64_t mars_silence_us = 2'000'000;

/// How often at most a node reports one member's port closed to MARS while
/// its datagrams to it keep bouncing (mars_suspect).
constexpr uint64_t suspect_report_interval_us = 250'000;

/// The node's part that keeps up with MARS: heartbeats out, views in, and
/// whether MARS answers.
struct mars_sync {
  std::string address; // "a.b.c.d:port"; empty until resolved
  uint64_t resolved_us = 0;
  uint64_t last_answer_us = 0; // 0: never answered
  bool answering = false;
  uint64_t answering_epoch = 0; // the incarnation of MARS's last answer
  uint64_t synced_epoch = 0;    // the incarnation the view last synced with
  bool initial_synced = false;
  bool left = false; // sent mars_leave: no more heartbeats
  uint64_t started_us = 0;
  bool warned_unanswered = false;
  /// WaitForLatestNodeData callers, with the answers each still waits for.
  std::vector<std::pair<int, caf::response_promise>> latest_waiters;
  uint64_t resolutions = 0; // name look-ups of MARS's address (marsAddressCacheTTL)
  uint64_t heartbeats = 0;
  uint64_t answers = 0;
  uint64_t malformed = 0;
  uint64_t send_failures = 0;
  /// Members reported to MARS as closed (mars_suspect), with the time of
  /// the last report; and MARS's probes of this node, ignored.
  std::unordered_map<std::string, uint64_t> reported_closed;
  uint64_t suspects_reported = 0;
  uint64_t probes = 0;
};

/// MARS's "a.b.c.d:port", resolved again once marsAddressCacheTTL passed;
/// empty while the name does not resolve.
const std::string& mars_address(node_actor* self, uint64_t now);

/// Sends one record to MARS (nothing while its address is unknown).
void send_to_mars(node_actor* self, const mars_message& msg, bool reliable);

/// This node's record and view version to MARS, which answers with what
/// changed since.
void heartbeat(node_actor* self);

/// Logs (once) that MARS never answered, and publishes mars_lost when an
/// answering MARS falls silent.
void check_mars_silence(node_actor* self, uint64_t now);

/// A record from MARS's address: a view answer is applied and published.
void on_mars_message(node_actor* self, byte_view bytes);

/// The transport says `peer`'s port is closed (ICMP port unreachable): a
/// member is reported to MARS (mars_suspect), which checks and removes it
/// without waiting for its heartbeats to expire.
void on_peer_unreachable(node_actor* self, const std::string& peer);

/// IsPartOfCluster: MARS answered within mars_silence_us.
bool is_member(const mars_sync& mars, uint64_t now);

} // namespace meshrt
