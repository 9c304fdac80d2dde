#include "actors/registry.hpp"

#include <algorithm>
#include <stdexcept>

#include <doctest/doctest.h>

#include "actors/cluster_view.hpp"

using namespace meshrt;

namespace {

node_record node(const std::string& addr, const std::string& type = "HTTP") {
  node_record rec;
  rec.mesh_address = addr;
  rec.type = type;
  rec.role = type;
  return rec;
}

} // namespace

TEST_SUITE("actors.registry") {

  TEST_CASE("announcements, heartbeats and versions") {
    registry reg;
    CHECK(reg.announce("app", node("10.0.0.1:8000"), 0));
    CHECK(reg.announce("app", node("10.0.0.2:8000"), 0));
    CHECK(reg.version("app") == 2);
    // A heartbeat with the same record changes nothing.
    CHECK(!reg.announce("app", node("10.0.0.1:8000"), 400'000));
    CHECK(reg.version("app") == 2);
    CHECK(reg.delta_since("app", 1, 2).empty());
    // A changed record is a change.
    auto changed = node("10.0.0.1:8000");
    changed.status = node_status::taken;
    CHECK(reg.announce("app", changed, 500'000));
    auto d = reg.delta_since("app", 1, 2);
    CHECK(!d.full);
    CHECK(d.version == 3);
    REQUIRE(d.upserts.size() == 1);
    CHECK(d.upserts[0].status == node_status::taken);
  }

  TEST_CASE("silent nodes expire, removals reach deltas") {
    registry reg{{1'500'000, 30'000'000, 1, 0}};
    reg.announce("app", node("a:1"), 0);
    reg.announce("app", node("b:1"), 0);
    auto v = reg.version("app");
    reg.announce("app", node("b:1"), 1'000'000); // b keeps beating
    CHECK(reg.expire(1'400'000).empty());
    auto gone = reg.expire(1'600'000);
    REQUIRE(gone.size() == 1);
    CHECK(gone[0] == std::make_pair(std::string{"app"}, std::string{"a:1"}));
    auto d = reg.delta_since("app", 1, v);
    CHECK(d.removed == std::vector<std::string>{"a:1"});
    CHECK(reg.nodes("app").size() == 1);
    CHECK(reg.remove("app", "b:1", 1'700'000));
    CHECK(!reg.remove("app", "b:1", 1'700'000));
  }

  TEST_CASE("full views: first contact, forgotten tombstones, another incarnation") {
    registry reg{{1'000'000, 2'000'000, 7, 0}};
    reg.announce("app", node("a:1"), 0);
    reg.announce("app", node("b:1"), 0);
    CHECK(reg.delta_since("app", 7, 0).full);
    CHECK(reg.delta_since("app", 7, 0).upserts.size() == 2);
    CHECK(reg.delta_since("app", 3, 2).full);  // another incarnation's numbers
    CHECK(reg.delta_since("app", 7, 99).full); // ahead of us: not our numbers
    reg.remove("app", "a:1", 0);
    CHECK(!reg.delta_since("app", 7, 2).full);
    reg.announce("app", node("b:1"), 5'000'000);
    reg.expire(5'000'000); // the tombstone of a:1 is forgotten
    auto d = reg.delta_since("app", 7, 2);
    CHECK(d.full); // so a node at version 2 must start over
    CHECK(d.upserts.size() == 1);
  }

  TEST_CASE("app namespaces do not see each other") {
    registry reg;
    reg.announce("red", node("a:1"), 0);
    reg.announce("blue", node("b:1"), 0);
    reg.set_shared("red", "rooms", 3);
    CHECK(reg.nodes("red").size() == 1);
    CHECK(reg.nodes("blue")[0].record.mesh_address == "b:1");
    CHECK(reg.delta_since("blue", 1, 0).shared_set.empty());
    CHECK(reg.apps() == std::vector<std::string>{"blue", "red"});
  }

  TEST_CASE("shared data keys have at most 54 characters") {
    registry reg;
    CHECK(reg.set_shared("app", std::string(54, 'k'), 1));
    CHECK(!reg.set_shared("app", std::string(54, 'k'), 1)); // unchanged
    CHECK_THROWS_WITH_AS(
      reg.set_shared("app", std::string(55, 'k'), 1),
      ("shared data key '" + std::string(55, 'k') + "' must have 1 to 54 characters, not 55")
        .c_str(),
      std::invalid_argument);
    CHECK_THROWS_AS(reg.set_shared("app", "", 1), std::invalid_argument);
    auto v = reg.version("app");
    CHECK(reg.remove_shared("app", std::string(54, 'k'), 0));
    CHECK(reg.delta_since("app", 1, v).shared_removed.size() == 1);
  }

  TEST_CASE("a warming registry keeps old views and takes back what it forgot") {
    registry reg{{1'500'000, 30'000'000, 9, 1'000'000}};
    reg.announce("app", node("10.0.0.1:8000", "HTTP"), 0);
    // A node holding a view of incarnation 8 keeps it for now...
    auto keep = reg.answer("app", 8, 40, 500'000);
    CHECK(keep.epoch == 9);
    CHECK(!keep.full);
    CHECK(keep.empty());
    // ...a fresh node gets what there is, and so does everyone once warm.
    CHECK(reg.answer("app", 0, 0, 500'000).full);
    CHECK(reg.answer("app", 8, 40, 1'000'000).full);
    // Forgotten shared data comes back while warming, never over a newer
    // value or a removal, and not once warm.
    REQUIRE(reg.set_shared("app", "newer", 1));
    REQUIRE(reg.set_shared("app", "gone", 1));
    REQUIRE(reg.remove_shared("app", "gone", 0));
    std::vector<std::pair<std::string, int16_t>> old_values{
      {"rooms", 5}, {"newer", 7}, {"gone", 3}, {std::string(55, 'k'), 1}};
    CHECK(reg.restore_shared("app", old_values, 500'000) == 1);
    CHECK(reg.shared("app")
          == std::vector<std::pair<std::string, int16_t>>{{"newer", 1}, {"rooms", 5}});
    CHECK(reg.restore_shared("app", {{"late", 1}}, 1'000'000) == 0);
  }

  TEST_CASE("200 nodes converge, steady state sends nothing, failures and restarts heal") {
    constexpr int n = 200;
    registry mars{{1'500'000, 30'000'000, 1, 0}};
    std::vector<cluster_view> views(n);
    std::vector<node_record> records;
    for (int i = 0; i < n; ++i)
      records.push_back(node("10.0.0." + std::to_string(i) + ":8000", i % 3 ? "UDP" : "HTTP"));
    uint64_t now = 0;
    size_t changes_sent = 0;
    auto heartbeat_round = [&](int skip = -1) {
      for (int i = 0; i < n; ++i) {
        if (i == skip)
          continue;
        mars.announce("app", records[i], now);
        auto d = mars.delta_since("app", views[i].epoch(), views[i].version());
        changes_sent += d.upserts.size() + d.removed.size();
        views[i].apply(d);
      }
      mars.expire(now);
      now += 500'000;
    };
    heartbeat_round();
    heartbeat_round();
    for (const auto& v : views)
      REQUIRE(v.size() == n);
    // Steady state: heartbeats change nothing, deltas carry nothing.
    changes_sent = 0;
    heartbeat_round();
    CHECK(changes_sent == 0);
    // Node 7 dies: within 3 heartbeats + one round everyone knows.
    for (int round = 0; round < 5; ++round)
      heartbeat_round(7);
    for (int i = 0; i < n; ++i)
      if (i != 7)
        REQUIRE(views[i].find(records[7].mesh_address) == nullptr);
    // MARS restarts empty with a new incarnation and warms up for one
    // expiry period. Nodes re-announce one by one, each applying its answer
    // at once, and offer back the shared data their views hold.
    REQUIRE(mars.set_shared("app", "rooms", 12));
    heartbeat_round(7);
    mars = registry{{1'500'000, 30'000'000, 2, now + 1'500'000}};
    std::vector<size_t> spurious(n);
    std::vector<uint64_t> answering(n);
    for (int round = 0; round < 5; ++round) {
      for (int i = 0; i < n; ++i) {
        if (i == 7)
          continue;
        std::vector<std::pair<std::string, int16_t>> restore;
        if (answering[i] != 0 && answering[i] != views[i].epoch())
          restore.assign(views[i].shared_data().begin(), views[i].shared_data().end());
        mars.restore_shared("app", restore, now);
        mars.announce("app", records[i], now);
        auto d = mars.answer("app", views[i].epoch(), views[i].version(), now);
        answering[i] = d.epoch;
        spurious[i] += views[i].apply(d).size();
      }
      mars.expire(now);
      now += 500'000;
    }
    // The view came back whole with the shared data, and nobody saw nodes
    // leave and rejoin.
    for (int i = 0; i < n; ++i) {
      if (i == 7)
        continue;
      REQUIRE(views[i].size() == n - 1);
      CHECK(views[i].epoch() == 2);
      CHECK(views[i].shared("rooms") == int16_t{12});
    }
    CHECK(*std::max_element(spurious.begin(), spurious.end()) == 0);
  }

} // TEST_SUITE
