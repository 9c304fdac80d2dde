#pragma once

#include <string>

namespace meshrt::cli {

/// `meshrt store get|set|del KEY [VALUE] --mars HOST:PORT [--ttl S]` and
/// `meshrt store stats --mars HOST:PORT [--json]`.
struct store_options {
  /// get, set, del or stats.
  std::string action;
  std::string key;
  std::string value;
  std::string mars = "127.0.0.1:6789";
  std::string app;
  /// --cluster-key-file (clusterKeyFile): the cluster's key, if it has one.
  std::string cluster_key_file;
  /// A config file for the storage keys (storageTargetNodeType, ...).
  std::string config_path;
  /// set: seconds to live (0: none).
  double ttl_s = 0;
  int timeout_ms = 3000;
  bool json = false;
};

/// Joins the cluster as a guest and runs one store operation through its
/// store service: get prints the value (exit 1 if there is none), set and
/// del print what they did, stats prints each storage node's keys, slots
/// and migrations in flight (a table, or JSON). A store error is one line
/// on stderr and exit 1; bad flags throw std::invalid_argument.
int run_store(const store_options& opts);

} // namespace meshrt::cli
