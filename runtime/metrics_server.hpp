#pragma once

// The HTTP endpoint Prometheus scrapes (`--metrics-port`, config key
// metricsPort): GET /metrics answers with what `scrape` returns, in
// Prometheus's text format; every other path is 404. It runs on a thread of
// its own (cpp-httplib's server, Debian's libcpp-httplib-dev), so a scrape
// never waits behind the node's actors' work beyond their answers.
//
//   metrics_server http{"127.0.0.1", 9100, [&] { return node_metrics(sys, n); }};

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace meshrt {

/// An HTTP server for /metrics, listening from construction to destruction.
class metrics_server {
public:
  /// Binds address:port (port 0: any free one) and starts serving. Throws
  /// std::runtime_error naming the address when it cannot bind.
  metrics_server(const std::string& address, uint16_t port, std::function<std::string()> scrape);

  /// Stops listening and waits for the server's thread.
  ~metrics_server();

  metrics_server(const metrics_server&) = delete;
  metrics_server& operator=(const metrics_server&) = delete;

  /// The port bound.
  uint16_t port() const noexcept {
    return port_;
  }

private:
  struct impl;
  std::unique_ptr<impl> impl_;
  uint16_t port_ = 0;
};

} // namespace meshrt
