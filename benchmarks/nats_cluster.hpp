#pragma once

// A cluster of nats-server processes on loopback, fully meshed by routes:
// the NATS a game team runs when its users are spread over several servers,
// as meshrt's are over its nodes. `meshrt bench dm` runs it beside a single
// nats-server, so that what spreading the users costs shows for both.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace meshrt::bench {

class child_process;

class nats_cluster {
public:
  /// Starts `servers` nats-servers (logs under `log_prefix`), each with a
  /// client port, a route port and a monitoring port of its own and routes
  /// to all others, and waits until every one reports a route to each
  /// other. Throws std::runtime_error (with a server's log) if that takes
  /// over 10 s.
  nats_cluster(size_t servers, const std::string& log_prefix);
  ~nats_cluster();

  nats_cluster(const nats_cluster&) = delete;
  nats_cluster& operator=(const nats_cluster&) = delete;

  /// "127.0.0.1:port" of each server's clients.
  const std::vector<std::string>& endpoints() const {
    return endpoints_;
  }

  /// CPU time the servers used so far, in seconds.
  double cpu_seconds() const;

  /// Resident memory of the servers, in bytes.
  double rss() const;

  /// The routes server `i` reports (its monitoring endpoint's /routez);
  /// -1 if it does not answer.
  int routes(size_t i) const;

private:
  std::vector<std::unique_ptr<child_process>> servers_;
  std::vector<std::string> endpoints_;
  std::vector<uint16_t> monitor_ports_;
};

} // namespace meshrt::bench
