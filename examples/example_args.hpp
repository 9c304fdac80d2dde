#pragma once

// What the examples share: MODE --mars HOST:PORT [--port P] and positional
// arguments, the signal mask that lets a thread wait for SIGTERM, leaving
// on it, a node's own address and the nodes of a type in a current view.

#include <chrono>
#include <csignal>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include <meshrt/meshrt.hpp>

namespace example {

/// MODE --mars HOST:PORT [--port P] and positional arguments.
struct arguments {
  std::string mode;
  meshrt::config cfg;
  std::vector<std::string> rest;
  bool ok = false;
};

inline arguments parse(int argc, char** argv) {
  arguments args;
  if (argc < 2)
    return args;
  args.mode = argv[1];
  bool have_mars = false;
  try {
    for (int i = 2; i < argc; ++i) {
      std::string a = argv[i];
      if ((a == "--mars" || a == "--port") && i + 1 < argc) {
        std::string v = argv[++i];
        if (a == "--port") {
          args.cfg.mesh.port = static_cast<uint16_t>(std::stoi(v));
          continue;
        }
        auto colon = v.rfind(':');
        if (colon == std::string::npos)
          return args;
        args.cfg.mesh.mars_address = v.substr(0, colon);
        args.cfg.mesh.mars_port = static_cast<uint16_t>(std::stoi(v.substr(colon + 1)));
        have_mars = true;
      } else {
        args.rest.push_back(a);
      }
    }
  } catch (const std::exception&) {
    return args; // a port that is not a number: usage
  }
  args.ok = have_mars;
  return args;
}

/// Blocks SIGTERM and SIGINT in this thread and every thread started after
/// it (CAF's included), so that sigwait on the returned set receives them.
inline sigset_t block_stop_signals() {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  return stop;
}

/// The node's own mesh address.
inline std::string mesh_address_of(caf::actor_system& sys, const meshrt::node& node) {
  caf::scoped_actor self{sys};
  std::string result;
  meshrt::whoami(self, node)
    .receive([&](meshrt::node_record& r) { result = r.mesh_address; }, [](caf::error&) {});
  return result;
}

/// Waits for SIGTERM or SIGINT (`stop`, from block_stop_signals), then
/// leaves the cluster: offline first, so callers stop choosing this node,
/// then gone.
inline void leave_on_signal(caf::actor_system& sys, const meshrt::node& node,
                            const sigset_t& stop) {
  int sig = 0;
  sigwait(&stop, &sig);
  caf::scoped_actor self{sys};
  meshrt::leave(self, node).receive([] {}, [](caf::error&) {});
}

/// WaitForLatestNodeData, then the mesh addresses of every node of `type`
/// the view holds.
inline std::vector<std::string>
current_nodes_of_type(caf::actor_system& sys, const meshrt::node& node, const std::string& type) {
  caf::scoped_actor self{sys};
  meshrt::wait_for_latest_node_data(self, node).receive([] {}, [](caf::error&) {});
  std::vector<std::string> result;
  meshrt::node_addresses_by_type(self, node, type)
    .receive([&](std::vector<std::string>& addrs) { result = std::move(addrs); },
             [](caf::error&) {});
  return result;
}

} // namespace example
