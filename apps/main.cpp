// The meshrt command-line program: one binary, one subcommand per job.

#include <cstdio>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "runtime/config.hpp"
#include "runtime/config_error.hpp"
#include "runtime/logging.hpp"
#include "runtime/version.hpp"

namespace {

constexpr int exit_usage = 2;

/// Every subcommand takes --log-level; the last one given wins.
void add_log_level(CLI::App& app, std::string& level) {
  app.add_option("--log-level", level, "Log verbosity: " + std::string{meshrt::log_level_names()})
    ->check([](const std::string& value) -> std::string {
      try {
        meshrt::set_log_level(value);
      } catch (const std::invalid_argument& e) {
        return e.what();
      }
      return {};
    });
}

int run_config_check(const std::string& path) {
  auto cfg = meshrt::load_config(path);
  auto log = meshrt::logger("config");
  for (const auto& warning : cfg.warnings)
    log->warn("{}: {}", path, warning);
  std::cout << meshrt::to_json(cfg) << '\n';
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"meshrt: an actor runtime for game-server clusters (mesh + DM)", "meshrt"};
  app.require_subcommand(1);
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return "meshrt: " + std::string{e.what()} + " (see meshrt --help)\n";
  });
  app.set_version_flag("--version",
                       "meshrt " + meshrt::version() + " (CAF " + meshrt::caf_version() + ")");
  std::string log_level = "info";
  add_log_level(app, log_level);

  auto* config_cmd = app.add_subcommand("config", "Work with configuration files");
  config_cmd->require_subcommand(1);
  add_log_level(*config_cmd, log_level);
  auto* check_cmd = config_cmd->add_subcommand(
    "check", "Validate a config file and print the effective configuration as JSON");
  std::string config_path;
  check_cmd->add_option("FILE", config_path, "JSON config file")->required();
  add_log_level(*check_cmd, log_level);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" that exit 0; real ones print one line.
    return app.exit(e) == 0 ? 0 : exit_usage;
  }

  try {
    if (*check_cmd)
      return run_config_check(config_path);
  } catch (const meshrt::config_error& e) {
    std::fprintf(stderr, "meshrt: %s\n", e.what());
    return exit_usage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "meshrt: %s\n", e.what());
    return 1;
  }
  return 0;
}
