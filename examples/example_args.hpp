#pragma once

// What the examples share: MODE --mars HOST:PORT [--port P] and positional
// arguments, and the signal mask that lets a thread wait for SIGTERM.

#include <csignal>
#include <string>
#include <vector>

#include "runtime/config.hpp"

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

} // namespace example
