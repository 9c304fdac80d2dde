#include "actors/mars_client.hpp"

#include <optional>
#include <stdexcept>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/mesh_error.hpp"
#include "transport/atoms.hpp"
#include "transport/endpoint.hpp"
#include "transport/transport_actor.hpp"

namespace meshrt {

namespace {

/// Whether the transport `t` got a refusal notice (transport/packet_guard.hpp).
bool refused_us(caf::scoped_actor& self, const caf::actor& t) {
  bool refused = false;
  self->request(t, std::chrono::seconds{1}, transport::stats_atom::value)
    .receive(
      [&](const std::string& json) {
        auto doc = nlohmann::json::parse(json, nullptr, false);
        refused = !doc.is_discarded() && doc["auth"]["dropped"].value("refused_by_peer", 0) > 0;
      },
      [](caf::error&) {});
  return refused;
}

} // namespace

mars_status query_mars_status(caf::actor_system& sys, const std::string& mars,
                              const std::string& app, std::chrono::milliseconds limit,
                              const std::optional<secret_key>& cluster_key) {
  if (!transport::endpoint::parse(mars))
    throw std::invalid_argument("--mars: expected a.b.c.d:port, got '" + mars + "'");
  caf::scoped_actor self{sys};
  transport::transport_config tc;
  tc.port = 0; // any free port: this is a client
  tc.cluster_key = cluster_key;
  // The transport gives up first, so an unreachable MARS is told apart
  // from one that is reachable but silent.
  tc.session.retry_timeout_us = static_cast<uint64_t>(limit.count()) * 1000 * 2 / 3;
  auto t = transport::spawn_transport(sys, tc, self);
  self->send(t, transport::mesh_send_atom::value, mars,
             encode(mars_message{mars_status_request{app}}), true);
  std::optional<mars_status> answer;
  std::string failure;
  while (!answer && failure.empty())
    self->receive(
      [&](transport::received_atom, const std::string&, const packed_messages& batch, bool) {
        for (auto bytes : batch.views()) {
          std::string error;
          auto msg = decode_mars(bytes, error);
          if (msg && std::holds_alternative<mars_status>(*msg))
            answer = std::move(std::get<mars_status>(*msg));
        }
      },
      [&](transport::send_failed_atom, const std::string&, const caf::error& err) {
        failure = "cannot reach MARS at " + mars + ": " + context_of(err);
      },
      [&](transport::unreachable_atom, const std::string&) {
        failure = "cannot reach MARS at " + mars
                  + ": nothing listens on that port (ICMP port unreachable)";
      },
      caf::after(limit) >>
        [&] {
          failure
            = "no answer from MARS at " + mars + " within " + std::to_string(limit.count()) + " ms";
        });
  if (!answer && refused_us(self, t))
    failure = "MARS at " + mars + " refused our packets: its cluster key is not ours"
              + (cluster_key ? "" : " (we have none: --cluster-key-file)");
  self->send_exit(t, caf::exit_reason::user_shutdown);
  if (!answer)
    throw std::runtime_error(failure);
  return std::move(*answer);
}

} // namespace meshrt
