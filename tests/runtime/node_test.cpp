// The public face's node handle and its typed functions, on real nodes.

#include "runtime/node.hpp"

#include <caf/all.hpp>
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "actors/mesh_envelope.hpp"
#include "runtime/command.hpp"
#include "runtime/meshrt.hpp"
#include "support/node_cluster.hpp"
#include "support/test_system.hpp"

using namespace meshrt;
using namespace meshrt::test;
using namespace std::chrono_literals;

namespace {

struct echo_request {
  std::string text;
  MSGPACK_DEFINE(text);
};

constexpr command<echo_request, echo_request> echo{77};

template<class Handle, class T>
T value_of(reply<Handle, T> r) {
  T result{};
  r.receive([&](T& x) { result = std::move(x); }, [](caf::error& err) { FAIL(to_string(err)); });
  return result;
}

template<class Handle>
void done(reply<Handle, void> r) {
  r.receive([] {}, [](caf::error& err) { FAIL(to_string(err)); });
}

} // namespace

TEST_SUITE("runtime.node") {

  TEST_CASE("a node handle answers typed queries and commands, and requests take the short path") {
    caf::actor_system sys{test_system_config()};
    node_cluster c{sys, 45500};
    c.start_mars();
    auto cfg = c.node_config();
    node_options a_opts;
    a_opts.type = "HTTP";
    auto a = start_node(sys, cfg, a_opts);
    node_options b_opts;
    b_opts.type = "UDP";
    auto b = start_node(sys, cfg, b_opts);
    REQUIRE(a);
    REQUIRE(a.requester());
    REQUIRE(a.requester() != a.actor());
    REQUIRE(c.converged({a.actor(), b.actor()}, 2));
    caf::scoped_actor self{sys};
    auto a_addr = value_of(whoami(self, a)).mesh_address;
    auto b_addr = value_of(whoami(self, b)).mesh_address;
    CHECK(value_of(get_node(self, a, b_addr)).type == "UDP");
    CHECK(value_of(node_addresses_by_type(self, a, "UDP")) == std::vector<std::string>{b_addr});
    CHECK(value_of(node_addresses(self, a, {a_addr})) == std::vector<std::string>{b_addr});
    CHECK(value_of(node_role_by_type(self, a, "UDP")) == "UDP");
    CHECK(value_of(is_part_of_cluster(self, a)));
    // An unknown address is an error, not a value.
    bool unknown = false;
    get_node(self, a, "127.0.0.1:1")
      .receive([](node_record&) {},
               [&](caf::error& e) { unknown = is(e, mesh_errc::unknown_node); });
    CHECK(unknown);
    // Commands, then the shared value as an optional.
    done(set_node_role(self, a, dgs_role));
    CHECK(value_of(whoami(self, a)).role == dgs_role);
    CHECK_FALSE(value_of(shared_data(self, b, "seats")).has_value());
    done(set_shared_data(self, a, "seats", 9));
    REQUIRE(eventually([&] { return value_of(shared_data(self, b, "seats")) == int16_t{9}; }));
    CHECK(value_of(remove_shared_data(self, b, "seats")));
    // Handlers and requests: meshrt::request on the handle goes to the
    // correlator, so the node itself sees no request message.
    done(
      handle(self, b, echo.id,
             command_function(echo, [](const echo_request& r, const std::string&) { return r; })));
    CHECK(value_of(is_command_duplicate(self, b, echo.id)));
    for (int i = 0; i < 5; ++i)
      request(self, a, echo, b_addr, echo_request{"hi"})
        .receive([](echo_request& r) { CHECK(r.text == "hi"); },
                 [](caf::error& err) { FAIL(to_string(err)); });
    CHECK(value_of(send_rpc(self, a, health_check_command, b_addr, byte_buffer{})).empty());
    auto stats = nlohmann::json::parse(value_of(node_stats(self, a)));
    CHECK(stats["correlator"]["requests"] == 6);
    CHECK(stats["correlator"]["responses"] == 6);
    // Events come typed: a late subscriber learns the view at once.
    auto log = std::make_shared<event_log>();
    subscribe(self, a, spawn_event_recorder(sys, log));
    REQUIRE(eventually([&] { return log->count("joined " + b_addr) == 1; }));
    CHECK(log->index_of("ready") == 0);
    done(leave(self, b));
    REQUIRE(eventually([&] { return log->count("left " + b_addr) == 1; }, 5s));
    self->send_exit(a.actor(), caf::exit_reason::user_shutdown);
  }

} // TEST_SUITE
