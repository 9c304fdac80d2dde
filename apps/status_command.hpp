#pragma once

#include <string>

namespace meshrt::cli {

/// `meshrt status --mars HOST:PORT [--app NAME] [--json]`.
struct status_options {
  std::string mars = "127.0.0.1:6789";
  std::string app;
  /// --cluster-key-file (clusterKeyFile): the cluster's key, if it has one.
  std::string cluster_key_file;
  bool json = false;
};

/// Asks MARS for the cluster of one app and prints it: a table, or the JSON
/// shape of ARCHITECTURE.md. Throws std::invalid_argument for a bad --mars
/// and std::runtime_error when MARS does not answer.
int run_status(const status_options& opts);

} // namespace meshrt::cli
