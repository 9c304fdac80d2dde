#pragma once

// What a node or MARS counts, as Prometheus text (runtime/prometheus_text.hpp):
// each call asks the node's actors (node, correlator, transport with its peer
// links, store, DM service, client gateway) or MARS for their counters, and
// adds this process's memory, CPU time and open files. Names follow
// Prometheus's conventions: `meshrt_..._total` for counters, base units
// (bytes, seconds), labels for peer, reason, outcome and mode. The list is
// in README.md ("Metrics").

#include <chrono>
#include <string>

#include <caf/fwd.hpp>

namespace meshrt {

class node;

/// The node's metrics. An actor that does not answer within `timeout` is
/// left out, and counted in meshrt_scrape_errors_total{part}.
std::string node_metrics(caf::actor_system& sys, const node& n,
                         std::chrono::milliseconds timeout = std::chrono::seconds{2});

/// MARS's metrics (`mars` is spawn_mars's actor).
std::string mars_metrics(caf::actor_system& sys, const caf::actor& mars,
                         std::chrono::milliseconds timeout = std::chrono::seconds{2});

} // namespace meshrt
