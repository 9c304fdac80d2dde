#pragma once

// A MARS and mesh nodes in the test process, on real loopback sockets, and
// the helpers live tests need to talk to them: bounded waits, blocking
// queries, an event recorder.

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "actors/mars_actor.hpp"
#include "actors/node_actor.hpp"
#include "actors/node_atoms.hpp"
#include "runtime/config.hpp"
#include "runtime/node.hpp"
#include "support/eventually.hpp"

namespace meshrt::test {

/// Sends a request and waits up to 3 s for a reply of type T; fails the
/// test on an error or a timeout.
template<class T, class... Ts>
T ask(caf::scoped_actor& self, const caf::actor& dst, Ts&&... xs) {
  T result{};
  self->request(dst, std::chrono::seconds{3}, std::forward<Ts>(xs)...)
    .receive([&](T& x) { result = std::move(x); },
             [&](caf::error& err) { FAIL("request failed: " << to_string(err)); });
  return result;
}

/// Sends a request and returns the error it fails with (none if it did not).
template<class... Ts>
caf::error ask_error(caf::scoped_actor& self, const caf::actor& dst, Ts&&... xs) {
  caf::error result;
  self->request(dst, std::chrono::seconds{3}, std::forward<Ts>(xs)...)
    .receive([](const caf::message&) {}, [&](caf::error& err) { result = std::move(err); });
  return result;
}

/// A node's store stats (runtime/store.hpp) as JSON; fails the test on an
/// error.
nlohmann::json store_stats_json(caf::scoped_actor& self, const node& n);

/// Waits up to 10 s until every node's store ring holds `count` storage
/// nodes.
bool store_rings_hold(caf::scoped_actor& self, const std::vector<node>& nodes, size_t count);

/// What an event subscriber saw, one line per event ("joined 127.0.0.1:8000").
class event_log {
public:
  void add(std::string line);
  std::vector<std::string> lines() const;
  /// How many lines equal `line`.
  size_t count(const std::string& line) const;
  /// The position of the first line equal to `line`, or -1.
  int index_of(const std::string& line) const;

private:
  mutable std::mutex mtx_;
  std::vector<std::string> lines_;
};

/// An actor that writes every node event it receives into `log`, except
/// update / updated (two per heartbeat), which it leaves out.
caf::actor spawn_event_recorder(caf::actor_system& sys, std::shared_ptr<event_log> log);

/// MARS and nodes of one test. Every test case takes its own `base_port`
/// (ctest runs cases in parallel): MARS binds base_port, nodes scan from
/// base_port + 1.
class node_cluster {
public:
  node_cluster(caf::actor_system& sys, uint16_t base_port);
  ~node_cluster();

  /// Starts (or restarts) MARS on base_port; a node silent for `expiry_us`
  /// expires (mars_config's default: three heartbeats).
  void start_mars(uint64_t expiry_us = 1'500'000);

  /// Stops MARS as a crash would: no goodbye to anyone.
  void kill_mars();

  /// The config a node of this cluster starts with.
  config node_config() const;

  /// Spawns a node of `type` in `app`.
  caf::actor add_node(const std::string& type, const std::string& app = "");

  /// Spawns a node with explicit config and options.
  caf::actor add_node(const config& cfg, const node_options& opts);

  /// Starts a node with its store service (start_node) of `type`, with the
  /// DM settings `dm`.
  node start_node(const std::string& type, const dm_config& dm);

  /// The same with the default DM settings.
  node start_node(const std::string& type);

  /// The usual start of a test: MARS, then one node of each of `types`,
  /// required to see each other.
  std::vector<caf::actor> start(const std::vector<std::string>& types);

  /// Waits until every listed node sees exactly `expected` nodes.
  bool converged(const std::vector<caf::actor>& nodes, size_t expected,
                 std::chrono::milliseconds limit = std::chrono::seconds{8});

  /// The mesh address of a node.
  std::string address_of(const caf::actor& node);

  /// A bare transport on `port` (0: any) whose received messages go to
  /// self(), for a test that speaks the wire itself; stopped with the
  /// cluster, also when a REQUIRE ends the test early.
  caf::actor add_transport(uint16_t port);

  caf::scoped_actor& self() {
    return self_;
  }
  caf::actor_system& system() {
    return sys_;
  }
  uint16_t mars_port() const {
    return base_port_;
  }

private:
  caf::actor_system& sys_;
  caf::scoped_actor self_;
  uint16_t base_port_;
  caf::actor mars_;
  std::vector<caf::actor> owned_; // nodes and transports, stopped at the end
};

} // namespace meshrt::test
