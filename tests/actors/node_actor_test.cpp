// Mesh nodes and MARS in one process, on real loopback sockets.

#include "actors/node_actor.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include <nlohmann/json.hpp>

#include "actors/mars_protocol.hpp"
#include "actors/mesh_envelope.hpp"
#include "actors/mesh_error.hpp"
#include "support/node_cluster.hpp"
#include "support/test_system.hpp"
#include "transport/atoms.hpp"
#include "transport/clock.hpp"
#include "transport/endpoint.hpp"
#include "transport/session.hpp"

using namespace meshrt;
using namespace meshrt::test;
using namespace std::chrono_literals;

namespace {

/// An actor that forwards the mesh messages it handles into a log as
/// "<command> <sender> <payload as text>".
caf::actor spawn_handler(caf::actor_system& sys, std::shared_ptr<event_log> log) {
  // The log goes in as a spawn argument: CAF 0.17 spawning a function of no
  // arguments binds a null reference (UBSan reports it).
  return sys.spawn(
    [](caf::event_based_actor*, std::shared_ptr<event_log> log) -> caf::behavior {
      return {
        [=](mesh_message_atom, uint16_t cmd, const std::string& from, const byte_buffer& payload) {
          log->add(std::to_string(cmd) + " " + from + " "
                   + std::string(payload.begin(), payload.end()));
        },
      };
    },
    log);
}

byte_buffer bytes_of(const std::string& text) {
  return byte_buffer(text.begin(), text.end());
}

nlohmann::json stats_of(caf::scoped_actor& self, const caf::actor& node) {
  return nlohmann::json::parse(ask<std::string>(self, node, stats_atom::value));
}

} // namespace

TEST_SUITE("actors.node") {

  TEST_CASE("nodes of mixed types join through MARS and answer every node query") {
    caf::actor_system sys{test_system_config()};
    node_cluster c{sys, 44000};
    c.start_mars();
    auto log = std::make_shared<event_log>();
    auto http = c.add_node("HTTP");
    c.self()->send(http, subscribe_atom::value, spawn_event_recorder(sys, log));
    auto udp = c.add_node("UDP");
    auto match = c.add_node("MATCH");
    c.self()->send(udp, set_endpoint_atom::value, std::string{"203.0.113.5:7000"});
    c.self()->send(match, set_endpoint_atom::value, std::string{"198.51.100.9:7100"});
    c.self()->send(http, set_endpoint_atom::value, std::string{"203.0.113.5:7001"});
    REQUIRE(c.converged({http, udp, match}, 3));
    auto a_http = c.address_of(http);
    auto a_udp = c.address_of(udp);
    auto a_match = c.address_of(match);
    auto& self = c.self();
    // Own record.
    auto me = ask<node_record>(self, match, whoami_atom::value);
    CHECK(me.type == "MATCH");
    CHECK(me.role == "HTTP"); // a custom type keeps the default role
    CHECK(me.status == node_status::online);
    CHECK(ask<node_record>(self, udp, whoami_atom::value).role == "UDP");
    // Others' records, by address and by public endpoint, once every
    // endpoint is in http's view.
    auto endpoint_in_view = [&](const std::string& addr) {
      return ask<node_record>(self, http, node_atom::value, addr).public_endpoint;
    };
    REQUIRE(eventually([&] {
      return endpoint_in_view(a_match) == "198.51.100.9:7100"
             && endpoint_in_view(a_udp) == "203.0.113.5:7000"
             && endpoint_in_view(a_http) == "203.0.113.5:7001";
    }));
    auto rec
      = ask<node_record>(self, http, by_endpoint_atom::value, std::string{"203.0.113.5:7000"});
    CHECK(rec.mesh_address == a_udp);
    CHECK(is(ask_error(self, http, node_atom::value, std::string{"127.0.0.1:1"}),
             mesh_errc::unknown_node));
    CHECK(is(ask_error(self, http, by_endpoint_atom::value, std::string{"1.2.3.4:5"}),
             mesh_errc::unknown_node));
    // Address lists.
    auto all = ask<std::vector<std::string>>(self, udp, addresses_atom::value,
                                             std::vector<std::string>{a_udp});
    CHECK(all == std::vector<std::string>{a_http, a_match});
    CHECK(ask<std::vector<std::string>>(self, udp, by_type_atom::value, std::string{"MATCH"})
          == std::vector<std::string>{a_match});
    CHECK(ask<std::vector<std::string>>(self, udp, by_role_atom::value, std::string{"HTTP"})
          == std::vector<std::string>{a_http, a_match});
    CHECK(ask<std::vector<std::string>>(self, udp, types_atom::value)
          == std::vector<std::string>{"HTTP", "MATCH", "UDP"});
    CHECK(ask<std::string>(self, udp, role_of_type_atom::value, std::string{"UDP"}) == "UDP");
    CHECK(ask<std::string>(self, http, random_node_atom::value, std::string{"UDP"}) == a_udp);
    CHECK(ask<std::string>(self, http, random_node_atom::value, std::string{"TCP"}).empty());
    // No other HTTP node: no sibling.
    CHECK(ask<std::string>(self, http, sibling_atom::value).empty());
    auto http2 = c.add_node("HTTP");
    REQUIRE(c.converged({http}, 4));
    CHECK(ask<std::string>(self, http, sibling_atom::value) == c.address_of(http2));
    // Nodes whose public host differs from http's (203.0.113.5).
    CHECK(ask<std::vector<std::string>>(self, http, other_public_atom::value)
          == std::vector<std::string>{a_match});
    CHECK(ask<bool>(self, http, member_atom::value));
    // Events: ready, initial sync, then every join (self included).
    REQUIRE(eventually([&] { return log->count("joined " + c.address_of(http2)) == 1; }));
    CHECK(log->index_of("ready") == 0);
    CHECK(log->index_of("initial_sync") >= 0);
    CHECK(log->count("mars_sync") == 1);
    CHECK(log->count("joined " + a_udp) == 1);
    CHECK(log->count("joined " + a_match) == 1);
  }

  TEST_CASE("values, type and status changes reach every node as events") {
    caf::actor_system sys{test_system_config()};
    node_cluster c{sys, 44100};
    c.start_mars();
    auto a = c.add_node("HTTP");
    auto b = c.add_node("UDP");
    REQUIRE(c.converged({a, b}, 2));
    auto log = std::make_shared<event_log>();
    auto& self = c.self();
    self->send(b, subscribe_atom::value, spawn_event_recorder(sys, log));
    auto addr_a = c.address_of(a);
    // SetNodeValue: one msgpack object (here the positive fixint 42).
    self->request(a, 3s, set_value_atom::value, std::string{"capacity"}, byte_buffer{42})
      .receive([] {}, [](caf::error& err) { FAIL(to_string(err)); });
    CHECK(ask<node_record>(self, a, whoami_atom::value).values.at("capacity") == byte_buffer{42});
    REQUIRE(eventually([&] {
      auto r = ask<node_record>(self, b, node_atom::value, addr_a);
      return r.values.count("capacity") == 1 && r.values.at("capacity") == byte_buffer{42};
    }));
    CHECK(eventually([&] { return log->count("changed " + addr_a) == 1; }));
    self->send(a, set_type_atom::value, std::string{"LOBBY"});
    REQUIRE(eventually([&] {
      return ask<std::vector<std::string>>(self, b, by_type_atom::value, std::string{"LOBBY"})
             == std::vector<std::string>{addr_a};
    }));
    CHECK(ask<node_record>(self, a, whoami_atom::value).role == "HTTP"); // role stays
    self->send(a, set_status_atom::value, node_status::taken);
    REQUIRE(eventually([&] { return log->count("status " + addr_a + " taken") == 1; }));
    CHECK(ask<node_record>(self, b, node_atom::value, addr_a).status == node_status::taken);
    // A taken node is no longer a random pick; an online one is.
    CHECK(ask<std::string>(self, b, random_node_atom::value, std::string{"LOBBY"}).empty());
    self->send(a, set_status_atom::value, node_status::online);
    REQUIRE(eventually([&] { return log->count("status " + addr_a + " online") == 1; }));
    CHECK(ask<std::string>(self, b, random_node_atom::value, std::string{"LOBBY"}) == addr_a);
  }

  TEST_CASE("roles, types and own status as the reference's getters read them") {
    caf::actor_system sys{test_system_config()};
    node_cluster c{sys, 45100};
    c.start_mars();
    // TCPRole and DGSRole: a node of that type takes that role.
    CHECK(default_role("TCP") == tcp_role);
    CHECK(default_role("DGS") == dgs_role);
    CHECK(default_role("UDP") == udp_role);
    CHECK(default_role("MATCH") == http_role);
    auto tcp = c.add_node("TCP");
    auto dgs = c.add_node("DGS");
    REQUIRE(c.converged({tcp, dgs}, 2));
    auto& self = c.self();
    auto a_tcp = c.address_of(tcp);
    auto a_dgs = c.address_of(dgs);
    // GetNodeTypeByAddress / GetNodeRoleByAddress, and Node.Self.
    auto seen = ask<node_record>(self, tcp, node_atom::value, a_dgs);
    CHECK(seen.type == "DGS");
    CHECK(seen.role == dgs_role);
    CHECK_FALSE(seen.self);
    auto mine = ask<node_record>(self, tcp, node_atom::value, a_tcp);
    CHECK(mine.type == "TCP");
    CHECK(mine.role == tcp_role);
    CHECK(mine.self);
    CHECK(ask<node_record>(self, tcp, whoami_atom::value).self);
    // SetNodeRole: the role changes, the type stays, and others see it.
    self->request(tcp, 3s, set_role_atom::value, std::string{dgs_role})
      .receive([] {}, [](caf::error& err) { FAIL(to_string(err)); });
    CHECK(ask<node_record>(self, tcp, whoami_atom::value).role == dgs_role);
    CHECK(ask<node_record>(self, tcp, whoami_atom::value).type == "TCP");
    REQUIRE(eventually([&] {
      return ask<std::vector<std::string>>(self, dgs, by_role_atom::value, std::string{dgs_role})
             == std::vector<std::string>{a_tcp, a_dgs};
    }));
    CHECK(ask<node_record>(self, dgs, node_atom::value, a_tcp).role == dgs_role);
    // IsMyNodeTaken / IsMyNodeOffline / IsMyNodeOnline: the node's own status.
    for (auto status : {node_status::taken, node_status::offline, node_status::online}) {
      self->request(dgs, 3s, set_status_atom::value, status)
        .receive([] {}, [](caf::error& err) { FAIL(to_string(err)); });
      CHECK(ask<node_record>(self, dgs, whoami_atom::value).status == status);
    }
  }

  TEST_CASE("update comes before each applied answer from MARS, updated after it") {
    caf::actor_system sys{test_system_config()};
    node_cluster c{sys, 45200};
    c.start_mars();
    auto first = c.add_node("HTTP");
    REQUIRE(c.converged({first}, 1));
    auto log = std::make_shared<event_log>();
    // Records update, updated and joins in the order they come.
    auto order = sys.spawn(
      [](caf::event_based_actor*, std::shared_ptr<event_log> log) -> caf::behavior {
        return {
          [=](const node_event& e) {
            if (e.what == node_event::kind::update || e.what == node_event::kind::updated)
              log->add(to_string(e.what));
            else if (e.what == node_event::kind::node_joined)
              log->add("joined " + e.subject);
          },
        };
      },
      log);
    c.self()->send(first, subscribe_atom::value, order);
    auto second = c.add_node("UDP");
    auto a_second = c.address_of(second);
    REQUIRE(eventually([&] { return log->count("joined " + a_second) == 1; }));
    REQUIRE(eventually([&] { return log->count("updated") >= 3; }));
    auto lines = log->lines();
    // Every answer is framed: update, its events, updated; never nested.
    bool inside = false;
    int frames = 0;
    for (const auto& line : lines) {
      if (line == "update") {
        CHECK_FALSE(inside);
        inside = true;
      } else if (line == "updated") {
        CHECK(inside);
        inside = false;
        ++frames;
      } else if (line == "joined " + a_second) {
        CHECK(inside); // a view change arrives inside its answer's frame
      }
    }
    CHECK(frames >= 3);
    CHECK(std::string{to_string(node_event::kind::update)} == "update"); // the reference's Update
  }

  TEST_CASE("unsubscribe removes one subscriber, the others keep their events") {
    caf::actor_system sys{test_system_config()};
    node_cluster c{sys, 45300};
    c.start_mars();
    auto n = c.add_node("HTTP");
    REQUIRE(c.converged({n}, 1));
    auto kept = std::make_shared<event_log>();
    auto removed = std::make_shared<event_log>();
    auto keeper = spawn_event_recorder(sys, kept);
    auto leaver = spawn_event_recorder(sys, removed);
    auto& self = c.self();
    self->send(n, subscribe_atom::value, keeper);
    self->send(n, subscribe_atom::value, leaver);
    self->send(n, set_shared_atom::value, std::string{"a"}, int16_t{1});
    REQUIRE(eventually([&] { return kept->count("shared a=1") == 1; }));
    REQUIRE(eventually([&] { return removed->count("shared a=1") == 1; }));
    // RemoveOnSharedDataUpdate: one callback is one subscriber actor.
    self->send(n, unsubscribe_atom::value, leaver);
    self->send(n, set_shared_atom::value, std::string{"b"}, int16_t{2});
    self->send(n, remove_shared_atom::value, std::string{"a"});
    REQUIRE(eventually([&] { return kept->count("shared_removed a") == 1; }));
    CHECK(kept->count("shared b=2") == 1);
    CHECK(removed->count("shared b=2") == 0);
    CHECK(removed->count("shared_removed a") == 0);
  }

  TEST_CASE("a MARS host name is resolved again once marsAddressCacheTTL has passed") {
    caf::actor_system sys{test_system_config()};
    node_cluster c{sys, 45400};
    c.start_mars();
    auto cfg = c.node_config();
    cfg.mesh.mars_address = "localhost";
    cfg.mesh.mars_address_cache_ttl = std::chrono::seconds{1};
    auto n = c.add_node(cfg, node_options{});
    REQUIRE(c.converged({n}, 1));
    auto& self = c.self();
    auto first = stats_of(self, n)["mars_resolutions"].get<int>();
    CHECK(first >= 1);
    // Heartbeats every 500 ms: after 2.5 s the name was looked up again at
    // least twice, and the node stayed in the cluster.
    std::this_thread::sleep_for(2500ms);
    auto s = stats_of(self, n);
    CHECK(s["mars_resolutions"].get<int>() >= first + 2);
    CHECK(s["mars_resolutions"].get<int>() <= first + 4); // not once per heartbeat
    CHECK(s["part_of_cluster"] == true);
  }

  TEST_CASE("shared data set on one node is read on all, and removals propagate") {
    caf::actor_system sys{test_system_config()};
    node_cluster c{sys, 44200};
    c.start_mars();
    std::vector<caf::actor> nodes{c.add_node("HTTP"), c.add_node("UDP"), c.add_node("TCP")};
    REQUIRE(c.converged(nodes, 3));
    auto log = std::make_shared<event_log>();
    auto& self = c.self();
    self->send(nodes[2], subscribe_atom::value, spawn_event_recorder(sys, log));
    auto key = std::string(54, 'k'); // the longest key allowed
    self->request(nodes[0], 3s, set_shared_atom::value, key, int16_t{-7})
      .receive([] {}, [](caf::error& err) { FAIL(to_string(err)); });
    auto shared_on = [&](const caf::actor& n, const std::string& k) {
      std::pair<int16_t, bool> result;
      self->request(n, 3s, shared_atom::value, k)
        .receive(
          [&](int16_t v, bool found) {
            result = {v, found};
          },
          [](caf::error& err) { FAIL(to_string(err)); });
      return result;
    };
    for (const auto& n : nodes)
      REQUIRE(eventually([&] { return shared_on(n, key) == std::pair<int16_t, bool>{-7, true}; }));
    // (the recorder hears of it after the node answered: a message later)
    CHECK(eventually([&] { return log->count("shared " + key + "=-7") == 1; }));
    // A 55-character key is refused with a clear error and goes nowhere.
    auto err = ask_error(self, nodes[1], set_shared_atom::value, std::string(55, 'k'), int16_t{1});
    CHECK(is(err, mesh_errc::invalid_argument));
    CHECK(context_of(err).find("54") != std::string::npos);
    CHECK(ask<bool>(self, nodes[1], remove_shared_atom::value, key));
    for (const auto& n : nodes)
      REQUIRE(eventually([&] { return !shared_on(n, key).second; }));
    CHECK(eventually([&] { return log->count("shared_removed " + key) == 1; }));
    CHECK_FALSE(ask<bool>(self, nodes[1], remove_shared_atom::value, std::string{"never"}));
  }

  TEST_CASE("app names are namespaces that do not see each other") {
    caf::actor_system sys{test_system_config()};
    node_cluster c{sys, 44300};
    c.start_mars();
    auto a1 = c.add_node("HTTP", "alpha");
    auto a2 = c.add_node("UDP", "alpha");
    auto b1 = c.add_node("HTTP", "beta");
    REQUIRE(c.converged({a1, a2}, 2));
    REQUIRE(c.converged({b1}, 1));
    auto& self = c.self();
    self->request(b1, 3s, set_shared_atom::value, std::string{"rooms"}, int16_t{3})
      .receive([] {}, [](caf::error& err) { FAIL(to_string(err)); });
    // Two more rounds with MARS: the beta value has had every chance.
    self->request(a1, 5s, wait_latest_atom::value)
      .receive([] {}, [](caf::error& err) { FAIL(to_string(err)); });
    CHECK(ask<std::vector<std::string>>(self, a1, addresses_atom::value, std::vector<std::string>{})
            .size()
          == 2);
    bool found = true;
    self->request(a1, 3s, shared_atom::value, std::string{"rooms"})
      .receive([&](int16_t, bool f) { found = f; }, [](caf::error&) {});
    CHECK_FALSE(found);
  }

  TEST_CASE("strict check drops a non-member's message and accepts members'") {
    caf::actor_system sys{test_system_config()};
    node_cluster c{sys, 44400};
    c.start_mars();
    auto strict_cfg = c.node_config();
    strict_cfg.mesh.strict_check_for_external = true;
    node_options opts;
    auto strict = c.add_node(strict_cfg, opts);
    auto member = c.add_node("UDP");
    REQUIRE(c.converged({strict, member}, 2));
    auto& self = c.self();
    auto log = std::make_shared<event_log>();
    self->send(strict, handle_atom::value, uint16_t{9}, spawn_handler(sys, log));
    auto strict_addr = c.address_of(strict);
    auto member_addr = c.address_of(member);
    // A member's message arrives.
    self->send(member, send_atom::value, uint16_t{9}, strict_addr, bytes_of("from a member"));
    REQUIRE(eventually([&] { return log->count("9 " + member_addr + " from a member") == 1; }));
    // A well-formed RUDP message from a raw socket that is not a member.
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    REQUIRE(fd >= 0);
    transport::session stranger{transport::session_options{}, wall_micros()};
    REQUIRE(stranger.send(encode_message(9, bytes_of("from outside")),
                          transport::reliability::reliable, 0));
    auto target = *transport::endpoint::parse(strict_addr);
    sockaddr_in sa{};
    target.to_sockaddr(sa);
    stranger.flush(0, [&](const uint8_t* data, size_t size) {
      ::sendto(fd, data, size, 0, reinterpret_cast<const sockaddr*>(&sa), sizeof(sa));
    });
    REQUIRE(eventually([&] { return stats_of(self, strict)["dropped_external"] == 1; }));
    ::close(fd);
    // The member still gets through, and the outsider's message never did.
    self->send(member, usend_atom::value, uint16_t{9}, strict_addr, bytes_of("again"));
    REQUIRE(eventually([&] { return log->count("9 " + member_addr + " again") == 1; }));
    CHECK(log->lines().size() == 2);
  }

  TEST_CASE("without strict check a non-member's message is accepted, bad ones are counted") {
    caf::actor_system sys{test_system_config()};
    node_cluster c{sys, 44500};
    c.start_mars();
    auto open_node = c.add_node("HTTP");
    REQUIRE(c.converged({open_node}, 1));
    auto& self = c.self();
    auto log = std::make_shared<event_log>();
    self->send(open_node, handle_atom::value, uint16_t{3}, spawn_handler(sys, log));
    // A guest: sends and receives, reads the view, is not listed.
    auto guest_cfg = c.node_config();
    node_options guest_opts;
    guest_opts.guest = true;
    auto guest = c.add_node(guest_cfg, guest_opts);
    REQUIRE(c.converged({guest}, 1));
    auto open_addr = c.address_of(open_node);
    CHECK(
      ask<std::vector<std::string>>(self, guest, addresses_atom::value, std::vector<std::string>{})
      == std::vector<std::string>{open_addr});
    auto guest_addr = c.address_of(guest);
    self->send(guest, send_atom::value, uint16_t{3}, open_addr, bytes_of("hello from a guest"));
    REQUIRE(eventually([&] { return log->count("3 " + guest_addr + " hello from a guest") == 1; }));
    // The guest never shows up in anyone's view.
    CHECK(c.converged({open_node}, 1, 100ms));
    // An unknown command and a truncated envelope: counted, logged, nothing lost.
    self->send(guest, send_atom::value, uint16_t{4}, open_addr, bytes_of("nobody handles 4"));
    self->send(guest, send_atom::value, uint16_t{3}, open_addr, bytes_of("after"));
    REQUIRE(eventually([&] { return log->count("3 " + guest_addr + " after") == 1; }));
    CHECK(stats_of(self, open_node)["unhandled"] == 1);
  }

  TEST_CASE(
    "every message says what it is: MARS records only from MARS, responses to the correlator") {
    caf::actor_system sys{test_system_config()};
    node_cluster c{sys, 44550};
    c.start_mars();
    auto target_node = c.add_node("HTTP");
    auto caller = c.add_node("UDP");
    REQUIRE(c.converged({target_node, caller}, 2));
    auto& self = c.self();
    auto log = std::make_shared<event_log>();
    self->send(target_node, handle_atom::value, uint16_t{3}, spawn_handler(sys, log));
    auto target_addr = c.address_of(target_node);
    // Requests and their responses: the responses reach the caller's
    // correlator from its peer link, none through the node.
    for (int i = 0; i < 20; ++i)
      CHECK(ask<byte_buffer>(self, caller, rpc_atom::value, health_check_command, target_addr,
                             byte_buffer{})
              .empty());
    auto caller_stats = stats_of(self, caller);
    CHECK(caller_stats["correlator"]["responses"] == 20);
    CHECK(caller_stats["responses_forwarded"] == 0);
    // From a raw socket: a MARS record (a view naming a node that does not
    // exist) and a response nobody asked for.
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    REQUIRE(fd >= 0);
    transport::session stranger{transport::session_options{}, wall_micros()};
    view_delta fake;
    fake.epoch = 1;
    fake.version = 1;
    node_record ghost;
    ghost.mesh_address = "127.0.0.1:1";
    fake.upserts.push_back(ghost);
    REQUIRE(stranger.send(encode(mars_message{fake}), transport::reliability::reliable, 0));
    envelope stray;
    stray.kind = envelope_kind::response;
    stray.id = 424242;
    REQUIRE(stranger.send(encode_envelope(stray), transport::reliability::reliable, 0));
    REQUIRE(
      stranger.send(encode_message(3, bytes_of("after")), transport::reliability::reliable, 0));
    auto target = *transport::endpoint::parse(target_addr);
    sockaddr_in sa{};
    target.to_sockaddr(sa);
    stranger.flush(0, [&](const uint8_t* data, size_t size) {
      ::sendto(fd, data, size, 0, reinterpret_cast<const sockaddr*>(&sa), sizeof(sa));
    });
    REQUIRE(eventually([&] { return log->lines().size() == 1; }));
    ::close(fd);
    auto s = stats_of(self, target_node);
    CHECK(s["malformed"] == 1);                    // the MARS record from a non-MARS address
    CHECK(s["correlator"]["late_responses"] == 1); // the stray response reached the correlator
    CHECK(is(ask_error(self, target_node, node_atom::value, std::string{"127.0.0.1:1"}),
             mesh_errc::unknown_node)); // no ghost in the view
    CHECK(c.converged({target_node, caller}, 2, 100ms));
  }

  TEST_CASE("leaving shows the node offline, then gone") {
    caf::actor_system sys{test_system_config()};
    node_cluster c{sys, 44600};
    c.start_mars();
    auto stays = c.add_node("HTTP");
    auto leaves = c.add_node("UDP");
    REQUIRE(c.converged({stays, leaves}, 2));
    auto log = std::make_shared<event_log>();
    auto& self = c.self();
    self->send(stays, subscribe_atom::value, spawn_event_recorder(sys, log));
    auto addr = c.address_of(leaves);
    self->request(leaves, 5s, leave_atom::value)
      .receive([] {}, [](caf::error& err) { FAIL(to_string(err)); });
    REQUIRE(eventually([&] { return log->count("left " + addr) == 1; }, 3s));
    auto offline = log->index_of("status " + addr + " offline");
    CHECK(offline >= 0);
    CHECK(offline < log->index_of("left " + addr));
    CHECK(c.converged({stays}, 1, 100ms));
  }

  TEST_CASE("a node spawned with join_when_told is known to nobody until join_atom") {
    // start_node holds the first heartbeat until the node's services take
    // their messages: a peer that learned of the node earlier could send
    // it a store request that only the node would get, and drop.
    caf::actor_system sys{test_system_config()};
    node_cluster c{sys, 45700};
    c.start_mars();
    auto known = c.add_node("HTTP");
    REQUIRE(c.converged({known}, 1));
    auto cfg = c.node_config();
    node_options opts;
    opts.type = "UDP";
    opts.heartbeat = 100ms;
    opts.join_when_told = true;
    auto held = c.add_node(cfg, opts);
    auto& self = c.self();
    auto held_address = c.address_of(held); // bound, and answers
    // ten of its heartbeats' time
    CHECK_FALSE(c.converged({known}, 2, 1s));
    self->send(held, join_atom::value);
    REQUIRE(c.converged({known, held}, 2));
    auto seen = ask<std::vector<std::string>>(self, known, addresses_atom::value,
                                              std::vector<std::string>{});
    CHECK(std::count(seen.begin(), seen.end(), held_address) == 1);
    self->send(held, join_atom::value); // a second join changes nothing
    CHECK(c.converged({known, held}, 2, 300ms));
  }

  TEST_CASE("a killed node is gone from every view within 3 s") {
    caf::actor_system sys{test_system_config()};
    node_cluster c{sys, 44700};
    c.start_mars();
    std::vector<caf::actor> nodes;
    for (int i = 0; i < 4; ++i)
      nodes.push_back(c.add_node(i % 2 ? "UDP" : "HTTP"));
    REQUIRE(c.converged(nodes, 4));
    auto victim = nodes.back();
    nodes.pop_back();
    c.self()->send_exit(victim, caf::exit_reason::kill);
    auto start = std::chrono::steady_clock::now();
    REQUIRE(c.converged(nodes, 3, 5s));
    CHECK(std::chrono::steady_clock::now() - start < 3s);
  }

  TEST_CASE("a killed node is removed as soon as a datagram to it bounces off its closed port") {
    caf::actor_system sys{test_system_config()};
    node_cluster c{sys, 53200};
    c.start_mars(60'000'000); // its heartbeats would take a minute to expire
    std::vector<caf::actor> nodes;
    for (int i = 0; i < 3; ++i)
      nodes.push_back(c.add_node("UDP"));
    REQUIRE(c.converged(nodes, 3));
    auto& self = c.self();
    auto victim = nodes.back();
    nodes.pop_back();
    auto victim_addr = ask<node_record>(self, victim, whoami_atom::value).mesh_address;
    self->send_exit(victim, caf::exit_reason::kill);
    // The first node's messages to it bounce (once its socket is closed, a
    // moment after the actor); the node tells MARS, whose own probe bounces.
    CHECK(eventually(
      [&] {
        self->send(nodes[0], usend_atom::value, uint16_t{9}, victim_addr, bytes_of("anyone?"));
        return c.converged({nodes[0]}, 2, 100ms);
      },
      5s));
    CHECK(stats_of(self, nodes[0])["suspects_reported"] >= 1);
    // MARS tells the other node at once.
    CHECK(c.converged(nodes, 2, 3s));
    CHECK(stats_of(self, nodes[1])["suspects_reported"] == 0);
  }

  TEST_CASE("a MARS restart heals every view with no spurious event") {
    caf::actor_system sys{test_system_config()};
    node_cluster c{sys, 44800};
    c.start_mars();
    std::vector<caf::actor> nodes;
    for (int i = 0; i < 3; ++i)
      nodes.push_back(c.add_node("HTTP"));
    REQUIRE(c.converged(nodes, 3));
    auto& self = c.self();
    self->request(nodes[0], 3s, set_shared_atom::value, std::string{"season"}, int16_t{4})
      .receive([] {}, [](caf::error& err) { FAIL(to_string(err)); });
    auto log = std::make_shared<event_log>();
    self->send(nodes[2], subscribe_atom::value, spawn_event_recorder(sys, log));
    REQUIRE(eventually([&] { return log->count("shared season=4") == 1; }));
    c.kill_mars();
    // Cut off: after two silent seconds the node says so, and keeps its view.
    REQUIRE(eventually([&] { return !ask<bool>(self, nodes[2], member_atom::value); }, 4s));
    // The query reads the clock; the event goes out with the next heartbeat.
    CHECK(eventually([&] { return log->count("mars_lost") == 1; }, 1s));
    c.start_mars();
    auto restarted = std::chrono::steady_clock::now();
    REQUIRE(eventually([&] { return log->count("mars_sync") == 2; }, 5s));
    CHECK(std::chrono::steady_clock::now() - restarted < 3s);
    for (const auto& n : nodes)
      CHECK(ask<bool>(self, n, member_atom::value));
    REQUIRE(c.converged(nodes, 3));
    // The restarted MARS got the shared data back from the nodes (with the
    // heartbeats after the sync: on a loaded machine, a moment later).
    bool found = false;
    int16_t value = 0;
    CHECK(eventually(
      [&] {
        self->request(nodes[1], 3s, shared_atom::value, std::string{"season"})
          .receive([&](int16_t v, bool f) { value = v, found = f; }, [](caf::error&) {});
        return found;
      },
      3s));
    CHECK(value == 4);
    for (const auto& line : log->lines())
      CHECK_MESSAGE(line.rfind("left", 0) != 0, line);
    CHECK(log->count("shared_removed season") == 0);
  }

  TEST_CASE("a late subscriber learns the present view, shared data and sync at once") {
    caf::actor_system sys{test_system_config()};
    node_cluster c{sys, 44950};
    c.start_mars();
    auto a = c.add_node("HTTP");
    auto b = c.add_node("UDP");
    REQUIRE(c.converged({a, b}, 2));
    auto& self = c.self();
    self->request(a, 3s, set_shared_atom::value, std::string{"rooms"}, int16_t{7})
      .receive([] {}, [](caf::error& err) { FAIL(to_string(err)); });
    REQUIRE(eventually([&] {
      bool found = false;
      self->request(b, 3s, shared_atom::value, std::string{"rooms"})
        .receive([&](int16_t, bool f) { found = f; }, [](caf::error&) {});
      return found;
    }));
    auto log = std::make_shared<event_log>();
    self->send(b, subscribe_atom::value, spawn_event_recorder(sys, log));
    auto joined_a = "joined " + c.address_of(a);
    auto joined_b = "joined " + c.address_of(b);
    REQUIRE(eventually([&] { return log->count("mars_sync") == 1; }));
    CHECK(log->index_of("ready") == 0);
    CHECK(log->count(joined_a) == 1);
    CHECK(log->count(joined_b) == 1);
    CHECK(log->count("shared rooms=7") == 1);
    CHECK(log->index_of(joined_a) < log->index_of("initial_sync"));
    CHECK(log->index_of("shared rooms=7") < log->index_of("initial_sync"));
  }

  TEST_CASE("with no MARS a node is not part of the cluster and probes calmly") {
    caf::actor_system sys{test_system_config()};
    node_cluster c{sys, 44900}; // MARS never starts
    auto lonely = c.add_node("HTTP");
    auto& self = c.self();
    std::this_thread::sleep_for(1600ms);
    CHECK_FALSE(ask<bool>(self, lonely, member_atom::value));
    auto stats = stats_of(self, lonely);
    // One probe per 500 ms heartbeat, each a single unreliable datagram.
    CHECK(stats["heartbeats"] >= 3);
    CHECK(stats["heartbeats"] <= 5);
    CHECK(stats["answers"] == 0);
  }

  TEST_CASE("64 nodes in one process converge") {
    caf::actor_system sys{test_system_config()};
    node_cluster c{sys, 45000};
    c.start_mars();
    std::vector<caf::actor> nodes;
    for (int i = 0; i < 64; ++i)
      nodes.push_back(c.add_node(i % 4 == 0 ? "HTTP" : "UDP"));
    REQUIRE(c.converged(nodes, 64, 15s));
    CHECK(
      ask<std::vector<std::string>>(c.self(), nodes[5], by_type_atom::value, std::string{"HTTP"})
        .size()
      == 16);
  }

} // TEST_SUITE
