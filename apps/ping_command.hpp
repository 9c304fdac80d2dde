#pragma once

#include <string>

namespace meshrt::cli {

/// `meshrt ping --mars HOST:PORT --node MESH_ADDR [--count N] [--app NAME]
/// [--timeout MS] [--json]`.
struct ping_options {
  std::string mars = "127.0.0.1:6789";
  std::string node;
  std::string app;
  /// --cluster-key-file (clusterKeyFile): the cluster's key, if it has one.
  std::string cluster_key_file;
  int count = 10;
  int timeout_ms = 3000;
  bool json = false;
};

/// Joins the cluster as a guest, sends `count` built-in health checks
/// (MeshHealthCheck) to `node` one after another, and prints each round
/// trip, then p50 / p99 / max (or JSON in ARCHITECTURE.md's shape). Returns
/// 0 when every check was answered, 1 otherwise; throws
/// std::invalid_argument for bad flags.
int run_ping(const ping_options& opts);

} // namespace meshrt::cli
