#pragma once

#include <string>

namespace meshrt::test {

/// What a finished child process left behind.
struct command_result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

/// Runs `shell_command` through /bin/sh and captures its stdout, stderr and
/// exit code. The command should bound its own run time (e.g. `timeout 10`).
command_result run_command(const std::string& shell_command);

} // namespace meshrt::test
