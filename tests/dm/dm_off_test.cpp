#include "dm/dm_off.hpp"

#include <thread>

#include <caf/all.hpp>
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "dm/dm_wire.hpp"
#include "support/eventually.hpp"
#include "support/node_cluster.hpp"
#include "support/test_system.hpp"
#include "transport/atoms.hpp"

using namespace std::chrono_literals;
using namespace meshrt;
using meshrt::test::node_cluster;
using meshrt::test::test_system_config;

namespace {

nlohmann::json node_stats(caf::scoped_actor& self, const caf::actor& n) {
  nlohmann::json j;
  self->request(n, caf::infinite, transport::stats_atom::value)
    .receive([&](std::string& s) { j = nlohmann::json::parse(s); },
             [](caf::error& e) { FAIL(to_string(e)); });
  return j;
}

} // namespace

TEST_SUITE("dm.dm_off") {
  TEST_CASE("a node with DM off takes the DM's messages quietly, not as malformed mesh messages") {
    caf::actor_system sys{test_system_config()};
    node_cluster c{sys, 50800};
    c.start_mars();
    auto with_dm = c.start_node("UDP"); // asks every node that joins for its users
    dm_config off;
    off.enabled = false;
    auto without = c.start_node("UDP", off);
    REQUIRE(c.converged({with_dm.actor(), without.actor()}, 2));
    CHECK_FALSE(without.dm());
    auto& self = c.self();
    auto target = c.address_of(without.actor());
    // A node of the test's own sends what a DM node could: an ask, a
    // message for a user, and then a mesh message of no kind at all.
    auto peer = c.add_transport(50840);
    self->send(peer, transport::mesh_send_atom::value, target, encode_locations_wanted(7), true);
    self->send(peer, transport::mesh_send_atom::value, target,
               encode(dm_deliver{1, 3000, "ann", "bob", 1, 7, byte_buffer{'h', 'i'}, {}}), true);
    self->send(peer, transport::mesh_send_atom::value, target, byte_buffer{99, 1, 2}, true);
    // the last one is malformed, and counted once it has arrived
    REQUIRE(meshrt::test::eventually(
      [&] { return node_stats(self, without.actor())["malformed"] == 1; }, 3s));
    std::this_thread::sleep_for(200ms);
    CHECK(node_stats(self, without.actor())["malformed"] == 1);
  }
}
