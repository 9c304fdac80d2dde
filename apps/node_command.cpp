#include "apps/node_command.hpp"

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "apps/guest_join.hpp"
#include "apps/stop_signals.hpp"
#include "runtime/meshrt.hpp"
#include "transport/idle_spin_window.hpp"

namespace meshrt::cli {

namespace {

/// Applies the flags over the config file, the file over the defaults.
config effective_config(const node_command_options& opts) {
  auto cfg = load_config(opts.config_path);
  for (const auto& warning : cfg.warnings)
    logger("config")->warn("{}: {}", opts.config_path, warning);
  if (opts.address)
    cfg.mesh.address = *opts.address;
  if (opts.port)
    cfg.mesh.port = *opts.port;
  if (opts.client_port)
    cfg.dm.gateway.port = *opts.client_port;
  if (opts.metrics_port)
    cfg.metrics_port = *opts.metrics_port;
  if (opts.mars)
    apply_mars_flag(*opts.mars, cfg.mesh);
  apply_cluster_key_flag(opts.cluster_key_file, cfg.mesh);
  return cfg;
}

/// Writes each change of the node's view as one log line: what an operator
/// reads to follow the cluster from one node.
caf::behavior view_logger(caf::event_based_actor*, const std::shared_ptr<spdlog::logger>& log) {
  using kind = node_event::kind;
  return {
    [=](const node_event& e) {
      switch (e.what) {
        case kind::ready:
        case kind::update:
        case kind::updated:
          break;
        case kind::initial_sync:
          log->info("view: first sync with MARS");
          break;
        case kind::node_joined:
          log->info("view: joined {}", e.subject);
          break;
        case kind::node_left:
          log->info("view: left {}", e.subject);
          break;
        case kind::node_status:
          log->info("view: {} is {}", e.subject, to_string(e.status));
          break;
        case kind::node_changed:
          log->info("view: {} changed", e.subject);
          break;
        case kind::shared_updated:
          log->info("view: shared {} = {}", e.subject, e.value);
          break;
        case kind::shared_removed:
          log->info("view: shared {} removed", e.subject);
          break;
        case kind::mars_sync:
          log->info("view: synced with MARS incarnation {}", e.incarnation);
          break;
        case kind::mars_lost:
          log->warn("view: MARS lost; keeping the last view");
          break;
      }
    },
  };
}

/// The idle spin as the log says it: "50-200 us", or "50 us" when fixed
/// (the window's own reading of the two options).
std::string spin_range(const node_command_options& opts) {
  using std::chrono::duration_cast;
  using std::chrono::microseconds;
  transport::idle_spin_window w{microseconds{opts.idle_spin_us},
                                microseconds{opts.idle_spin_max_us}};
  auto base = duration_cast<microseconds>(w.current()).count();
  auto max = duration_cast<microseconds>(w.max()).count();
  return std::to_string(base) + (max > base ? "-" + std::to_string(max) : "") + " us";
}

} // namespace

int run_node(const node_command_options& opts, const node_setup& setup) {
  auto cfg = effective_config(opts);
  stop_signals stop; // before the actor system starts its threads
  caf::actor_system_config sys_cfg;
  auto mode = parse_scheduling(opts.scheduling);
  apply_meshrt_defaults(sys_cfg, mode);
  set_idle_spin(sys_cfg, std::chrono::microseconds{opts.idle_spin_us},
                std::chrono::microseconds{opts.idle_spin_max_us});
  caf::actor_system sys{sys_cfg};
  node_options nopts;
  nopts.app = opts.app;
  nopts.type = opts.type;
  nopts.guest = opts.guest;
  auto n = start_node(sys, cfg, nopts);
  logger("node")->info(
    "scheduling {}{}{}", to_string(mode),
    opts.scheduling == "auto"
      ? " (auto: " + std::to_string(std::thread::hardware_concurrency()) + " cores)"
      : std::string{},
    mode == scheduling::efficiency ? ", idle spin " + spin_range(opts) : std::string{});
  // The logger goes in as a spawn argument: CAF 0.17 spawning a function of
  // no arguments binds a null reference (UBSan reports it).
  auto watcher = sys.spawn(view_logger, logger("node"));
  caf::scoped_actor self{sys};
  subscribe(self, n, watcher);
  std::string address;
  whoami(self, n).receive([&](node_record& me) { address = me.mesh_address; }, [](caf::error&) {});
  if (setup)
    setup(sys, n, address);
  std::unique_ptr<metrics_server> metrics;
  if (cfg.metrics_port != 0) {
    auto host = address.empty() ? cfg.mesh.address : address.substr(0, address.rfind(':'));
    try {
      metrics = std::make_unique<metrics_server>(host, cfg.metrics_port,
                                                 [&sys, n] { return node_metrics(sys, n); });
    } catch (const std::runtime_error&) {
      // The actor system waits for its actors before it ends.
      self->send_exit(n.actor(), caf::exit_reason::user_shutdown);
      self->send_exit(watcher, caf::exit_reason::user_shutdown);
      throw;
    }
  }
  auto sig = stop.wait();
  metrics.reset();
  logger("node")->info("stopping on signal {}", sig);
  bool left = false;
  leave(self, n).receive(
    [&] { left = true; },
    [&](caf::error& err) { logger("node")->warn("leaving did not finish: {}", to_string(err)); });
  if (!left)
    self->send_exit(n.actor(), caf::exit_reason::user_shutdown);
  self->send_exit(watcher, caf::exit_reason::user_shutdown);
  return left ? 0 : 1;
}

} // namespace meshrt::cli
