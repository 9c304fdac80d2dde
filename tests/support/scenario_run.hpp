#pragma once

// `meshrt bench scenario` run as a user runs it, for the tests that drive
// shipped scenarios (scenario_runner_test, chaos_namespaces_test).

#include <string>

#include <nlohmann/json.hpp>

#include "support/command.hpp"
#include "support/temp_dir.hpp"

namespace meshrt::test {

/// What a scenario run printed, and the JSON it wrote (null if none).
struct scenario_run {
  command_result cli;
  nlohmann::json doc;

  /// The value of `metric` in the JSON's results, -1 if absent.
  double figure(const std::string& metric) const;
};

/// Runs the shipped scenario `name` (benchmarks/scenarios/NAME.json) for
/// at most 120 s, its JSON written into `dir`.
scenario_run run_shipped(const std::string& name, const temp_dir& dir);

} // namespace meshrt::test
