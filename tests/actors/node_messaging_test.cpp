// Requests, sends and fan-out between mesh nodes in one process, on real
// loopback sockets: typed commands, every error kind provoked for real, the
// request correlator under load, SendMany trees.

#include <atomic>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "actors/fanout_plan.hpp"
#include "actors/mesh_envelope.hpp"
#include "actors/mesh_error.hpp"
#include "runtime/command.hpp"
#include "runtime/request_data.hpp"
#include "runtime/transport_data.hpp"
#include "support/node_cluster.hpp"
#include "support/test_system.hpp"
#include "transport/atoms.hpp"

using namespace meshrt;
using namespace meshrt::test;
using namespace std::chrono_literals;

namespace {

struct greet_request {
  std::string name;
  MSGPACK_DEFINE(name);
};

struct greet_response {
  std::string text;
  uint32_t count = 0;
  MSGPACK_DEFINE(text, count);
};

constexpr command<greet_request, greet_response> greet{100};
// Same id, other types: what a caller with a stale schema sends.
constexpr command<uint64_t, greet_response> greet_with_number{100};

caf::actor greeter(caf::actor_system& sys) {
  auto count = std::make_shared<std::atomic<uint32_t>>(0);
  return spawn_command_handler(sys, greet, [count](const greet_request& r, const std::string&) {
    return greet_response{"hello, " + r.name, ++*count};
  });
}

/// Blocking typed call; the response or the error.
caf::expected<greet_response> call_greet(caf::scoped_actor& self, const caf::actor& node,
                                         const std::string& addr, const std::string& name,
                                         caf::timespan timeout = default_request_timeout) {
  caf::expected<greet_response> result = caf::error{};
  request(self, node, greet, addr, greet_request{name}, timeout)
    .receive([&](greet_response& r) { result = std::move(r); },
             [&](caf::error& e) { result = std::move(e); });
  return result;
}

/// A byte RPC; the response or the error.
caf::expected<byte_buffer> call_bytes(caf::scoped_actor& self, const caf::actor& node,
                                      uint16_t command, const std::string& addr,
                                      const byte_buffer& payload, caf::timespan timeout = 3s) {
  caf::expected<byte_buffer> result = caf::error{};
  self->request(node, timeout + 2s, rpc_atom::value, command, addr, payload, timeout)
    .receive([&](byte_buffer& b) { result = std::move(b); },
             [&](caf::error& e) { result = std::move(e); });
  return result;
}

byte_buffer bytes_of(const std::string& s) {
  return byte_buffer(s.begin(), s.end());
}

std::string text_of(const byte_buffer& b) {
  return std::string(b.begin(), b.end());
}

nlohmann::json stats_of(caf::scoped_actor& self, const caf::actor& node) {
  return nlohmann::json::parse(ask<std::string>(self, node, stats_atom::value));
}

/// A handler actor that answers each request `delay` later, through a
/// response promise.
caf::actor slow_handler(caf::actor_system& sys, std::chrono::milliseconds delay) {
  using reply_atom = caf::atom_constant<caf::atom("reply")>;
  return sys.spawn(
    [](caf::event_based_actor* self, std::chrono::milliseconds delay) -> caf::behavior {
      return {
        [=](mesh_request_atom, uint16_t, const std::string&, const byte_buffer& data) {
          auto rp = self->make_response_promise<byte_buffer>();
          self->delayed_send(self, delay, reply_atom::value, data, rp);
          return rp;
        },
        [=](reply_atom, const byte_buffer& data, caf::typed_response_promise<byte_buffer>& rp) {
          rp.deliver(data);
        },
      };
    },
    delay);
}

/// Records one-way messages: "<command> <sender> <payload>".
caf::actor recorder(caf::actor_system& sys, std::shared_ptr<event_log> log) {
  return sys.spawn(
    [](caf::event_based_actor*, std::shared_ptr<event_log> log) -> caf::behavior {
      return {
        [=](mesh_message_atom, uint16_t cmd, const std::string& from, const byte_buffer& data) {
          log->add(std::to_string(cmd) + " " + from + " " + text_of(data));
        },
        [=](transport::send_failed_atom, const std::string& peer, const caf::error& err) {
          log->add("failed " + peer + " " + to_string(static_cast<mesh_errc>(err.code())));
        },
      };
    },
    log);
}

} // namespace

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(caf::typed_response_promise<meshrt::byte_buffer>)

TEST_SUITE("actors.node_messaging") {

  TEST_CASE("typed commands between three nodes, and to oneself without the network") {
    caf::actor_system sys{test_system_config()};
    node_cluster c{sys, 47000};
    auto nodes = c.start({"HTTP", "UDP", "MATCH"});
    auto a = nodes[0];
    auto b = nodes[1];
    auto d = nodes[2];
    auto& self = c.self();
    self->send(b, handle_atom::value, greet.id, greeter(sys));
    CHECK_FALSE(ask<bool>(self, a, is_duplicate_atom::value, greet.id));
    CHECK(ask<bool>(self, b, is_duplicate_atom::value, greet.id));
    auto addr_b = c.address_of(b);
    auto r1 = call_greet(self, a, addr_b, "ann");
    REQUIRE_MESSAGE(r1, to_string(r1.error()));
    CHECK(r1->text == "hello, ann");
    CHECK(r1->count == 1);
    auto r2 = call_greet(self, d, addr_b, "bo");
    REQUIRE(r2);
    CHECK(r2->count == 2);
    // b calls itself: answered in place, nothing crosses the wire.
    auto before = stats_of(self, b);
    auto r3 = call_greet(self, b, addr_b, "me");
    REQUIRE(r3);
    CHECK(r3->text == "hello, me");
    auto after = stats_of(self, b);
    CHECK(after["requests_in"] == before["requests_in"]);
    CHECK(after["correlator"]["requests"] == before["correlator"]["requests"]);
    // The built-in health check answers on every node, itself included.
    CHECK(call_bytes(self, a, health_check_command, addr_b, {}));
    CHECK(call_bytes(self, a, health_check_command, c.address_of(a), {}));
    // and cannot be taken over.
    CHECK(is(ask_error(self, b, handle_atom::value, health_check_command, greeter(sys)),
             mesh_errc::invalid_argument));
  }

  TEST_CASE("every error kind, provoked for real") {
    caf::actor_system sys{test_system_config()};
    node_cluster c{sys, 47100};
    c.start_mars();
    auto cfg = c.node_config();
    cfg.mesh.retry_timeout = 600ms; // a killed peer is given up on quickly
    auto a = c.add_node(cfg, node_options{});
    auto b = c.add_node(cfg, node_options{});
    auto victim = c.add_node(cfg, node_options{});
    REQUIRE(c.converged({a, b, victim}, 3));
    auto& self = c.self();
    auto addr_b = c.address_of(b);
    // Handler error: the handler throws, or answers with an error.
    self->send(
      b, handle_atom::value, uint16_t{1},
      spawn_handler(sys, [](const byte_buffer&, const std::string&) -> caf::expected<byte_buffer> {
        throw std::runtime_error("the dice are on fire");
      }));
    self->send(
      b, handle_atom::value, uint16_t{2},
      spawn_handler(sys, [](const byte_buffer&, const std::string&) -> caf::expected<byte_buffer> {
        return make_error(mesh_errc::handler_error, "room is full");
      }));
    self->send(b, handle_atom::value, greet.id, greeter(sys));
    self->send(b, handle_atom::value, uint16_t{4}, slow_handler(sys, 800ms));
    auto thrown = call_bytes(self, a, 1, addr_b, {});
    REQUIRE_FALSE(thrown);
    CHECK(is(thrown.error(), mesh_errc::handler_error));
    CHECK(context_of(thrown.error()).find("the dice are on fire") != std::string::npos);
    CHECK(is_request_error(thrown.error()));
    CHECK_FALSE(is_send_error(thrown.error()));
    auto refused = call_bytes(self, a, 2, addr_b, {});
    REQUIRE_FALSE(refused);
    CHECK(is(refused.error(), mesh_errc::handler_error));
    CHECK(context_of(refused.error()).find("room is full") != std::string::npos);
    // No handler.
    auto nobody = call_bytes(self, a, 3, addr_b, {});
    REQUIRE_FALSE(nobody);
    CHECK(is(nobody.error(), mesh_errc::no_handler));
    CHECK(is_request_error(nobody.error()));
    // Invalid data: the payload is not a greet_request.
    caf::error wrong;
    request(self, a, greet_with_number, addr_b, uint64_t{12345})
      .receive([](greet_response&) {}, [&](caf::error& e) { wrong = e; });
    CHECK(is(wrong, mesh_errc::invalid_data));
    // Request timeout: a slow handler; its late answer is dropped, counted.
    auto slow = call_bytes(self, a, 4, addr_b, bytes_of("x"), 200ms);
    REQUIRE_FALSE(slow);
    CHECK(is(slow.error(), mesh_errc::request_timeout));
    CHECK(is_request_timeout_error(slow.error()));
    CHECK(is_request_error(slow.error()));
    REQUIRE(eventually([&] { return stats_of(self, a)["correlator"]["late_responses"] == 1; }));
    // A patient caller gets the slow answer.
    auto patient = call_bytes(self, a, 4, addr_b, bytes_of("y"), 3s);
    REQUIRE(patient);
    CHECK(text_of(*patient) == "y");
    // Network error: the target is killed; the transport gives up on it.
    auto addr_v = c.address_of(victim);
    self->send(victim, handle_atom::value, greet.id, greeter(sys));
    REQUIRE(call_greet(self, a, addr_v, "still here"));
    self->send_exit(victim, caf::exit_reason::kill);
    // Once the cluster sees it gone, its socket is long closed. (A request
    // sent in the instant before would be acknowledged by the dying
    // transport and time out instead.)
    REQUIRE(c.converged({a}, 2));
    auto gone = call_greet(self, a, addr_v, "gone?", 10s);
    REQUIRE_FALSE(gone);
    CHECK_MESSAGE(is(gone.error(), mesh_errc::network_error), to_string(gone.error()));
    CHECK(is_send_error(gone.error()));
    // Unhealthy: the health check that followed went unanswered, so the
    // next request fails at once.
    REQUIRE(eventually([&] {
      auto r = call_greet(self, a, addr_v, "anyone?", 10s);
      return !r && is(r.error(), mesh_errc::unhealthy);
    }));
    auto t0 = std::chrono::steady_clock::now();
    auto fast = call_greet(self, a, addr_v, "anyone?", 10s);
    CHECK(std::chrono::steady_clock::now() - t0 < 1s);
    REQUIRE_FALSE(fast);
    CHECK(is_unhealthy_error(fast.error()));
    // The rest of the cluster is unaffected.
    CHECK(call_greet(self, a, addr_b, "fine"));
    // Addresses and sizes that can never work fail at once.
    auto bad = call_bytes(self, a, 1, "not-an-address", {});
    REQUIRE_FALSE(bad);
    CHECK(is(bad.error(), mesh_errc::invalid_address));
    auto huge = call_bytes(self, a, 1, addr_b, byte_buffer(10'000'001));
    REQUIRE_FALSE(huge);
    CHECK(is(huge.error(), mesh_errc::message_too_large));
  }

  TEST_CASE("requests to a member that was killed fail once it is gone, not at their timeout") {
    caf::actor_system sys{test_system_config()};
    node_cluster c{sys, 53300};
    // MARS forgets a silent member only after a minute: what ends the
    // request is the correlator's probe of a request waiting, which
    // bounces off the dead process's port, and the view losing it then.
    c.start_mars(60'000'000);
    auto cfg = c.node_config();
    cfg.mesh.retry_timeout = 10s; // only the closed port can make it fast
    auto a = c.add_node(cfg, node_options{});
    auto victim = c.add_node(cfg, node_options{});
    REQUIRE(c.converged({a, victim}, 2));
    auto& self = c.self();
    auto addr_v = c.address_of(victim);
    self->send(victim, handle_atom::value, uint16_t{4}, slow_handler(sys, 60s));
    // A request the victim took (its transport acknowledged it) and will
    // never answer: the process dies.
    auto t0 = std::chrono::steady_clock::now();
    auto taken = self->request(a, 60s, rpc_atom::value, uint16_t{4}, addr_v, bytes_of("x"),
                               caf::timespan{40s});
    REQUIRE(eventually([&] { return stats_of(self, victim)["requests_in"] >= 1; }));
    self->send_exit(victim, caf::exit_reason::kill);
    caf::error err;
    taken.receive([](byte_buffer&) { FAIL("a dead node answered"); },
                  [&](caf::error& e) { err = std::move(e); });
    auto took = std::chrono::steady_clock::now() - t0;
    MESSAGE("the request the dead member had taken failed after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
    CHECK_MESSAGE(is(err, mesh_errc::network_error), to_string(err));
    CHECK(context_of(err).find("port is closed") != std::string::npos);
    CHECK(stats_of(self, a)["correlator"]["probes"] >= 1);
    CHECK_MESSAGE(took < 8s,
                  "took " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                          << " ms");
    // It is gone from the view, and the next request fails at once.
    CHECK(c.converged({a}, 1, 1s));
    auto t1 = std::chrono::steady_clock::now();
    auto next = call_bytes(self, a, 4, addr_v, bytes_of("y"), 30s);
    CHECK_FALSE(next);
    CHECK(std::chrono::steady_clock::now() - t1 < 1s);
    auto transport = ask<caf::actor>(self, a, transport_atom::value);
    auto link = nlohmann::json::parse(
      ask<std::string>(self, transport, stats_atom::value))["peers"][addr_v];
    CHECK_MESSAGE(link["abandoned"] >= 1, link.dump());
  }

  TEST_CASE("map-style requests and TransportData cross the wire") {
    caf::actor_system sys{test_system_config()};
    node_cluster c{sys, 47800};
    auto nodes = c.start({"HTTP", "HTTP"});
    auto a = nodes[0];
    auto b = nodes[1];
    auto& self = c.self();
    auto addr_b = c.address_of(b);
    // HandleCommand / SendRequest: a map in, a map out.
    constexpr command<request_data, request_data> join{30};
    self->send(
      b, handle_atom::value, join.id,
      spawn_command_handler(
        sys, join, [](const request_data& req, const std::string&) -> caf::expected<request_data> {
          auto room = req.get_string("room");
          auto seats = req.get_uint8("seats");
          if (!room || !seats)
            return room ? seats.error() : room.error();
          return request_data{}.set("joined", "room " + *room).set("seats_left", *seats - 1);
        }));
    request_data answer;
    caf::error failure;
    request(self, a, join, addr_b, request_data{}.set("room", "lobby").set("seats", 4))
      .receive([&](request_data& r) { answer = std::move(r); },
               [&](caf::error& e) { failure = std::move(e); });
    REQUIRE_MESSAGE(!failure, to_string(failure));
    CHECK(*answer.get_string("joined") == "room lobby");
    CHECK(*answer.get_int("seats_left") == 3);
    // A wrong type in the request is the handler's invalid_data, named.
    request(self, a, join, addr_b, request_data{}.set("room", "lobby").set("seats", "many"))
      .receive([&](request_data&) { FAIL("a wrong type was accepted"); },
               [&](caf::error& e) { failure = std::move(e); });
    CHECK(is(failure, mesh_errc::invalid_data));
    CHECK(context_of(failure).find("key 'seats'") != std::string::npos);
    // Bytes that are no map at all: invalid data before the handler runs.
    auto not_a_map = call_bytes(self, a, join.id, addr_b, pack(42));
    REQUIRE_FALSE(not_a_map);
    CHECK(is(not_a_map.error(), mesh_errc::invalid_data));
    // SendRPC with TransportData, as in the reference's example.
    transport_data_schema profile{{{"name", property_type::string},
                                   {"counter", property_type::int64},
                                   {"list", property_type::uint32_array}}};
    self->send(
      b, handle_atom::value, uint16_t{31},
      spawn_handler(
        sys, [profile](const byte_buffer& data, const std::string&) -> caf::expected<byte_buffer> {
          auto td = profile.make();
          if (auto err = td.unpack(data))
            return err;
          td.set_as_int("counter", *td.get_as_int("counter") + 1);
          return td.pack();
        }));
    auto td = profile.make();
    td.set_as_string("name", "John");
    td.set_as_int("counter", 41);
    td.set_as_uint32_array("list", {10, 20, 2});
    auto reply = call_bytes(self, a, 31, addr_b, td.pack());
    REQUIRE(reply);
    auto back = profile.make();
    REQUIRE_FALSE(back.unpack(*reply));
    CHECK(*back.get_as_string("name") == "John");
    CHECK(*back.get_as_int("counter") == 42);
    CHECK(*back.get_as_uint32_array("list") == std::vector<uint32_t>{10, 20, 2});
  }

  TEST_CASE("several handlers on one command: one-way to all, requests through the chain, "
            "functions run inside the node") {
    caf::actor_system sys{test_system_config()};
    node_cluster c{sys, 47200};
    auto nodes = c.start({"HTTP", "HTTP"});
    auto a = nodes[0];
    auto b = nodes[1];
    auto& self = c.self();
    auto log = std::make_shared<event_log>();
    auto first = spawn_handler(sys, [log](const byte_buffer& data, const std::string&) {
      log->add("first " + text_of(data));
      return caf::expected<byte_buffer>{bytes_of("from first")};
    });
    auto second = spawn_handler(sys, [log](const byte_buffer& data, const std::string&) {
      log->add("second " + text_of(data));
      return caf::expected<byte_buffer>{bytes_of("from second")};
    });
    // A function the node runs itself, between the two actors.
    handler_function inline_fn = [log](const byte_buffer& data, const std::string&) {
      log->add("inline " + text_of(data));
      return caf::expected<byte_buffer>{bytes_of("from inline")};
    };
    self->send(b, handle_atom::value, uint16_t{9}, first);
    self->send(b, handle_atom::value, uint16_t{9}, inline_fn);
    self->send(b, handle_atom::value, uint16_t{9}, second);
    auto r = call_bytes(self, a, 9, c.address_of(b), bytes_of("q"));
    REQUIRE(r);
    CHECK(text_of(*r) == "from second");
    CHECK(log->lines() == std::vector<std::string>{"first q", "inline q", "second q"});
    // An in-node function alone answers; one that throws is a handler error
    // and the node goes on.
    self->send(b, handle_atom::value, uint16_t{10}, inline_fn);
    auto in_node = call_bytes(self, a, 10, c.address_of(b), bytes_of("r"));
    REQUIRE(in_node);
    CHECK(text_of(*in_node) == "from inline");
    self->send(
      b, handle_atom::value, uint16_t{11},
      handler_function{[](const byte_buffer&, const std::string&) -> caf::expected<byte_buffer> {
        throw std::runtime_error("inline trouble");
      }});
    auto thrown = call_bytes(self, a, 11, c.address_of(b), {});
    REQUIRE_FALSE(thrown);
    CHECK(is(thrown.error(), mesh_errc::handler_error));
    CHECK(context_of(thrown.error()).find("inline trouble") != std::string::npos);
    CHECK(is(ask_error(self, b, handle_atom::value, health_check_command, inline_fn),
             mesh_errc::invalid_argument));
    self->send(a, send_atom::value, uint16_t{9}, c.address_of(b), bytes_of("m"));
    REQUIRE(eventually([&] {
      return log->count("first m") == 1 && log->count("inline m") == 1
             && log->count("second m") == 1;
    }));
  }

  TEST_CASE("the requester takes the node's requests one hop sooner, every caller is answered, "
            "also when the node stops") {
    caf::actor_system sys{test_system_config()};
    node_cluster c{sys, 47250};
    auto nodes = c.start({"HTTP", "HTTP"});
    auto a = nodes[0];
    auto b = nodes[1];
    auto& self = c.self();
    auto addr_a = c.address_of(a);
    auto addr_b = c.address_of(b);
    self->send(a, handle_atom::value, greet.id, greeter(sys));
    self->send(b, handle_atom::value, greet.id, greeter(sys));
    self->send(a, handle_atom::value, uint16_t{4}, slow_handler(sys, 2s));
    self->send(b, handle_atom::value, uint16_t{4}, slow_handler(sys, 2s));
    auto requester = ask<caf::actor>(self, a, requester_atom::value);
    REQUIRE(requester);
    CHECK(requester != a);
    // The same messages as the node's, the same answers.
    auto remote = call_greet(self, requester, addr_b, "ann");
    REQUIRE_MESSAGE(remote, to_string(remote.error()));
    CHECK(remote->text == "hello, ann");
    auto before = stats_of(self, a);
    auto own = call_greet(self, requester, addr_a, "me"); // handed back to the node
    REQUIRE(own);
    CHECK(own->text == "hello, me");
    CHECK(stats_of(self, a)["correlator"]["requests"] == before["correlator"]["requests"]);
    CHECK(is(ask_error(self, requester, rpc_atom::value, uint16_t{1}, std::string{"nowhere"},
                       byte_buffer{}),
             mesh_errc::invalid_address));
    // Requests pending in the correlator (to b) and in the node itself (to
    // its own slow handler, 2 s) when the node stops: each caller hears of
    // it at once, long before either handler or the 10 s deadline answers.
    std::vector<caf::error> answers;
    auto collect = [&](const std::string& addr) {
      return self->request(a, 4s, rpc_atom::value, uint16_t{4}, addr, bytes_of("x"),
                           caf::timespan{10s});
    };
    auto to_b = collect(addr_b);
    auto to_self = collect(addr_a);
    std::this_thread::sleep_for(200ms); // both are under way
    auto t0 = std::chrono::steady_clock::now();
    self->send_exit(a, caf::exit_reason::user_shutdown);
    for (auto* pending : {&to_b, &to_self})
      pending->receive([&](byte_buffer&) { answers.emplace_back(); },
                       [&](caf::error& e) { answers.push_back(e); });
    CHECK(std::chrono::steady_clock::now() - t0 < 1s);
    REQUIRE(answers.size() == 2);
    for (const auto& e : answers) {
      CHECK_MESSAGE(is(e, mesh_errc::network_error), to_string(e));
      CHECK(context_of(e).find("stopped") != std::string::npos);
    }
  }

  TEST_CASE("10,000 concurrent requests complete with their own responses") {
    caf::actor_system sys{test_system_config()};
    node_cluster c{sys, 47300};
    auto nodes = c.start({"HTTP", "HTTP"});
    auto a = nodes[0];
    auto b = nodes[1];
    auto& self = c.self();
    // The handler echoes the request.
    self->send(b, handle_atom::value, uint16_t{5},
               spawn_handler(sys, [](const byte_buffer& data, const std::string&) {
                 return caf::expected<byte_buffer>{data};
               }));
    constexpr uint32_t total = 10'000;
    auto matched = std::make_shared<std::atomic<uint32_t>>(0);
    auto failed = std::make_shared<std::atomic<uint32_t>>(0);
    auto addr_b = c.address_of(b);
    // One event-based actor sends all of them before any answer arrives.
    // (Arguments go in as spawn arguments: CAF 0.17 spawning a function of
    // none binds a null reference.)
    sys.spawn(
      [](caf::event_based_actor* client, caf::actor a, std::string addr_b,
         std::shared_ptr<std::atomic<uint32_t>> matched,
         std::shared_ptr<std::atomic<uint32_t>> failed) -> caf::behavior {
        for (uint32_t i = 0; i < total; ++i) {
          auto payload = pack(i);
          client->request(a, 30s, rpc_atom::value, uint16_t{5}, addr_b, payload, caf::timespan{20s})
            .then(
              [=](const byte_buffer& answer) {
                auto n = unpack<uint32_t>(answer);
                if (n && *n == i)
                  ++*matched;
                else
                  ++*failed;
                if (*matched + *failed == total)
                  client->quit(); // its request timers go with it
              },
              [=](caf::error&) {
                if (++*failed + *matched == total)
                  client->quit();
              });
        }
        return {[](const caf::message&) {}};
      },
      a, addr_b, matched, failed);
    REQUIRE(eventually([&] { return *matched + *failed == total; }, 30s));
    CHECK(*matched == total);
    CHECK(*failed == 0);
    auto st = stats_of(self, a)["correlator"];
    CHECK(st["pending"] == 0);
    CHECK(st["responses"] == total);
  }

  TEST_CASE("Send and USend reach handlers, a reliable send to a dead node reports") {
    caf::actor_system sys{test_system_config()};
    node_cluster c{sys, 47400};
    c.start_mars();
    auto cfg = c.node_config();
    cfg.mesh.retry_timeout = 500ms;
    auto a = c.add_node(cfg, node_options{});
    auto b = c.add_node(cfg, node_options{});
    REQUIRE(c.converged({a, b}, 2));
    auto& self = c.self();
    auto log = std::make_shared<event_log>();
    auto rec = recorder(sys, log);
    self->send(b, handle_atom::value, uint16_t{3}, rec);
    self->send(a, handle_atom::value, uint16_t{3}, rec);
    auto addr_a = c.address_of(a);
    auto addr_b = c.address_of(b);
    self->send(a, send_atom::value, uint16_t{3}, addr_b, bytes_of("reliable"));
    self->send(a, usend_atom::value, uint16_t{3}, addr_b, bytes_of("unreliable"));
    self->send(a, send_atom::value, uint16_t{3}, addr_a, bytes_of("to myself"));
    REQUIRE(eventually([&] {
      return log->count("3 " + addr_a + " reliable") == 1
             && log->count("3 " + addr_a + " unreliable") == 1
             && log->count("3 " + addr_a + " to myself") == 1;
    }));
    // A reliable send to a killed node: the sending actor is told. Once the
    // cluster sees it gone its socket is long closed (a message sent in the
    // instant before would be acknowledged by the dying transport).
    self->send_exit(b, caf::exit_reason::kill);
    REQUIRE(c.converged({a}, 1));
    sys.spawn(
      [](caf::event_based_actor* sender, caf::actor node, std::string to,
         std::shared_ptr<event_log> log) -> caf::behavior {
        sender->send(node, send_atom::value, uint16_t{3}, to, bytes_of("to the dead"));
        return {
          [=](transport::send_failed_atom, const std::string& peer, const caf::error& err) {
            log->add("failed " + peer + " " + to_string(static_cast<mesh_errc>(err.code())));
          },
        };
      },
      a, addr_b, log);
    REQUIRE(eventually([&] { return log->count("failed " + addr_b + " network_error") == 1; }, 5s));
  }
}

TEST_SUITE("actors.node_fanout") {

  TEST_CASE("SendMany reaches 64 nodes once each, in the expected hops, for limits 1, 2, 4, 8") {
    caf::actor_system sys{test_system_config()};
    node_cluster c{sys, 47500};
    c.start_mars();
    auto& self = c.self();
    auto origin = c.add_node("HTTP");
    constexpr size_t n = 64;
    std::vector<caf::actor> nodes;
    std::vector<std::shared_ptr<event_log>> logs;
    for (size_t i = 0; i < n; ++i) {
      nodes.push_back(c.add_node("UDP"));
      logs.push_back(std::make_shared<event_log>());
      self->send(nodes.back(), handle_atom::value, uint16_t{20}, recorder(sys, logs.back()));
    }
    REQUIRE(c.converged({origin}, n + 1, 20s));
    std::vector<std::string> addrs;
    for (const auto& node : nodes)
      addrs.push_back(c.address_of(node));
    auto from = c.address_of(origin);
    for (uint16_t limit : {1, 2, 4, 8}) {
      CAPTURE(limit);
      auto line = "20 " + from + " limit " + std::to_string(limit);
      self->send(origin, send_many_atom::value, uint16_t{20}, addrs,
                 bytes_of("limit " + std::to_string(limit)), limit);
      REQUIRE(eventually([&] {
        for (const auto& log : logs)
          if (log->count(line) == 0)
            return false;
        return true;
      }));
      size_t deepest = 0;
      for (size_t i = 0; i < n; ++i) {
        CHECK(logs[i]->count(line) == 1);
        deepest = std::max(deepest, stats_of(self, nodes[i])["fanout_last_hops"].get<size_t>());
      }
      CHECK(deepest == fanout_depth(n, limit));
    }
    // USendMany takes the same tree, unreliably (nothing is lost on loopback).
    self->send(origin, usend_many_atom::value, uint16_t{20}, addrs, bytes_of("unreliable"),
               uint16_t{4});
    REQUIRE(eventually([&] {
      for (const auto& log : logs)
        if (log->count("20 " + from + " unreliable") != 1)
          return false;
      return true;
    }));
    // Limit 0 is refused.
    CHECK(is(ask_error(self, origin, send_many_atom::value, uint16_t{20}, addrs, bytes_of("x"),
                       uint16_t{0}),
             mesh_errc::invalid_argument));
  }

  TEST_CASE("only the fan-out that was lost is routed around, never one already delivered") {
    caf::actor_system sys{test_system_config()};
    node_cluster c{sys, 47650};
    c.start_mars();
    auto& self = c.self();
    auto cfg = c.node_config();
    cfg.mesh.retry_timeout = 500ms;
    auto origin = c.add_node(cfg, node_options{});
    auto child = c.add_node(cfg, node_options{});
    auto leaf = c.add_node(cfg, node_options{});
    REQUIRE(c.converged({origin}, 3));
    auto child_log = std::make_shared<event_log>();
    auto leaf_log = std::make_shared<event_log>();
    self->send(child, handle_atom::value, uint16_t{22}, recorder(sys, child_log));
    self->send(leaf, handle_atom::value, uint16_t{22}, recorder(sys, leaf_log));
    std::vector<std::string> chain{c.address_of(child), c.address_of(leaf)};
    auto from = c.address_of(origin);
    auto caller_log = std::make_shared<event_log>();
    auto caller = recorder(sys, caller_log);
    // Limit 1: origin -> child -> leaf. The first goes through whole.
    caf::send_as(caller, origin, send_many_atom::value, uint16_t{22}, chain, bytes_of("first"),
                 uint16_t{1});
    REQUIRE(eventually([&] { return leaf_log->count("22 " + from + " first") == 1; }));
    // The child dies within retryTimeout of acknowledging; the next one to
    // it is lost and routed around: the leaf gets it, and not the first
    // one again.
    self->send_exit(child, caf::exit_reason::kill);
    // Its socket closes within milliseconds; well within retryTimeout of
    // the first message, which must still not be sent twice.
    std::this_thread::sleep_for(200ms);
    caf::send_as(caller, origin, send_many_atom::value, uint16_t{22}, chain, bytes_of("second"),
                 uint16_t{1});
    REQUIRE(eventually([&] { return leaf_log->count("22 " + from + " second") == 1; }));
    REQUIRE(
      eventually([&] { return caller_log->count("failed " + chain[0] + " network_error") == 1; }));
    std::this_thread::sleep_for(700ms); // a wrongful second re-route would land by now
    CHECK(leaf_log->count("22 " + from + " first") == 1);
    CHECK(leaf_log->count("22 " + from + " second") == 1);
    CHECK(caller_log->count("failed " + chain[0] + " network_error") == 1);
    CHECK(stats_of(self, origin)["fanout_rerouted"] == 1);
  }

  TEST_CASE("SendMany routes around a dead branch node and tells the caller which it missed") {
    caf::actor_system sys{test_system_config()};
    node_cluster c{sys, 47700};
    c.start_mars();
    auto& self = c.self();
    auto cfg = c.node_config();
    cfg.mesh.retry_timeout = 500ms;
    auto origin = c.add_node(cfg, node_options{});
    constexpr size_t n = 16;
    std::vector<caf::actor> nodes;
    std::vector<std::shared_ptr<event_log>> logs;
    for (size_t i = 0; i < n; ++i) {
      nodes.push_back(c.add_node(cfg, node_options{}));
      logs.push_back(std::make_shared<event_log>());
      self->send(nodes.back(), handle_atom::value, uint16_t{21}, recorder(sys, logs.back()));
    }
    REQUIRE(c.converged({origin}, n + 1, 10s));
    std::vector<std::string> addrs;
    for (const auto& node : nodes)
      addrs.push_back(c.address_of(node));
    // With limit 2, addrs[0] heads the first half: 7 nodes hang below it;
    // addrs[9] heads a subtree of the second half, one level down.
    self->send_exit(nodes[0], caf::exit_reason::kill);
    self->send_exit(nodes[9], caf::exit_reason::kill);
    REQUIRE(c.converged({origin}, n - 1, 10s));
    auto caller_log = std::make_shared<event_log>();
    auto caller = recorder(sys, caller_log);
    caf::send_as(caller, origin, send_many_atom::value, uint16_t{21}, addrs, bytes_of("news"),
                 uint16_t{2});
    auto from = c.address_of(origin);
    REQUIRE(eventually(
      [&] {
        for (size_t i = 0; i < n; ++i)
          if (i != 0 && i != 9 && logs[i]->count("21 " + from + " news") != 1)
            return false;
        return true;
      },
      10s));
    REQUIRE(eventually([&] {
      return caller_log->count("failed " + addrs[0] + " network_error") == 1
             && caller_log->count("failed " + addrs[9] + " network_error") == 1;
    }));
    CHECK(logs[0]->lines().empty());
    CHECK(logs[9]->lines().empty());
  }
}
