// MARS on a real socket, nodes announcing over their own transports.

#include "actors/mars_actor.hpp"

#include <chrono>
#include <optional>
#include <thread>

#include <caf/all.hpp>
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "actors/cluster_view.hpp"
#include "actors/mars_protocol.hpp"
#include "runtime/logging.hpp"
#include "support/test_system.hpp"
#include "transport/atoms.hpp"
#include "transport/transport_actor.hpp"

using namespace meshrt;
using namespace meshrt::transport;
using namespace std::chrono_literals;

namespace {

/// A node reduced to what talks to MARS: a transport, a view, a record.
struct test_node {
  caf::scoped_actor self;
  caf::actor transport;
  cluster_view view;
  node_record record;
  std::string mars;

  test_node(caf::actor_system& sys, const std::string& mars_addr, const std::string& type,
            uint16_t first_port = 43700) :
    self(sys),
    mars(mars_addr) {
    transport_config cfg;
    cfg.port = first_port;
    transport = spawn_transport(sys, cfg, self);
    record.type = type;
    record.role = type;
  }

  ~test_node() {
    self->send_exit(transport, caf::exit_reason::user_shutdown);
  }

  /// One heartbeat and its answer; false if none came within a second.
  bool heartbeat(const std::string& app = "app") {
    auto msg
      = encode(mars_message{mars_announce{app, record, view.epoch(), view.version(), false, {}}});
    self->send(transport, mesh_send_atom::value, mars, std::move(msg), true);
    bool answered = false;
    return take_views([&](bool view_came) { return answered = answered || view_came; }, 1s);
  }

  /// Tells MARS that `member`'s port is closed; true if MARS's answer, a
  /// view without it, came within `limit`.
  bool report_closed(const std::string& member, std::chrono::milliseconds limit) {
    self->send(transport, mesh_send_atom::value, mars,
               encode(mars_message{mars_suspect{"app", member, view.epoch(), view.version()}}),
               true);
    return take_views([&](bool) { return view.find(member) == nullptr; }, limit);
  }

  /// Applies the views MARS sends until `done(a view came in this
  /// delivery)` holds (true) or nothing came for `limit` (false). Only
  /// views count: an operator's status or a probe may come between.
  template<class Done>
  bool take_views(Done done, std::chrono::milliseconds limit) {
    bool finished = false;
    bool late = false;
    while (!finished && !late)
      self->receive(
        [&](received_atom, const std::string&, const packed_messages& batch, bool) {
          bool view_came = false;
          for (auto bytes : batch.views()) {
            std::string error;
            auto decoded = decode_mars(bytes, error);
            REQUIRE_MESSAGE(decoded, error);
            if (const auto* delta = std::get_if<view_delta>(&*decoded)) {
              view.apply(*delta);
              view_came = true;
            }
          }
          finished = done(view_came);
        },
        caf::after(limit) >> [&] { late = true; });
    return finished;
  }
};

/// The port MARS bound.
uint16_t bound_port(caf::scoped_actor& self, const caf::actor& mars) {
  uint16_t port = 0;
  self->request(mars, 5s, port_atom::value)
    .receive([&](uint16_t p) { port = p; }, [](caf::error&) {});
  return port;
}

/// MARS's counter of members removed because their port closed.
uint64_t removed_port_closed(caf::scoped_actor& self, const caf::actor& mars) {
  uint64_t n = 0;
  self->request(mars, 5s, stats_atom::value)
    .receive([&](const std::string& s) { n = nlohmann::json::parse(s)["removed_port_closed"]; },
             [](caf::error&) {});
  return n;
}

} // namespace

TEST_SUITE("actors.mars") {

  TEST_CASE("nodes find each other through MARS, a silent node expires") {
    set_log_level("warn");
    caf::actor_system sys{test::test_system_config()};
    mars_config cfg;
    cfg.port = 43650;
    cfg.expiry_us = 300'000;
    cfg.sweep_interval_us = 50'000;
    auto mars = spawn_mars(sys, cfg);
    caf::scoped_actor self{sys};
    auto port = bound_port(self, mars);
    REQUIRE(port >= 43650);
    auto addr = "127.0.0.1:" + std::to_string(port);
    {
      test_node a{sys, addr, "HTTP"};
      test_node b{sys, addr, "UDP"};
      test_node other_app{sys, addr, "TCP"};
      for (int round = 0; round < 2; ++round) {
        REQUIRE(a.heartbeat());
        REQUIRE(b.heartbeat());
        REQUIRE(other_app.heartbeat("elsewhere"));
      }
      CHECK(a.view.size() == 2);
      CHECK(b.view.size() == 2);
      CHECK(a.view.addresses_by_type("UDP").size() == 1);
      CHECK(other_app.view.size() == 1); // namespaces are separate
      // Shared data set by one node reaches the others with their next heartbeat.
      self->send(a.transport, mesh_send_atom::value, addr,
                 encode(mars_message{mars_shared{"app", "rooms", 3, false}}), true);
      // a's send and b's heartbeats take different paths to MARS: give the
      // value up to two seconds, not a count of back-to-back heartbeats that a
      // busy machine can run through before a's transport has sent it.
      bool shared_seen = false;
      for (int i = 0; i < 200 && !shared_seen; ++i) {
        if (i > 0)
          std::this_thread::sleep_for(10ms);
        REQUIRE(b.heartbeat());
        shared_seen = b.view.shared("rooms") == std::optional<int16_t>{3};
      }
      CHECK(shared_seen);
      // An operator's status request: both nodes, fresh heartbeats, the data.
      self->send(a.transport, mesh_send_atom::value, addr,
                 encode(mars_message{mars_status_request{"app"}}), true);
      bool got_status = false;
      bool late = false;
      while (!got_status && !late)
        a.self->receive(
          [&](received_atom, const std::string&, const packed_messages& batch, bool) {
            for (auto bytes : batch.views()) {
              std::string error;
              auto msg = decode_mars(bytes, error);
              REQUIRE_MESSAGE(msg, error);
              const auto* st = std::get_if<mars_status>(&*msg);
              if (st == nullptr)
                continue; // a heartbeat's late answer
              CHECK(st->nodes.size() == 2);
              for (const auto& e : st->nodes)
                CHECK(e.last_seen_ms < 1000);
              CHECK(st->shared == std::vector<std::pair<std::string, int16_t>>{{"rooms", 3}});
              got_status = true;
            }
          },
          caf::after(2s) >> [&] { late = true; });
      CHECK(got_status);
      // MARS shrugs off garbage and keeps answering.
      self->send(a.transport, mesh_send_atom::value, addr, byte_buffer{0xc1, 0x00}, true);
      // b goes silent; a keeps beating and sees b gone after the expiry.
      auto b_addr = b.view.addresses_by_type("UDP").at(0);
      bool gone = false;
      for (int i = 0; i < 20 && !gone; ++i) {
        std::this_thread::sleep_for(50ms);
        REQUIRE(a.heartbeat());
        gone = a.view.find(b_addr) == nullptr;
      }
      CHECK(gone);
      CHECK(a.view.size() == 1);
    }
    self->send_exit(mars, caf::exit_reason::user_shutdown);
  }

  TEST_CASE("a member whose port closed is removed at once when another reports it") {
    // Long before its heartbeats would expire: only the report, and MARS's
    // own probe bouncing off the closed port, can remove it.
    set_log_level("warn");
    caf::actor_system sys{test::test_system_config()};
    mars_config cfg;
    cfg.port = 53100;
    cfg.expiry_us = 60'000'000;
    auto mars = spawn_mars(sys, cfg);
    caf::scoped_actor self{sys};
    REQUIRE(bound_port(self, mars) == 53100);
    auto addr = "127.0.0.1:53100";
    test_node a{sys, addr, "HTTP", 53110};
    test_node b{sys, addr, "UDP", 53110};
    test_node c{sys, addr, "TCP", 53110};
    for (int round = 0; round < 2; ++round)
      for (auto* n : {&a, &b, &c})
        REQUIRE(n->heartbeat());
    REQUIRE(a.view.size() == 3);
    auto b_addr = b.view.addresses_by_type("UDP").at(0);
    auto c_addr = c.view.addresses_by_type("TCP").at(0);
    // A live member reported closed: MARS's probe reaches it, nothing bounces.
    CHECK_FALSE(a.report_closed(c_addr, 300ms));
    CHECK(removed_port_closed(self, mars) == 0);
    // b's process ends without a word: its socket closes with its transport.
    b.self->send_exit(b.transport, caf::exit_reason::kill);
    b.self->wait_for(b.transport);
    // Once nothing is bound to b's port any more (its peer links let the
    // socket go a moment after the transport), a's report removes it and
    // MARS answers with the view without it.
    bool gone = false;
    for (int i = 0; i < 20 && !gone; ++i)
      gone = a.report_closed(b_addr, 250ms);
    CHECK(gone);
    CHECK(removed_port_closed(self, mars) == 1);
    // c hears of it at once too, unasked (from the view its last heartbeat
    // named), not with its next heartbeat's answer
    CHECK(c.take_views([&](bool) { return c.view.find(b_addr) == nullptr; }, 1s));
    CHECK(c.view.find(c_addr) != nullptr);
    CHECK(c.view.size() == 2);
    // A report from outside the app, or about an unknown address, removes
    // nothing and probes nothing.
    self->send(a.transport, mesh_send_atom::value, std::string{addr},
               encode(mars_message{mars_suspect{"app", "127.0.0.1:1", 0, 0}}), true);
    REQUIRE(a.heartbeat());
    CHECK(a.view.size() == 2);
    CHECK(removed_port_closed(self, mars) == 1);
    self->send_exit(mars, caf::exit_reason::user_shutdown);
  }

} // TEST_SUITE
