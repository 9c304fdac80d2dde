#include "runtime/logging.hpp"

#include <stdexcept>

#include <doctest/doctest.h>
#include <spdlog/spdlog.h>

TEST_SUITE("runtime.logging") {

  TEST_CASE("each component has one named logger") {
    auto a = meshrt::logger("transport");
    auto b = meshrt::logger("transport");
    CHECK(a.get() == b.get());
    CHECK(a->name() == "transport");
    CHECK(meshrt::logger("mars").get() != a.get());
  }

  TEST_CASE("set_log_level applies to present and future loggers") {
    auto existing = meshrt::logger("node");
    meshrt::set_log_level("debug");
    CHECK(existing->level() == spdlog::level::debug);
    CHECK(meshrt::logger("dm-level-test")->level() == spdlog::level::debug);
    meshrt::set_log_level("off");
    CHECK(existing->level() == spdlog::level::off);
    meshrt::set_log_level("info");
  }

  TEST_CASE("an unknown level is rejected with the accepted names") {
    try {
      meshrt::set_log_level("loud");
      FAIL("expected std::invalid_argument");
    } catch (const std::invalid_argument& e) {
      CHECK(std::string{e.what()}
            == "invalid log level 'loud' (expected one of: trace, debug, info, warn, error, "
               "critical, off)");
    }
  }

} // TEST_SUITE
