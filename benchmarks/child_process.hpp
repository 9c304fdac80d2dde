#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace meshrt::bench {

/// A program run by a benchmark or a test (MARS, a node), its stdout and
/// stderr going to a log file. The destructor kills it (SIGKILL) if it still
/// runs, so nothing is left behind.
class child_process {
public:
  child_process(const std::vector<std::string>& args, std::string log_path);
  ~child_process();

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const {
    return pid_;
  }

  /// Sends a signal (SIGTERM, SIGKILL, ...).
  void signal(int sig);

  /// Waits up to `limit` for the program to end; its exit code, 128 + the
  /// signal if a signal ended it, nullopt if it still runs.
  std::optional<int> wait(std::chrono::milliseconds limit);

  /// SIGTERM, then wait() up to `limit`: how a program that stops on
  /// SIGTERM is asked to.
  std::optional<int> stop(std::chrono::milliseconds limit);

  /// Waits up to `limit` for the program to write `text` (a readiness line
  /// such as "MARS listening"): false if it did not, or ended first.
  bool wait_for_log(const std::string& text, std::chrono::milliseconds limit);

  /// Everything the program wrote so far.
  std::string log() const;

  /// CPU time (user + system) the program used so far, in seconds.
  double cpu_seconds() const;

private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string log_path_;
};

/// What a program run to its end printed, and how it ended.
struct finished_process {
  /// Its exit code; nullopt if it still ran after the limit (then killed).
  std::optional<int> exit_code;
  std::string log;
};

/// Runs a short-lived program (`ip`, `nft`, `meshrt status`) until it ends
/// or `limit` passes, its output going to `log_path`. Throws
/// std::runtime_error when it cannot start.
finished_process run_to_end(const std::vector<std::string>& args, std::string log_path,
                            std::chrono::milliseconds limit);

/// The word that follows `marker` in `text` (a child's log: "mesh node "
/// is followed by its address), "" if `marker` is not there.
std::string word_after(const std::string& text, const std::string& marker);

} // namespace meshrt::bench
