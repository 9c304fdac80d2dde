#include "runtime/metrics.hpp"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <initializer_list>
#include <optional>
#include <sstream>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/node_atoms.hpp"
#include "dm/dm_atoms.hpp"
#include "dm/store_atoms.hpp"
#include "runtime/node.hpp"
#include "runtime/prometheus_text.hpp"
#include "transport/atoms.hpp"
#include "transport/io_scheduler.hpp"

namespace meshrt {

namespace {

using json = nlohmann::json;
constexpr auto counter = metric_kind::counter;
constexpr auto gauge = metric_kind::gauge;

/// One actor's stats JSON, or nullopt when it did not answer in time. The
/// part's meshrt_scrape_part_up sample says which.
template<class Atom, class... Ts>
std::optional<json> ask_stats(prometheus_text& out, caf::scoped_actor& self, const caf::actor& dst,
                              std::chrono::milliseconds timeout, const std::string& part, Atom atom,
                              Ts... xs) {
  if (!dst)
    return std::nullopt;
  std::optional<json> doc;
  self->request(dst, timeout, atom, xs...)
    .receive(
      [&](const std::string& text) {
        auto parsed = json::parse(text, nullptr, false);
        if (parsed.is_object())
          doc = std::move(parsed);
      },
      [](caf::error&) {});
  out.add("meshrt_scrape_part_up", gauge,
          "1 if the part answered this scrape with its counters, 0 if not", doc ? 1 : 0,
          {{"part", part}});
  return doc;
}

double num(const json& j, const char* key) {
  auto i = j.find(key);
  return i != j.end() && i->is_number() ? i->get<double>() : 0.0;
}

/// The transport's own counters and, per peer link, its session's.
void add_transport(prometheus_text& out, const json& t) {
  out.add("meshrt_transport_datagrams_received_total", counter,
          "UDP datagrams the transport's socket received", num(t, "datagrams_received"));
  // The cluster key's guard, before any peer link sees a datagram.
  if (auto auth = t.find("auth"); auth != t.end() && auth->is_object()) {
    out.add("meshrt_transport_cluster_key", gauge, "1 if packets are sealed with a cluster key",
            auth->value("keyed", false) ? 1.0 : 0.0);
    if (auto dropped = auth->find("dropped"); dropped != auth->end() && dropped->is_object())
      for (const auto& [reason, n] : dropped->items())
        out.add("meshrt_transport_auth_dropped_total", counter,
                "Datagrams the cluster key's guard dropped, by reason",
                n.is_number() ? n.get<double>() : 0.0, {{"reason", reason}});
  }
  auto peers = t.find("peers");
  if (peers == t.end() || !peers->is_object())
    return;
  out.add("meshrt_transport_peers", gauge, "Peer links (one per remote address)",
          static_cast<double>(peers->size()));
  for (const auto& [peer, s] : peers->items()) {
    if (!s.is_object())
      continue;
    metric_labels p{{"peer", peer}};
    out.add("meshrt_transport_packets_received_total", counter, "Packets received from the peer",
            num(s, "datagrams_in"), p);
    out.add("meshrt_transport_packets_sent_total", counter, "Packets sent to the peer",
            num(s, "datagrams_out"), p);
    out.add("meshrt_transport_received_bytes_total", counter, "Bytes received from the peer",
            num(s, "bytes_in"), p);
    out.add("meshrt_transport_sent_bytes_total", counter, "Bytes sent to the peer",
            num(s, "bytes_out"), p);
    out.add("meshrt_transport_retransmits_total", counter, "Packets sent to the peer again",
            num(s, "retransmits"), p);
    out.add("meshrt_transport_retransmit_timeouts_total", counter,
            "Retransmission timers that expired", num(s, "timeouts"), p);
    out.add("meshrt_transport_give_ups_total", counter,
            "Reliable messages given up after retryTimeout", num(s, "give_ups"), p);
    out.add("meshrt_transport_abandoned_total", counter,
            "Times what the peer had not acknowledged failed at once: its port was closed and "
            "the cluster's view lost it",
            num(s, "abandoned"), p);
    out.add("meshrt_transport_peer_resets_total", counter,
            "Times the peer came back as a new incarnation", num(s, "peer_resets"), p);
    out.add("meshrt_transport_peer_restarts_total", counter,
            "Times the peer came back as a new session that had heard nothing from this node (a "
            "restart): what it had not acknowledged failed",
            num(s, "peer_restarts"), p);
    // Received packets that were not used, by why.
    for (auto [reason, key] : {std::pair{"malformed", "rejected"},
                               {"stale_epoch", "stale_epoch"},
                               {"duplicate", "duplicates"},
                               {"out_of_window", "out_of_window"},
                               {"bad_ack", "bad_acks"},
                               {"oversized", "oversized"}})
      out.add("meshrt_transport_dropped_packets_total", counter,
              "Received packets dropped, by reason", num(s, key),
              {{"peer", peer}, {"reason", reason}});
    out.add("meshrt_transport_rtt_seconds", gauge, "Smoothed round-trip time to the peer",
            num(s, "srtt_us") / 1e6, p);
    out.add("meshrt_transport_congestion_window_bytes", gauge,
            "Bytes the peer link may have in flight", num(s, "cwnd"), p);
    out.add("meshrt_transport_pending_segments", gauge,
            "Reliable segments queued or in flight to the peer", num(s, "pending_segments"), p);
  }
}

void add_node(prometheus_text& out, const json& n) {
  out.add("meshrt_view_nodes", gauge, "Nodes in this node's view of the cluster",
          num(n, "view_nodes"));
  out.add("meshrt_mars_member", gauge, "1 while MARS answers this node's heartbeats",
          n.value("part_of_cluster", false) ? 1 : 0);
  out.add("meshrt_mars_heartbeats_total", counter, "Heartbeats sent to MARS", num(n, "heartbeats"));
  out.add("meshrt_mars_answers_total", counter, "Answers received from MARS", num(n, "answers"));
  out.add("meshrt_mesh_messages_delivered_total", counter,
          "One-way mesh messages handed to handlers", num(n, "mesh_in"));
  out.add("meshrt_requests_handled_total", counter, "Requests from other nodes handled here",
          num(n, "requests_in"));
  out.add("meshrt_handler_errors_total", counter,
          "Handler answers that were errors (timeouts included)", num(n, "handler_errors"));
  out.add("meshrt_handler_timeouts_total", counter, "Handlers that did not answer in time",
          num(n, "handler_timeouts"));
  for (auto [reason, key] : {std::pair{"external", "dropped_external"},
                             {"malformed", "malformed"},
                             {"no_handler", "unhandled"},
                             {"mars_send_failed", "mars_send_failures"}})
    out.add("meshrt_mesh_dropped_total", counter, "Mesh messages not used, by reason", num(n, key),
            {{"reason", reason}});
  out.add("meshrt_fanout_received_total", counter, "SendMany messages received",
          num(n, "fanout_in"));
  out.add("meshrt_fanout_branches_lost_total", counter,
          "SendMany children found unreachable (their branches were sent on from here)",
          num(n, "fanout_rerouted"));
  out.add("meshrt_fanout_max_hops", gauge, "Most hops a SendMany message took to reach here",
          num(n, "fanout_max_hops"));
  auto c = n.find("correlator");
  if (c == n.end() || !c->is_object())
    return;
  out.add("meshrt_requests_sent_total", counter,
          "Requests this node sent for the application (its own health checks apart)",
          num(*c, "requests"));
  out.add("meshrt_responses_received_total", counter,
          "Responses matched to a pending request of the application", num(*c, "responses"));
  out.add("meshrt_requests_pending", gauge, "Requests waiting for their response",
          num(*c, "pending"));
  out.add("meshrt_request_timeouts_total", counter, "Requests that timed out", num(*c, "timeouts"));
  out.add("meshrt_request_network_failures_total", counter,
          "Requests that failed on the network (peer gone, retryTimeout)",
          num(*c, "network_failures"));
  out.add("meshrt_late_responses_total", counter, "Responses that came after their timeout",
          num(*c, "late_responses"));
  out.add("meshrt_health_checks_total", counter, "Health checks sent to peers",
          num(*c, "health_checks"));
  out.add("meshrt_request_probes_total", counter,
          "Of the health checks, those sent to a peer requests had waited on for a while",
          num(*c, "probes"));
  out.add("meshrt_unhealthy_peers", gauge, "Peers marked unhealthy", num(*c, "unhealthy_peers"));
}

/// A family with one sample, read from the part's stats JSON at `key`.
struct stat_family {
  const char* name;
  metric_kind kind;
  const char* help;
  const char* key;
};

void add_families(prometheus_text& out, const json& stats,
                  std::initializer_list<stat_family> families) {
  for (const auto& f : families)
    out.add(f.name, f.kind, f.help, num(stats, f.key));
}

void add_store(prometheus_text& out, const json& s) {
  add_families(
    out, s,
    {
      {"meshrt_store_entries", gauge, "Store entries held by this node's shards", "keys"},
      {"meshrt_store_entry_bytes", gauge, "Bytes of keys and values held here", "bytes"},
      {"meshrt_store_owned_entries", gauge,
       "Entries this node owns and re-asserts (its users' locations)", "owned_entries"},
      {"meshrt_store_ring_nodes", gauge, "Storage nodes on the hash ring", "ring_nodes"},
      {"meshrt_store_migrating_slots", gauge, "Slots being handed over or taken over",
       "migrations_in_flight"},
      {"meshrt_store_handed_over_slots_total", counter, "Slots handed to a new owner",
       "handed_over_slots"},
      {"meshrt_store_handed_over_keys_total", counter, "Keys handed to a new owner",
       "handed_over_keys"},
      {"meshrt_store_migrations_done_total", counter, "Handovers of slots to new owners finished",
       "migrations_done"},
      {"meshrt_store_taken_over_slots_total", counter, "Slots taken over from an old owner",
       "taken_over_slots"},
      {"meshrt_store_reasserted_total", counter, "Owned entries written again after a change",
       "reasserted"},
      {"meshrt_store_owned_taken_total", counter,
       "Owned entries another node wrote since, so no longer set again from here", "owned_taken"},
      {"meshrt_store_requests_total", counter, "Store requests issued by this node", "requests"},
      {"meshrt_store_forwarded_total", counter, "Store requests forwarded to another owner",
       "forwarded"},
      {"meshrt_store_reads_again_total", counter,
       "Reads sent again to a slot's new owner after their storage node left the view",
       "reads_again"},
      {"meshrt_store_writes_again_total", counter,
       "Writes sent again to a slot's new owner after their storage node died before it answered",
       "writes_again"},
      {"meshrt_store_requests_held_total", counter,
       "Requests held for this node's first ring, or for its ring to drop a storage node the "
       "view or their sender lost",
       "requests_held"},
      {"meshrt_store_timeouts_total", counter, "Store requests that timed out", "timeouts"},
      {"meshrt_store_malformed_total", counter, "Store messages dropped as malformed", "malformed"},
    });
  if (auto slots = s.find("slots"); slots != s.end() && slots->is_object())
    for (const auto& [mode, count] : slots->items())
      out.add("meshrt_store_slots", gauge, "Ring slots held here, by mode",
              count.is_number() ? count.get<double>() : 0.0, {{"mode", mode}});
}

void add_dm(prometheus_text& out, const json& d) {
  add_families(
    out, d,
    {
      {"meshrt_dm_connected_users", gauge, "Users with a session on this node", "users"},
      {"meshrt_dm_logins_total", counter, "User sessions started", "logins"},
      {"meshrt_dm_logouts_total", counter, "User sessions ended", "logouts"},
      {"meshrt_dm_received_remote_total", counter, "Direct messages from other nodes",
       "received_remote"},
      {"meshrt_dm_pending", gauge, "Sent messages waiting for their outcome", "pending"},
      {"meshrt_dm_timeouts_total", counter, "Sent messages without an outcome in time", "timeouts"},
      {"meshrt_dm_finds_total", counter, "First messages sent with their lookup (FindData)",
       "finds"},
      {"meshrt_dm_forwarded_total", counter, "FindData messages handed on from here", "forwarded"},
      {"meshrt_dm_finds_again_total", counter,
       "FindData sent again after its storage node left before it answered", "finds_again"},
      {"meshrt_dm_answered_again_total", counter,
       "Messages handed on again by a storage node, answered from memory, not delivered twice",
       "answered_again"},
      {"meshrt_dm_hinted_total", counter,
       "First messages sent straight to the node a location hint named", "hinted"},
      {"meshrt_dm_hint_misses_total", counter,
       "Of those, answered not_here (the hint was stale; then looked up)", "hint_misses"},
      {"meshrt_dm_location_hints", gauge, "Users of other nodes whose node this node knows",
       "hints"},
      {"meshrt_dm_channels_closed_total", counter, "Channel caches closed (disconnects)",
       "channels_closed"},
      {"meshrt_dm_clears_total", counter,
       "ClearCacheByUserID without a last message sent from this node (not counted as messages)",
       "clears"},
      {"meshrt_dm_malformed_total", counter, "DM messages dropped as malformed", "malformed"},
    });
  out.add("meshrt_dm_sent_total", counter, "Direct messages sent, by route", num(d, "sent_local"),
          {{"route", "local"}});
  out.add("meshrt_dm_sent_total", counter, "Direct messages sent, by route", num(d, "sent_remote"),
          {{"route", "remote"}});
  if (auto o = d.find("outcomes"); o != d.end() && o->is_object())
    for (const auto& [outcome, count] : o->items())
      out.add("meshrt_dm_outcomes_total", counter,
              "Delivery outcomes answered by this node, by kind (delivered or why not)",
              count.is_number() ? count.get<double>() : 0.0, {{"outcome", outcome}});
}

void add_gateway(prometheus_text& out, const json& g) {
  out.add("meshrt_gateway_connections_accepted_total", counter, "Client connections accepted",
          num(g, "accepted"));
  out.add("meshrt_gateway_connections", gauge, "Open client connections", num(g, "open"));
  out.add("meshrt_gateway_logins_total", counter, "Client logins", num(g, "logins"));
  out.add("meshrt_gateway_sends_total", counter, "Send frames taken from clients", num(g, "sends"));
  out.add("meshrt_gateway_frames_out_total", counter, "Frames written to clients",
          num(g, "frames_out"));
  out.add("meshrt_gateway_writes_total", counter,
          "Writes to client sockets (frames that leave together share one)", num(g, "writes"));
  out.add("meshrt_gateway_read_pauses_total", counter,
          "Times a client's frames were left unread while its sends and clears on their way "
          "weighed clientPendingSendBytes",
          num(g, "read_pauses"));
  out.add("meshrt_gateway_paused_connections", gauge,
          "Client connections whose frames are left unread now (clientPendingSendBytes)",
          num(g, "paused"));
  if (auto c = g.find("closed"); c != g.end() && c->is_object())
    for (const auto& [reason, count] : c->items())
      out.add("meshrt_gateway_connections_closed_total", counter,
              "Client connections closed, by reason", count.is_number() ? count.get<double>() : 0.0,
              {{"reason", reason}});
}

void add_mars(prometheus_text& out, const json& m) {
  out.add("meshrt_mars_uptime_seconds", gauge, "Seconds since this MARS started",
          num(m, "uptime_ms") / 1000);
  out.add("meshrt_mars_messages_received_total", counter, "Messages MARS decoded",
          num(m, "messages_in"));
  out.add("meshrt_mars_payload_received_bytes_total", counter, "Bytes of messages MARS decoded",
          num(m, "payload_in"));
  out.add("meshrt_mars_payload_sent_bytes_total", counter, "Bytes of messages MARS sent",
          num(m, "payload_out"));
  out.add("meshrt_mars_rejected_total", counter, "Messages MARS refused (malformed, foreign)",
          num(m, "rejected"));
  if (auto apps = m.find("apps"); apps != m.end() && apps->is_object()) {
    out.add("meshrt_mars_apps", gauge, "Apps with registered nodes",
            static_cast<double>(apps->size()));
    for (const auto& [app, a] : apps->items()) {
      out.add("meshrt_mars_nodes", gauge, "Registered nodes, by app", num(a, "nodes"),
              {{"app", app}});
      out.add("meshrt_mars_shared_keys", gauge, "Shared data keys, by app", num(a, "shared"),
              {{"app", app}});
    }
  }
}

/// process_* as Prometheus's client libraries name them, from /proc.
/// The I/O scheduler's sleeps, where the process runs one
/// (scheduling::efficiency).
void add_worker(prometheus_text& out, caf::actor_system& sys) {
  auto sleeps = transport::io_worker_sleeps(sys);
  if (sleeps >= 0)
    out.add("meshrt_worker_sleeps_total", counter,
            "Times the worker ran out of work and, its idle spin over, slept",
            static_cast<double>(sleeps));
}

void add_process(prometheus_text& out) {
  auto page = static_cast<double>(sysconf(_SC_PAGESIZE));
  auto ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  std::ifstream statm{"/proc/self/statm"};
  double size = 0;
  double resident = 0;
  if (statm >> size >> resident) {
    out.add("process_resident_memory_bytes", gauge, "Resident memory size in bytes",
            resident * page);
    out.add("process_virtual_memory_bytes", gauge, "Virtual memory size in bytes", size * page);
  }
  std::ifstream stat{"/proc/self/stat"};
  std::string line;
  if (std::getline(stat, line)) {
    // Fields after the command name, which is in parentheses and may
    // hold spaces: state is field 3, utime 14, stime 15.
    std::istringstream rest{line.substr(line.rfind(')') + 2)};
    std::string field;
    double utime = 0;
    double stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14)
        utime = std::stod(field);
      if (i == 15)
        stime = std::stod(field);
    }
    out.add("process_cpu_seconds_total", counter, "User and system CPU time in seconds",
            (utime + stime) / ticks);
  }
  if (auto* dir = opendir("/proc/self/fd")) {
    double fds = 0;
    while (auto* e = readdir(dir))
      fds += e->d_name[0] != '.' ? 1 : 0;
    closedir(dir);
    out.add("process_open_fds", gauge, "Open file descriptors", fds - 1); // less this opendir's
  }
  out.add("process_max_fds", gauge, "Limit of open file descriptors",
          static_cast<double>(sysconf(_SC_OPEN_MAX)));
}

} // namespace

std::string node_metrics(caf::actor_system& sys, const node& n, std::chrono::milliseconds timeout) {
  prometheus_text out;
  caf::scoped_actor self{sys};
  if (auto j = ask_stats(out, self, n.actor(), timeout, "node", transport::stats_atom::value))
    add_node(out, *j);
  caf::actor transport;
  self->request(n.actor(), timeout, transport_atom::value)
    .receive([&](caf::actor& t) { transport = std::move(t); }, [](caf::error&) {});
  if (auto j = ask_stats(out, self, transport, timeout, "transport", transport::stats_atom::value))
    add_transport(out, *j);
  if (auto j = ask_stats(out, self, n.store(), timeout, "store", store_stats_atom::value))
    add_store(out, *j);
  if (auto j = ask_stats(out, self, n.dm(), timeout, "dm", dm_stats_atom::value))
    add_dm(out, *j);
  if (auto j = ask_stats(out, self, n.gateway(), timeout, "gateway", gateway_stats_atom::value))
    add_gateway(out, *j);
  add_worker(out, sys);
  add_process(out);
  return out.render();
}

std::string mars_metrics(caf::actor_system& sys, const caf::actor& mars,
                         std::chrono::milliseconds timeout) {
  prometheus_text out;
  caf::scoped_actor self{sys};
  if (auto j = ask_stats(out, self, mars, timeout, "mars", transport::stats_atom::value)) {
    add_mars(out, *j);
    if (auto t = j->find("transport"); t != j->end() && t->is_object())
      add_transport(out, *t);
  }
  add_worker(out, sys);
  add_process(out);
  return out.render();
}

} // namespace meshrt
