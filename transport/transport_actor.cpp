#include "transport/transport_actor.hpp"

#include <unordered_map>
#include <unordered_set>

#include <caf/all.hpp>

#include "transport/atoms.hpp"
#include "transport/clock.hpp"
#include "transport/delivery_routes.hpp"
#include "transport/io_scheduler.hpp"
#include "transport/link_directory.hpp"
#include "transport/logger.hpp"
#include "transport/packet_guard.hpp"
#include "transport/peer_link.hpp"
#include "transport/receive_loop.hpp"
#include "transport/send_error.hpp"
#include "transport/udp_socket.hpp"

#include <spdlog/spdlog.h>

namespace meshrt::transport {

namespace {

struct transport_state {
  std::shared_ptr<udp_socket> sock;
  std::shared_ptr<packet_guard> guard;
  std::shared_ptr<link_directory> directory = std::make_shared<link_directory>();
  std::shared_ptr<receive_loop> loop;
  std::unordered_map<endpoint, caf::actor> links;
  /// Links ended for idleness.
  uint64_t links_closed = 0;
  /// Peers whose port was reported closed (ICMP port unreachable).
  uint64_t unreachable = 0;
  /// Peers the cluster's view lost (peer_gone_atom), for links to come.
  std::unordered_set<endpoint> gone;
  transport_config cfg;
  /// Every peer link, present and future, delivers by these.
  delivery_routes routes{caf::actor{}};

  static inline const char* name = "meshrt.transport";
};

using transport_actor = caf::stateful_actor<transport_state>;

caf::actor link_for(transport_actor* self, const endpoint& peer) {
  auto& st = self->state;
  auto i = st.links.find(peer);
  if (i != st.links.end())
    return i->second;
  auto link = spawn_peer_link(self, peer, st.sock, st.guard, st.routes, st.cfg.session,
                              st.cfg.faults, st.cfg.link_idle_timeout);
  st.links.emplace(peer, link);
  st.directory->add(peer, link);
  if (st.gone.count(peer) != 0)
    self->send(link, peer_gone_atom::value, true);
  return link;
}

caf::error invalid_address(const std::string& peer) {
  return make_send_error(send_errc::invalid_address,
                         "'" + peer + "' is not a mesh address (a.b.c.d:port)");
}

/// The peer link of a mesh address; a malformed one is reported to the
/// sender and yields an invalid handle.
caf::actor link_or_report(transport_actor* self, const std::string& peer) {
  if (auto addr = endpoint::parse(peer))
    return link_for(self, *addr);
  if (auto sender = self->current_sender())
    caf::anon_send(caf::actor_cast<caf::actor>(sender), send_failed_atom::value, peer,
                   invalid_address(peer));
  return {};
}

/// {"keyed": bool, "dropped": {verdict: count}}.
std::string guard_json(const packet_guard& g) {
  std::string out
    = std::string{"{\"keyed\": "} + (g.keyed() ? "true" : "false") + ", \"dropped\": {";
  bool first = true;
  for (auto v : {guard_verdict::unauthenticated, guard_verdict::bad_mac, guard_verdict::replayed,
                 guard_verdict::stale_epoch, guard_verdict::unexpected_mac,
                 guard_verdict::unsupported_cipher, guard_verdict::refused_by_peer}) {
    out
      += (first ? "\"" : ", \"") + std::string{to_string(v)} + "\": " + std::to_string(g.count(v));
    first = false;
  }
  return out + "}}";
}

caf::behavior transport(transport_actor* self, std::shared_ptr<udp_socket> sock,
                        transport_config cfg, caf::actor receiver) {
  auto& st = self->state;
  st.sock = std::move(sock);
  st.cfg = std::move(cfg);
  st.routes = delivery_routes{std::move(receiver)};
  // The epoch orders this run's packets after any earlier run's from the
  // same address (replay protection).
  st.guard
    = std::make_shared<packet_guard>(st.cfg.cluster_key, wall_micros() * 1000, st.sock->local());
  st.loop = std::make_shared<receive_loop>(st.sock, st.directory, st.guard,
                                           caf::actor_cast<caf::actor>(self),
                                           io_poller_of(self->system()));
  // Runs when the actor terminates, for whatever reason: reading stops
  // before the socket closes, and peer links are released.
  self->attach_functor([loop = st.loop, directory = st.directory] {
    loop->stop();
    directory->clear();
  });
  logger("transport")->debug("mesh socket bound to {}", st.sock->local().to_string());
  return {
    [=](mesh_send_atom, const std::string& peer, byte_buffer& data, bool reliable) {
      if (auto link = link_or_report(self, peer))
        self->delegate(link, mesh_send_atom::value, std::move(data), reliable);
    },
    [=](mesh_send_atom, const std::string& peer, byte_buffer& data, bool reliable, uint64_t tag) {
      if (auto link = link_or_report(self, peer))
        self->delegate(link, mesh_send_atom::value, std::move(data), reliable, tag);
    },
    [=](mesh_send_atom, const std::string& peer, std::vector<byte_buffer>& batch, bool reliable) {
      if (auto link = link_or_report(self, peer))
        self->delegate(link, mesh_send_atom::value, std::move(batch), reliable);
    },
    [=](mesh_send_atom, const std::string& peer, packed_messages& messages, bool reliable) {
      if (auto link = link_or_report(self, peer))
        self->delegate(link, mesh_send_atom::value, std::move(messages), reliable);
    },
    [=](peer_atom, const std::string& peer) -> caf::result<caf::actor> {
      auto addr = endpoint::parse(peer);
      if (!addr)
        return invalid_address(peer);
      return link_for(self, *addr);
    },
    [=](datagram_atom, uint32_t address, uint16_t port, packed_messages& datagrams) {
      // First contact from a new address: its datagrams come through here
      // once, later ones go to the new peer link directly.
      self->send(link_for(self, endpoint{address, port}), datagram_atom::value,
                 std::move(datagrams));
    },
    [=](unreachable_atom, uint32_t address, uint16_t port) {
      // Only the receiver can tell what it means (a member gone, a client
      // of a status query that quit): it hears of it and decides.
      auto& st = self->state;
      ++st.unreachable;
      endpoint peer{address, port};
      self->send(st.routes.receiver(), unreachable_atom::value, peer.to_string());
      if (auto i = st.links.find(peer); i != st.links.end())
        self->send(i->second, unreachable_atom::value);
    },
    [=](peer_gone_atom, const std::string& peer, bool gone) {
      auto addr = endpoint::parse(peer);
      if (!addr)
        return;
      auto& st = self->state;
      if (!gone)
        st.gone.erase(*addr);
      else if (st.gone.size() < max_gone_peers)
        st.gone.insert(*addr);
      if (auto i = st.links.find(*addr); i != st.links.end())
        self->send(i->second, peer_gone_atom::value, gone);
    },
    [=](route_atom, uint8_t kind, const caf::actor& to) {
      self->state.routes.set(kind, to);
      for (auto& [peer, link] : self->state.links)
        self->send(link, route_atom::value, kind, to);
    },
    [=](link_idle_atom, uint32_t address, uint16_t port) {
      // The link forwards from now on: whatever comes next for the peer
      // starts a new one (in a new epoch), and the old one ends once
      // nobody holds its handle.
      auto& st = self->state;
      endpoint peer{address, port};
      auto i = st.links.find(peer);
      if (i == st.links.end() || i->second != caf::actor_cast<caf::actor>(self->current_sender()))
        return;
      st.links.erase(i);
      st.directory->remove(peer);
      ++st.links_closed;
    },
    [=](port_atom) { return self->state.sock->local().port; },
    [=](faults_atom, double drop_percent) {
      self->state.cfg.faults.drop_percent = drop_percent;
      for (auto& [peer, link] : self->state.links)
        self->send(link, faults_atom::value, drop_percent);
    },
    [=](stats_atom) -> caf::result<std::string> {
      auto& links = self->state.links;
      auto rp = self->make_response_promise<std::string>();
      auto collected = std::make_shared<std::vector<std::string>>();
      auto head = "{\"port\": " + std::to_string(self->state.sock->local().port)
                  + ", \"datagrams_received\": " + std::to_string(self->state.loop->datagrams())
                  + ", \"auth\": " + guard_json(*self->state.guard)
                  + ", \"trains\": " + (self->state.sock->sends_trains() ? "true" : "false")
                  + ", \"links_closed\": " + std::to_string(self->state.links_closed)
                  + ", \"unreachable\": " + std::to_string(self->state.unreachable)
                  + ", \"peers\": {";
      if (links.empty()) {
        rp.deliver(head + "}}");
        return rp;
      }
      // Every peer's answer is kept, null for one that failed: the reply
      // is assembled once the last one is in, whichever way it came.
      auto expected = links.size();
      auto collect = [=](std::string entry) mutable {
        collected->push_back(std::move(entry));
        if (collected->size() < expected)
          return;
        std::string out = head;
        for (size_t i = 0; i < collected->size(); ++i)
          out.append(i > 0 ? ", " : "").append((*collected)[i]);
        rp.deliver(out + "}}");
      };
      for (auto& [peer, link] : links) {
        auto name = '"' + peer.to_string() + "\": ";
        self->request(link, caf::infinite, stats_atom::value)
          .then([=](const std::string& json) mutable { collect(name + json); },
                [=](caf::error&) mutable { collect(name + "null"); });
      }
      return rp;
    },
  };
}

} // namespace

caf::actor spawn_transport(caf::actor_system& sys, const transport_config& cfg,
                           const caf::actor& receiver) {
  // A seal binds both ends' addresses: a keyed transport must know its own.
  if (cfg.cluster_key && (cfg.address == "0.0.0.0" || cfg.address.empty()))
    throw std::runtime_error("a cluster key needs a specific bind address, not " + cfg.address);
  auto sock
    = std::make_shared<udp_socket>(udp_socket::bind_scan(cfg.address, cfg.port, cfg.port_attempts));
  if (!cfg.trains)
    sock->disable_segmentation();
  return sys.spawn(transport, std::move(sock), cfg, receiver);
}

} // namespace meshrt::transport
