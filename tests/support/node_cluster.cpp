#include "support/node_cluster.hpp"

#include <algorithm>

#include "actors/node_atoms.hpp"
#include "runtime/store.hpp"
#include "transport/transport_actor.hpp"

namespace meshrt::test {

void event_log::add(std::string line) {
  std::lock_guard<std::mutex> guard{mtx_};
  lines_.push_back(std::move(line));
}

std::vector<std::string> event_log::lines() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return lines_;
}

size_t event_log::count(const std::string& line) const {
  std::lock_guard<std::mutex> guard{mtx_};
  return static_cast<size_t>(std::count(lines_.begin(), lines_.end(), line));
}

int event_log::index_of(const std::string& line) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = std::find(lines_.begin(), lines_.end(), line);
  return i == lines_.end() ? -1 : static_cast<int>(i - lines_.begin());
}

nlohmann::json store_stats_json(caf::scoped_actor& self, const node& n) {
  std::string text = "{}";
  store_stats(self, n).receive([&](std::string& s) { text = std::move(s); },
                               [](caf::error& e) { FAIL(to_string(e)); });
  return nlohmann::json::parse(text);
}

bool store_rings_hold(caf::scoped_actor& self, const std::vector<node>& nodes, size_t count) {
  return eventually(
    [&] {
      for (const auto& n : nodes)
        if (store_stats_json(self, n)["ring_nodes"] != count)
          return false;
      return true;
    },
    std::chrono::seconds{10});
}

caf::actor spawn_event_recorder(caf::actor_system& sys, std::shared_ptr<event_log> log) {
  // The log goes in as a spawn argument: CAF 0.17 spawning a function of no
  // arguments binds a null reference (UBSan reports it).
  return sys.spawn(
    [](caf::event_based_actor*, std::shared_ptr<event_log> log) -> caf::behavior {
      using kind = node_event::kind;
      return {
        [=](const node_event& e) {
          switch (e.what) {
            case kind::update:
            case kind::updated:
              break; // two per heartbeat
            case kind::ready:
            case kind::initial_sync:
            case kind::mars_sync:
            case kind::mars_lost:
              log->add(to_string(e.what));
              break;
            case kind::shared_updated:
              log->add("shared " + e.subject + "=" + std::to_string(e.value));
              break;
            case kind::shared_removed:
              log->add("shared_removed " + e.subject);
              break;
            case kind::node_joined:
              log->add("joined " + e.subject);
              break;
            case kind::node_left:
              log->add("left " + e.subject);
              break;
            case kind::node_status:
              log->add("status " + e.subject + " " + to_string(e.status));
              break;
            case kind::node_changed:
              log->add("changed " + e.subject);
              break;
          }
        },
      };
    },
    log);
}

node_cluster::node_cluster(caf::actor_system& sys, uint16_t base_port) :
  sys_(sys), self_(sys), base_port_(base_port) {
  // nop
}

node_cluster::~node_cluster() {
  for (const auto& n : owned_)
    self_->send_exit(n, caf::exit_reason::user_shutdown);
  if (mars_)
    self_->send_exit(mars_, caf::exit_reason::user_shutdown);
}

void node_cluster::start_mars(uint64_t expiry_us) {
  mars_config mc;
  mc.port = base_port_;
  mc.expiry_us = expiry_us;
  // A killed MARS's socket closes a moment after the actor ends.
  REQUIRE(eventually([&] {
    try {
      mars_ = spawn_mars(sys_, mc);
      return true;
    } catch (const std::runtime_error&) {
      return false;
    }
  }));
}

void node_cluster::kill_mars() {
  self_->send_exit(mars_, caf::exit_reason::kill);
  mars_ = nullptr;
}

config node_cluster::node_config() const {
  config cfg;
  cfg.mesh.mars_address = "127.0.0.1";
  cfg.mesh.mars_port = base_port_;
  cfg.mesh.port = static_cast<uint16_t>(base_port_ + 1);
  return cfg;
}

caf::actor node_cluster::add_node(const std::string& type, const std::string& app) {
  node_options opts;
  opts.type = type;
  opts.app = app;
  return add_node(node_config(), opts);
}

caf::actor node_cluster::add_node(const config& cfg, const node_options& opts) {
  auto n = spawn_node(sys_, cfg.mesh, opts);
  owned_.push_back(n);
  return n;
}

caf::actor node_cluster::add_transport(uint16_t port) {
  transport::transport_config tc;
  tc.port = port;
  auto t = transport::spawn_transport(sys_, tc, caf::actor{self_});
  owned_.push_back(t);
  return t;
}

node node_cluster::start_node(const std::string& type) {
  return start_node(type, dm_config{});
}

node node_cluster::start_node(const std::string& type, const dm_config& dm) {
  node_options opts;
  opts.type = type;
  auto cfg = node_config();
  cfg.dm = dm;
  auto n = meshrt::start_node(sys_, cfg, opts);
  owned_.push_back(n.actor());
  return n;
}

std::vector<caf::actor> node_cluster::start(const std::vector<std::string>& types) {
  start_mars();
  std::vector<caf::actor> result;
  for (const auto& type : types)
    result.push_back(add_node(type));
  REQUIRE(converged(result, result.size()));
  return result;
}

bool node_cluster::converged(const std::vector<caf::actor>& nodes, size_t expected,
                             std::chrono::milliseconds limit) {
  return eventually(
    [&] {
      for (const auto& n : nodes)
        if (ask<std::vector<std::string>>(self_, n, addresses_atom::value,
                                          std::vector<std::string>{})
              .size()
            != expected)
          return false;
      return true;
    },
    limit);
}

std::string node_cluster::address_of(const caf::actor& node) {
  return ask<node_record>(self_, node, whoami_atom::value).mesh_address;
}

} // namespace meshrt::test
