#include "actors/cluster_view.hpp"

#include <algorithm>

#include <doctest/doctest.h>

using namespace meshrt;

namespace {

node_record node(const std::string& addr, const std::string& type, const std::string& pub = "",
                 node_status status = node_status::online) {
  node_record rec;
  rec.mesh_address = addr;
  rec.type = type;
  rec.role = type == "DGS" ? "DGS" : type;
  rec.public_endpoint = pub;
  rec.status = status;
  return rec;
}

view_delta full(uint64_t epoch, uint64_t version, std::vector<node_record> nodes) {
  view_delta d;
  d.epoch = epoch;
  d.version = version;
  d.full = true;
  d.upserts = std::move(nodes);
  return d;
}

} // namespace

TEST_SUITE("actors.cluster_view") {

  TEST_CASE("node queries of mesh-api.txt") {
    cluster_view v;
    v.apply(full(1, 5,
                 {node("10.0.0.1:8000", "HTTP", "1.2.3.4:80"),
                  node("10.0.0.2:8000", "UDP", "1.2.3.4:7000"),
                  node("10.0.0.3:8000", "UDP", "5.6.7.8:7000", node_status::taken),
                  node("10.0.0.4:8000", "UDP", "9.9.9.9:7000", node_status::offline)}));
    CHECK(v.size() == 4);
    CHECK(v.addresses({"10.0.0.1:8000"}).size() == 3);
    CHECK(v.addresses_by_type("UDP").size() == 3); // offline and taken included
    CHECK(v.addresses_by_role("HTTP") == std::vector<std::string>{"10.0.0.1:8000"});
    CHECK(v.types() == std::vector<std::string>{"HTTP", "UDP"});
    CHECK(v.role_of_type("UDP") == "UDP");
    CHECK(v.role_of_type("TCP").empty());
    REQUIRE(v.find_by_public_endpoint("5.6.7.8:7000") != nullptr);
    CHECK(v.find_by_public_endpoint("5.6.7.8:7000")->mesh_address == "10.0.0.3:8000");
    CHECK(v.find("10.0.0.3:8000")->public_endpoint == "5.6.7.8:7000");
    // Only online nodes are picked at random; the sibling excludes oneself.
    for (uint64_t r = 0; r < 10; ++r)
      CHECK(v.random_online("UDP", r) == "10.0.0.2:8000");
    CHECK(v.random_online("UDP", 3, "10.0.0.2:8000").empty());
    CHECK(v.random_online("TCP", 0).empty());
    CHECK(v.with_different_public_host("1.2.3.4:80")
          == std::vector<std::string>{"10.0.0.3:8000", "10.0.0.4:8000"});
  }

  TEST_CASE("deltas produce the events the node actor publishes") {
    using kind = node_event::kind;
    cluster_view v;
    auto events = v.apply(full(1, 2, {node("a:1", "HTTP"), node("b:1", "UDP")}));
    CHECK(events.size() == 2);
    CHECK(events[0].what == kind::node_joined);
    view_delta d;
    d.epoch = 1;
    d.version = 5;
    d.upserts = {node("a:1", "HTTP", "", node_status::taken), node("c:1", "TCP")};
    d.removed = {"b:1"};
    d.shared_set = {{"rooms", 4}};
    events = v.apply(d);
    REQUIRE(events.size() == 4);
    CHECK(events[0].what == kind::node_status);
    CHECK(events[0].status == node_status::taken);
    CHECK(events[1].what == kind::node_joined);
    CHECK(events[2].what == kind::node_left);
    CHECK(events[2].subject == "b:1");
    CHECK(events[3].what == kind::shared_updated);
    CHECK(events[3].value == 4);
    CHECK(v.shared("rooms") == std::optional<int16_t>{4});
    // A stale partial delta is ignored.
    d.version = 3;
    CHECK(v.apply(d).empty());
    // A full view drops what it lacks.
    view_delta f = full(9, 1, {node("c:1", "TCP")});
    events = v.apply(f);
    CHECK(v.size() == 1);
    CHECK(!v.shared("rooms"));
    CHECK(
      std::count_if(events.begin(), events.end(), [](auto& e) { return e.what == kind::node_left; })
      == 1);
    CHECK(std::count_if(events.begin(), events.end(),
                        [](auto& e) { return e.what == kind::shared_removed; })
          == 1);
  }

  TEST_CASE("a changed value is an update") {
    cluster_view v;
    v.apply(full(1, 1, {node("a:1", "HTTP")}));
    auto changed = node("a:1", "HTTP");
    changed.values["load"] = {0x05};
    view_delta d;
    d.epoch = 1;
    d.version = 2;
    d.upserts = {changed};
    auto events = v.apply(d);
    REQUIRE(events.size() == 1);
    CHECK(events[0].what == node_event::kind::node_changed);
    CHECK(v.find("a:1")->values.at("load") == byte_buffer{0x05});
  }

} // TEST_SUITE
