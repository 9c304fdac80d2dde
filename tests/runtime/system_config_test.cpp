// The scheduling modes by name, as `meshrt node --scheduling` and
// `meshrt bench --scheduling` take them.

#include "runtime/system_config.hpp"

#include <stdexcept>
#include <string>

#include <doctest/doctest.h>

using namespace meshrt;

TEST_SUITE("runtime.system_config") {
  TEST_CASE("a scheduling mode's name reads back as that mode, and no other name does") {
    for (auto mode : {scheduling::latency, scheduling::efficiency})
      CHECK(parse_scheduling(to_string(mode)) == mode);
    CHECK(std::string{to_string(scheduling::latency)} == "latency");
    CHECK(std::string{to_string(scheduling::efficiency)} == "efficiency");
    for (const char* bad : {"", "Latency", "fast", "efficiency "})
      CHECK_THROWS_AS(parse_scheduling(bad), std::invalid_argument);
  }
}
