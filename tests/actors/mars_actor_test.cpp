// MARS on a real socket, nodes announcing over their own transports.

#include "actors/mars_actor.hpp"

#include <chrono>
#include <optional>
#include <thread>

#include <caf/all.hpp>
#include <doctest/doctest.h>

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

  test_node(caf::actor_system& sys, const std::string& mars_addr, const std::string& type) :
    self(sys), mars(mars_addr) {
    transport_config cfg;
    cfg.port = 43700;
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
    self->receive(
      [&](received_atom, const std::string&, const packed_messages& packed_batch, bool) {
        auto batch = packed_batch.unpack();
        for (const auto& bytes : batch) {
          std::string error;
          auto decoded = decode_mars(bytes, error);
          REQUIRE_MESSAGE(decoded, error);
          // Only the answer to a heartbeat counts (an operator's status may
          // share the delivery).
          if (const auto* delta = std::get_if<view_delta>(&*decoded)) {
            view.apply(*delta);
            answered = true;
          }
        }
      },
      caf::after(1s) >> [] {});
    return answered;
  }
};

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
    uint16_t port = 0;
    self->request(mars, 5s, port_atom::value)
      .receive([&](uint16_t p) { port = p; }, [](caf::error&) {});
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

} // TEST_SUITE
