#include "actors/mesh_config.hpp"

#include "runtime/config.hpp"

#include <doctest/doctest.h>

using namespace meshrt;

TEST_SUITE("actors.mesh_config") {

  TEST_CASE("mesh keys reach the transport") {
    auto cfg = parse_config(R"({"address": "127.0.0.3", "port": "9100", "retryInterval": 250,
                              "retryTimeout": 1500, "sendInterval": 5})",
                            "test.json", [](const std::string&) { return std::nullopt; });
    auto t = transport_config_of(cfg.mesh);
    CHECK(t.address == "127.0.0.3");
    CHECK(t.port == 9100);
    CHECK(t.session.retry_interval_us == 250'000);
    CHECK(t.session.retry_timeout_us == 1'500'000);
    CHECK(t.session.send_interval_us == 17'000); // raised to the minimum
  }

  TEST_CASE("defaults match the reference") {
    auto t = transport_config_of(mesh_config{});
    CHECK(t.address == "127.0.0.1");
    CHECK(t.port == 8000);
    CHECK(t.session.retry_interval_us == 1'000'000);
    CHECK(t.session.retry_timeout_us == 3'000'000);
    CHECK(t.session.send_interval_us == 0);
  }

} // TEST_SUITE
