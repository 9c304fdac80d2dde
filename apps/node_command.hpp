#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "runtime/system_config.hpp"

namespace caf {
class actor_system;
} // namespace caf

namespace meshrt {
class node;
} // namespace meshrt

namespace meshrt::cli {

/// `meshrt node [--config FILE] [--type TYPE] [--address A] [--port P]
/// [--mars HOST:PORT] [--app NAME] [--client-port P] [--metrics-port P] [--guest]
/// [--scheduling auto|latency|efficiency]`.
struct node_command_options {
  std::string config_path;
  std::string type = "HTTP";
  std::optional<std::string> address;
  std::optional<uint16_t> port;
  /// "host:port"; overrides marsAddress / marsPort and their environment.
  std::optional<std::string> mars;
  std::string app;
  /// The client gateway's first port (clientPort): users log in there, and
  /// the public endpoint is address:port.
  std::optional<uint16_t> client_port;
  /// The Prometheus endpoint's port (metricsPort); none by default.
  std::optional<uint16_t> metrics_port;
  /// --cluster-key-file (clusterKeyFile): the cluster's key, if it has one.
  std::string cluster_key_file;
  bool guest = false;
  /// How CAF's workers wait for work (runtime/system_config.hpp): "latency"
  /// for a node with cores of its own, "efficiency" where several nodes
  /// share the cores, "auto" the one for this machine's cores.
  std::string scheduling = "auto";
  /// --idle-spin-us: in efficiency mode, how long the worker looks for work,
  /// yielding the core, before it sleeps; --idle-spin-max-us: the longest
  /// that grows to while work comes just after it (meshrt::set_idle_spin()).
  int64_t idle_spin_us = default_idle_spin.count();
  int64_t idle_spin_max_us = default_idle_spin_max.count();
};

/// An application's part of a node: called once the node runs, with its
/// mesh address (`meshrt demo-node` registers the demo's handlers so).
using node_setup
  = std::function<void(caf::actor_system& sys, const node& n, const std::string& address)>;

/// Runs a mesh node until SIGINT or SIGTERM, then leaves the cluster the
/// reference's way: offline first, gone after draining. Logs every change
/// of its view on the "node" logger. Throws config_error for a bad config
/// and std::invalid_argument for bad flags.
int run_node(const node_command_options& opts, const node_setup& setup = {});

} // namespace meshrt::cli
