// A node's metrics endpoint, scraped with curl before and after traffic:
// the counters move by what the nodes did.

#include "runtime/metrics.hpp"

#include <caf/all.hpp>
#include <doctest/doctest.h>

#include "runtime/meshrt.hpp"
#include "runtime/metrics_server.hpp"
#include "support/eventually.hpp"
#include "support/node_cluster.hpp"
#include "support/scrape.hpp"
#include "support/test_system.hpp"

using namespace meshrt;
using namespace meshrt::test;
using namespace std::chrono_literals;

namespace {

struct note {
  std::string text;
  MSGPACK_DEFINE(text);
};

constexpr command<note, note> echo{78};

} // namespace

TEST_SUITE("runtime.metrics") {

  TEST_CASE(
    "metrics scraped over HTTP move by the requests, handler errors and store writes made") {
    caf::actor_system sys{test_system_config()};
    node_cluster c{sys, 45560};
    c.start_mars();
    auto a = c.start_node("HTTP");
    auto b = c.start_node("HTTP");
    REQUIRE(c.converged({a.actor(), b.actor()}, 2));
    REQUIRE(store_rings_hold(c.self(), {a, b}, 2));
    auto b_addr = c.address_of(b.actor());
    metrics_server http_a{"127.0.0.1", 0, [&] { return node_metrics(sys, a); }};
    metrics_server http_b{"127.0.0.1", 0, [&] { return node_metrics(sys, b); }};
    REQUIRE(http_a.port() != 0);
    auto& self = c.self();
    handle(self, b, echo.id,
           command_function(echo,
                            [](const note& n, const std::string&) -> caf::expected<note> {
                              if (n.text == "bad")
                                return make_error(mesh_errc::invalid_argument, "refused");
                              return n;
                            }))
      .receive([] {}, [](caf::error& err) { FAIL(to_string(err)); });

    // The ring just grew to two nodes: the baseline is taken once its slots
    // have moved, or a key written meanwhile shows on both.
    REQUIRE(eventually([&] {
      return sample(scrape(http_a.port()), "meshrt_store_migrating_slots") == 0
             && sample(scrape(http_b.port()), "meshrt_store_migrating_slots") == 0;
    }));
    auto a0 = scrape(http_a.port());
    auto b0 = scrape(http_b.port());
    REQUIRE(sample(a0, "meshrt_requests_sent_total") >= 0);
    CHECK(sample(a0, "meshrt_scrape_part_up{part=\"store\"}") == 1);
    CHECK(sample(a0, "meshrt_view_nodes") == 2);
    CHECK(sample(a0, "process_resident_memory_bytes") > 0);
    // No client port, no gateway: its part is left out, not reported down.
    CHECK(sample(a0, "meshrt_scrape_part_up{part=\"gateway\"}") == -1);

    int ok = 0;
    int refused = 0;
    for (int i = 0; i < 9; ++i)
      request(self, a, echo, b_addr, note{i % 4 == 3 ? "bad" : "hello"})
        .receive([&](note&) { ++ok; }, [&](caf::error&) { ++refused; });
    REQUIRE(ok == 7);
    REQUIRE(refused == 2);
    for (int i = 0; i < 3; ++i)
      store_set(self, a, "metrics-key-" + std::to_string(i), "v")
        .receive([] {}, [](caf::error& err) { FAIL(to_string(err)); });

    auto a1 = scrape(http_a.port());
    auto b1 = scrape(http_b.port());
    auto delta
      = [](const std::string& before, const std::string& after, const std::string& series) {
          return sample(after, series) - sample(before, series);
        };
    CHECK(delta(a0, a1, "meshrt_requests_sent_total") == 9);
    CHECK(delta(a0, a1, "meshrt_responses_received_total") == 9);
    CHECK(sample(a1, "meshrt_requests_pending") == 0);
    CHECK(delta(b0, b1, "meshrt_requests_handled_total") == 9);
    CHECK(delta(b0, b1, "meshrt_handler_errors_total") == 2);
    CHECK(delta(a0, a1, "meshrt_handler_errors_total") == 0);
    CHECK(delta(a0, a1, "meshrt_store_requests_total") == 3);
    // Both nodes hold the three keys between them.
    CHECK(delta(a0, a1, "meshrt_store_entries") + delta(b0, b1, "meshrt_store_entries") == 3);
    auto peer = "{peer=\"" + b_addr + "\"}";
    CHECK(delta(a0, a1, "meshrt_transport_packets_sent_total" + peer) >= 9);
    CHECK(delta(a0, a1, "meshrt_transport_sent_bytes_total" + peer) >= 9 * 5);
    CHECK(sample(a1, "meshrt_transport_rtt_seconds" + peer) > 0);
    CHECK(sample(a1, "meshrt_transport_retransmits_total" + peer) >= 0);
    CHECK(http_status(http_a.port(), "/nothing-here") == 404);
    for (const auto& n : {a, b})
      self->send_exit(n.actor(), caf::exit_reason::user_shutdown);
  }

  TEST_CASE("a node of the I/O scheduler counts its worker's sleeps, one of CAF's does not") {
    caf::actor_system sys{io_system_config()};
    node_cluster c{sys, 45580};
    c.start_mars();
    auto a = c.start_node("UDP");
    REQUIRE(c.converged({a.actor()}, 1));
    // Idle but for its heartbeats and timers: each wakes the worker, which
    // sleeps again after its spin.
    auto first = sample(node_metrics(sys, a), "meshrt_worker_sleeps_total");
    CHECK(first > 0);
    CHECK(eventually(
      [&] { return sample(node_metrics(sys, a), "meshrt_worker_sleeps_total") > first; }, 3s));
    caf::actor_system other{test_system_config()};
    node_cluster d{other, 45590};
    d.start_mars();
    auto b = d.start_node("UDP");
    REQUIRE(d.converged({b.actor()}, 1));
    auto text = node_metrics(other, b);
    CHECK(sample(text, "process_cpu_seconds_total") >= 0);
    CHECK(sample(text, "meshrt_worker_sleeps_total") == -1);
  }

} // TEST_SUITE
