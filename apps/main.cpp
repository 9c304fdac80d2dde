// The meshrt command-line program: one binary, one subcommand per job.

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "actors/mars_actor.hpp"
#include "apps/demo_command.hpp"
#include "apps/demo_node.hpp"
#include "apps/dm_command.hpp"
#include "apps/guest_join.hpp"
#include "apps/node_command.hpp"
#include "apps/ping_command.hpp"
#include "apps/status_command.hpp"
#include "apps/stop_signals.hpp"
#include "apps/store_command.hpp"
#include "apps/token_command.hpp"
#include "benchmarks/bench_charts.hpp"
#include "benchmarks/dm_bench.hpp"
#include "benchmarks/floor_server.hpp"
#include "benchmarks/membership_bench.hpp"
#include "benchmarks/rpc_bench.hpp"
#include "benchmarks/scenario_node.hpp"
#include "benchmarks/scenario_runner.hpp"
#include "benchmarks/store_bench.hpp"
#include "benchmarks/transport_bench.hpp"
#include "runtime/config.hpp"
#include "runtime/config_error.hpp"
#include "runtime/logging.hpp"
#include "runtime/metrics.hpp"
#include "runtime/metrics_server.hpp"
#include "runtime/system_config.hpp"
#include "runtime/version.hpp"

namespace {

constexpr int exit_usage = 2;

/// Every subcommand takes --log-level; the last one given wins.
void add_log_level(CLI::App& app, std::string& level) {
  app.add_option("--log-level", level, "Log verbosity: " + std::string{meshrt::log_level_names()})
    ->check([](const std::string& value) -> std::string {
      try {
        meshrt::set_log_level(value);
      } catch (const std::invalid_argument& e) {
        return e.what();
      }
      return {};
    });
}

/// Accepts the names parse_scheduling takes, the one mapping of them
/// (--scheduling of node and bench).
std::string check_scheduling(const std::string& value) {
  try {
    meshrt::parse_scheduling(value);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return {};
}

/// A hidden subcommand that runs a node for a parent process (the demo, a
/// scenario), with the flags the parent passes.
CLI::App* add_child_node(CLI::App& app, const std::string& name,
                         meshrt::cli::node_command_options& opts, std::string& level) {
  auto* cmd = app.add_subcommand(name, "")->group("");
  cmd->add_option("--type", opts.type);
  cmd->add_option("--port", opts.port);
  cmd->add_option("--mars", opts.mars);
  cmd->add_option("--app", opts.app);
  cmd->add_option("--client-port", opts.client_port);
  cmd->add_option("--scheduling", opts.scheduling);
  cmd->add_option("--config", opts.config_path);
  add_log_level(*cmd, level);
  return cmd;
}

int run_config_check(const std::string& path) {
  auto cfg = meshrt::load_config(path);
  auto log = meshrt::logger("config");
  for (const auto& warning : cfg.warnings)
    log->warn("{}: {}", path, warning);
  std::cout << meshrt::to_json(cfg) << '\n';
  return 0;
}

/// Prints the figures and how they compare with the targets of the transport
/// issue, as ratios measured in this run.
void print_transport_ratios(const meshrt::bench::bench_report& r) {
  auto ratio
    = [&](const char* sys_a, const char* metric_a, const char* sys_b, const char* metric_b) {
        auto b = r.get(sys_b, metric_b);
        return b > 0 ? r.get(sys_a, metric_a) / b : 0.0;
      };
  std::printf("\nratios (targets from the transport issue):\n");
  std::printf("  RTT p50 meshrt / raw UDP         %6.2fx  (target <= 1.25x)\n",
              ratio("meshrt", "rtt_p50_us", "raw_udp", "rtt_p50_us"));
  std::printf("  bulk 10 MB meshrt / ENet         %6.2fx  (target >= 1.5x)\n",
              ratio("meshrt", "bulk_goodput_mbps", "enet", "bulk_goodput_mbps"));
  std::printf("  small-message rate meshrt / ENet %6.2fx  (target >= 2x)\n",
              ratio("meshrt", "small_msg_rate", "enet", "small_msg_rate"));
  std::printf("  goodput 10%% drop / loss-free     %6.2f   (target >= 0.5)\n",
              ratio("meshrt", "lossy_goodput_mbps", "meshrt", "bulk_goodput_mbps"));
}

/// Prints the RPC figures against the targets of the messaging issue.
void print_rpc_ratios(const meshrt::bench::bench_report& r) {
  auto ratio = [&](const char* metric, const char* sys_b) {
    auto b = r.get(sys_b, metric);
    return b > 0 ? r.get("meshrt", metric) / b : 0.0;
  };
  std::printf("\nratios (targets from the messaging issue):\n");
  std::printf("  RTT p50 meshrt / raw UDP                 %6.2fx  (target <= 1.5x)\n",
              ratio("rtt_p50_us", "raw_udp"));
  std::printf("  RTT p50 CAF remote / raw UDP             %6.2fx\n",
              r.get("raw_udp", "rtt_p50_us") > 0
                ? r.get("caf_remote", "rtt_p50_us") / r.get("raw_udp", "rtt_p50_us")
                : 0.0);
  std::printf("  throughput (256 out) meshrt / CAF remote %6.2fx  (target >= 3x)\n",
              ratio("throughput_rps", "caf_remote"));
}

/// Runs MARS until SIGINT or SIGTERM.
/// With a metrics port, Prometheus scrapes it at /metrics.
int run_mars(const meshrt::mars_config& cfg, uint16_t metrics_port) {
  meshrt::cli::stop_signals stop; // before the actor system starts its threads
  caf::actor_system_config sys_cfg;
  meshrt::apply_meshrt_defaults(sys_cfg, meshrt::scheduling::efficiency);
  caf::actor_system sys{sys_cfg};
  auto mars = meshrt::spawn_mars(sys, cfg);
  std::unique_ptr<meshrt::metrics_server> metrics;
  if (metrics_port != 0) {
    try {
      metrics = std::make_unique<meshrt::metrics_server>(
        cfg.address, metrics_port, [&sys, mars] { return meshrt::mars_metrics(sys, mars); });
    } catch (const std::runtime_error&) {
      caf::anon_send_exit(mars, caf::exit_reason::user_shutdown); // the system waits for it
      throw;
    }
  }
  auto sig = stop.wait();
  metrics.reset();
  meshrt::logger("mars")->info("stopping on signal {}", sig);
  caf::anon_send_exit(mars, caf::exit_reason::user_shutdown);
  return 0;
}

/// Prints the membership figures against the targets of the membership issue.
void print_membership_targets(const meshrt::bench::bench_report& r) {
  auto line = [&](const char* what, const char* metric, double target, const char* unit) {
    auto v = r.get("meshrt", metric);
    std::printf("  %-34s %9.1f %-4s (target <= %.0f %s): %s\n", what, v, unit, target, unit,
                v >= 0 && v <= target ? "met" : "NOT met");
  };
  std::printf("\ntargets (membership issue):\n");
  line("failure seen by all", "failure_seen_ms", 3000, "ms");
  line("every node part of the cluster", "heal_member_ms", 3000, "ms");
  line("every view synced with new MARS", "heal_synced_ms", 3000, "ms");
  line("MARS traffic per node, steady", "mars_bytes_per_node_s", 1024, "B/s");
}

/// Prints the store figures against the targets of the storage issue.
void print_store_targets(const meshrt::bench::bench_report& r) {
  auto ratio = [&](const char* metric) {
    auto b = r.get("redis", metric);
    return b > 0 ? r.get("meshrt", metric) / b : 0.0;
  };
  std::printf("\nratios (targets from the storage issue):\n");
  std::printf("  get ops/s (256 out) meshrt / Redis  %6.2fx  (target >= 1x)\n",
              ratio("get_ops_256"));
  std::printf("  set ops/s (256 out) meshrt / Redis  %6.2fx  (target >= 1x)\n",
              ratio("set_ops_256"));
  std::printf("  bytes per entry meshrt / Redis      %6.2fx  (target <= 1x)\n",
              ratio("bytes_per_entry"));
  auto ms = r.get("meshrt", "migrate_ms_batch1000");
  std::printf("  migration at batch 1000             %6.0f ms (target < 5000 ms): %s\n", ms,
              ms > 0 && ms < 5000 ? "met" : "NOT met");
}

void print_dm_targets(const meshrt::bench::bench_report& r) {
  auto rpc = r.get("meshrt_rpc", "rtt_p50_us");
  auto first = r.get("meshrt_dm", "first_p50_us");
  auto cached = r.get("meshrt_dm", "cached_p50_us");
  std::printf("\nratios (targets from the DM issue):\n");
  if (rpc > 0) {
    std::printf("  first message p50 / RPC RTT p50   %6.2fx  (target <= 3x)\n", first / rpc);
    std::printf("  cached message p50 / RPC RTT p50  %6.2fx  (target <= 1.5x)\n", cached / rpc);
  }
  if (auto bytes = r.get("meshrt_dm", "bytes_per_user"); bytes > 0)
    std::printf("  memory per connected user         %6.0f B  (target < 2048 B): %s\n", bytes,
                bytes < 2048 ? "met" : "NOT met");
  auto nats = r.get("nats", "c2c_p50_us");
  if (auto c2c = r.get("meshrt_dm", "c2c_p50_us"); c2c > 0 && nats > 0)
    std::printf("  p50 first message meshrt / NATS   %6.2fx  (target <= 1x)\n", c2c / nats);
  if (auto quiet = r.get("meshrt_dm_quiet", "c2c_p50_us"); quiet > 0 && nats > 0)
    std::printf("    quiet sends, first message       %6.2fx\n", quiet / nats);
  nats = r.get("nats", "c2c_again_p50_us");
  if (auto again = r.get("meshrt_dm", "c2c_again_p50_us"); again > 0 && nats > 0)
    std::printf("  p50 next message meshrt / NATS    %6.2fx  (target <= 1x)\n", again / nats);
  // meshrt's users logged in quiet: as NATS's driver asks (verbose:false),
  // a send is answered only when it fails
  if (auto quiet = r.get("meshrt_dm_quiet", "c2c_again_p50_us"); quiet > 0 && nats > 0)
    std::printf("    quiet sends, next message        %6.2fx\n", quiet / nats);
  // the same with both users on one node: what the client path costs
  // without the hop between nodes
  nats = r.get("nats", "c2c_near_p50_us");
  if (auto near = r.get("meshrt_dm", "c2c_near_p50_us"); near > 0 && nats > 0)
    std::printf("    both users on one node, first    %6.2fx\n", near / nats);
  nats = r.get("nats", "c2c_near_again_p50_us");
  if (auto near = r.get("meshrt_dm", "c2c_near_again_p50_us"); near > 0 && nats > 0)
    std::printf("    both users on one node, next     %6.2fx\n", near / nats);
  // one pair of users on two nodes, message after message: two nodes of
  // four at work, where the passes above rotate over all four
  nats = r.get("nats", "c2c_pair_p50_us");
  if (auto pair = r.get("meshrt_dm", "c2c_pair_p50_us"); pair > 0 && nats > 0)
    std::printf("    one conversation, next message   %6.2fx\n", pair / nats);
  if (auto pair = r.get("meshrt_dm_quiet", "c2c_pair_p50_us"); pair > 0 && nats > 0)
    std::printf("    one conversation, quiet sends    %6.2fx\n", pair / nats);
  // what the latency costs the servers, one message at a time (meshrt's
  // nodes look for work a while before they sleep)
  auto lat_cpu = r.get("meshrt_dm", "latency_server_cpu_per_msg_us");
  if (auto nats_cpu = r.get("nats", "latency_server_cpu_per_msg_us"); lat_cpu > 0 && nats_cpu > 0)
    std::printf("    server CPU per message one at a time, meshrt / NATS  %5.2fx\n",
                lat_cpu / nats_cpu);
  // beside NATS spread over as many servers as meshrt's users: a message
  // between two servers takes a route there as it takes a hop here
  nats = r.get("nats_cluster", "c2c_again_p50_us");
  if (auto again = r.get("meshrt_dm", "c2c_again_p50_us"); again > 0 && nats > 0)
    std::printf("    p50 next message meshrt / NATS cluster of 4  %5.2fx\n", again / nats);
  // above the floor of its shape (benchmarks/floor_server.hpp): what each
  // system's own work adds to a next message, the machine's wake-ups apart
  auto floor1 = r.get("floor", "c2c_again_p50_us");
  auto floor4 = r.get("floor_cluster", "c2c_again_p50_us");
  if (floor1 > 0 && floor4 > 0)
    std::printf("    floor p50 next message, 1 / 4 servers  %5.1f / %5.1f us\n", floor1, floor4);
  auto quiet_again = r.get("meshrt_dm_quiet", "c2c_again_p50_us");
  nats = r.get("nats", "c2c_again_p50_us");
  if (floor1 > 0 && floor4 > 0 && quiet_again > 0 && nats > 0)
    std::printf("    above the floor: meshrt (quiet) +%.1f us, NATS +%.1f us\n",
                quiet_again - floor4, nats - floor1);
  auto rate = r.get("meshrt_dm", "msgs_per_s");
  auto redis = r.get("redis_pubsub", "msgs_per_s");
  if (rate > 0 && redis > 0)
    std::printf("  messages/s meshrt / Redis pub/sub %6.2fx  (target >= 1x)\n", rate / redis);
  auto redis_cpu = r.get("redis_pubsub", "server_cpu_per_msg_us");
  if (auto quiet = r.get("meshrt_dm_quiet", "msgs_per_s"); quiet > 0 && redis > 0)
    std::printf("    quiet sends, messages/s          %6.2fx\n", quiet / redis);
  if (auto quiet = r.get("meshrt_dm_quiet", "server_cpu_per_msg_us"); quiet > 0 && redis_cpu > 0)
    std::printf("    quiet sends, server CPU per message %5.2fx\n", quiet / redis_cpu);
  // what a message costs the servers, which the machine's load does not move
  auto cpu = r.get("meshrt_dm", "server_cpu_per_msg_us");
  if (cpu > 0 && redis_cpu > 0)
    std::printf("    server CPU per message, meshrt / Redis %5.2fx\n", cpu / redis_cpu);
  if (auto nats_cpu = r.get("nats", "server_cpu_per_msg_us"); cpu > 0 && nats_cpu > 0)
    std::printf("    server CPU per message, meshrt / NATS  %5.2fx\n", cpu / nats_cpu);
  if (auto cluster = r.get("nats_cluster", "msgs_per_s"); rate > 0 && cluster > 0)
    std::printf("    messages/s meshrt / NATS cluster of 4  %5.2fx\n", rate / cluster);
  // one pair of users, a burst: what a single conversation carries
  auto pair = r.get("meshrt_dm", "pair_msgs_per_s");
  if (auto nats_pair = r.get("nats", "pair_msgs_per_s"); pair > 0 && nats_pair > 0)
    std::printf("    one pair's burst, messages/s meshrt / NATS  %5.2fx (quiet %.2fx)\n",
                pair / nats_pair, r.get("meshrt_dm_quiet", "pair_msgs_per_s") / nats_pair);
  if (auto cluster_cpu = r.get("nats_cluster", "server_cpu_per_msg_us"); cpu > 0 && cluster_cpu > 0)
    std::printf("    server CPU per message, meshrt / NATS cluster of 4  %5.2fx\n",
                cpu / cluster_cpu);
  // the same with both users on one node: the client path without the hop
  auto near_rate = r.get("meshrt_dm", "near_msgs_per_s");
  if (near_rate > 0 && redis > 0)
    std::printf("    both users on one node, messages/s  %5.2fx\n", near_rate / redis);
  auto near_cpu = r.get("meshrt_dm", "near_server_cpu_per_msg_us");
  if (near_cpu > 0 && redis_cpu > 0)
    std::printf("    both users on one node, CPU per message %5.2fx\n", near_cpu / redis_cpu);
}

/// The flags of `meshrt bench` that shape a scenario's run.
struct bench_flags {
  std::string only;         // --only: systems, separated by commas; empty: all
  int entries = 0;          // --entries: store entries, dm users; 0: the scenario's
  uint32_t ring_size = 300; // --ring-size (store)
  meshrt::scheduling mode = meshrt::scheduling::efficiency;
  int latency_rounds = meshrt::bench::dm_bench_options{}.latency_rounds; // --latency-rounds (dm)
  int warmup = meshrt::bench::dm_bench_options{}.latency_warmup;         // --warmup (dm)
  bool no_location_hints = false;                                        // --no-location-hints (dm)
};

/// Runs one scenario beside its baselines and prints its table and targets.
meshrt::bench::bench_report run_scenario(const std::string& scenario, const bench_flags& f) {
  meshrt::bench::bench_report report{scenario};
  if (scenario == "transport") {
    meshrt::bench::transport_bench_options opts;
    opts.only = f.only;
    opts.mode = f.mode;
    report = meshrt::bench::run_transport_bench(opts);
    std::cout << report.table();
    if (f.only.empty())
      print_transport_ratios(report);
  } else if (scenario == "membership") {
    meshrt::bench::membership_bench_options opts;
    opts.mode = f.mode;
    report = meshrt::bench::run_membership_bench(opts);
    std::cout << report.table();
    print_membership_targets(report);
  } else if (scenario == "rpc") {
    meshrt::bench::rpc_bench_options opts;
    opts.only = f.only;
    opts.mode = f.mode;
    report = meshrt::bench::run_rpc_bench(opts);
    std::cout << report.table();
    if (f.only.empty())
      print_rpc_ratios(report);
  } else if (scenario == "store") {
    meshrt::bench::store_bench_options opts;
    opts.only = f.only;
    opts.mode = f.mode;
    if (f.entries > 0)
      opts.entries = f.entries;
    opts.ring_size = f.ring_size;
    report = meshrt::bench::run_store_bench(opts);
    std::cout << report.table();
    if (f.only.empty())
      print_store_targets(report);
  } else if (scenario == "fanout") {
    meshrt::bench::fanout_bench_options opts;
    opts.mode = f.mode;
    report = meshrt::bench::run_fanout_bench(opts);
    std::cout << report.table();
  } else if (scenario == "dm") {
    meshrt::bench::dm_bench_options opts;
    opts.only = f.only;
    opts.mode = f.mode;
    opts.latency_rounds = f.latency_rounds;
    opts.latency_warmup = f.warmup;
    opts.location_hints = !f.no_location_hints;
    if (f.entries > 0)
      opts.pubsub.users = static_cast<size_t>(f.entries);
    report = meshrt::bench::run_dm_bench(opts);
    std::cout << report.table();
    print_dm_targets(report);
  } else {
    throw std::invalid_argument(
      "unknown bench scenario '" + scenario
      + "' (available: transport, membership, rpc, fanout, store, dm, all, scenario, report)");
  }
  return report;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out{path};
  out << text << '\n';
  if (!out)
    throw std::runtime_error("cannot write " + path);
}

/// `meshrt bench all`: every scenario in turn, their figures and histograms
/// in one JSON ({"date", "machine", "runs": [...]}). A scenario that fails
/// is a run with its "error"; the others still run, and the exit code is 1.
int run_all_benches(const std::string& json_path, const bench_flags& f) {
  auto all = nlohmann::json::object();
  auto& runs = all["runs"] = nlohmann::json::array();
  int failed = 0;
  for (const char* scenario : {"transport", "membership", "rpc", "fanout", "store", "dm"}) {
    std::cout << "== " << scenario << " ==\n" << std::flush;
    try {
      auto doc = nlohmann::json::parse(run_scenario(scenario, f).json());
      if (!all.contains("date")) {
        all["date"] = doc["date"];
        all["machine"] = doc["machine"];
      }
      runs.push_back(std::move(doc));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "meshrt: bench %s failed: %s\n", scenario, e.what());
      runs.push_back({{"scenario", scenario}, {"error", e.what()}});
      ++failed;
    }
  }
  auto path = json_path.empty() ? std::string{"bench-all.json"} : json_path;
  write_text(path, all.dump(2));
  std::cout << "figures of " << runs.size() << " scenarios in " << path
            << " (charts: meshrt bench report " << path << " --out DIR)\n";
  return failed == 0 ? 0 : 1;
}

int run_bench(const std::string& scenario, const std::string& json_path, const bench_flags& f) {
  if (scenario == "all") {
    if (!f.only.empty())
      throw std::invalid_argument("bench all runs every system; --only needs one scenario");
    return run_all_benches(json_path, f);
  }
  auto report = run_scenario(scenario, f);
  if (!json_path.empty())
    write_text(json_path, report.json());
  return 0;
}

/// `meshrt bench scenario FILE.json [--json OUT] [--duration S]`: exit 1
/// if a reliable message was lost or duplicated, or a long-lived node's
/// resources did not come back (`resources`).
int run_scenario_file(const std::string& file, const std::string& json_path, double duration_s) {
  if (file.empty())
    throw std::invalid_argument("bench scenario needs the scenario file: meshrt bench scenario "
                                "FILE.json");
  auto s = meshrt::bench::load_scenario(file, duration_s > 0 ? std::optional<double>{duration_s}
                                                             : std::nullopt);
  meshrt::bench::scenario_run_options opts;
  opts.redraw = isatty(fileno(stderr)) != 0;
  auto result = meshrt::bench::run_scenario(s, opts);
  std::cout << result.text;
  if (!json_path.empty())
    write_text(json_path, result.json);
  return result.lost == 0 && result.duplicated == 0 && result.resource_failures == 0 ? 0 : 1;
}

/// `meshrt bench report RESULTS.json --out DIR`.
int run_bench_report(const std::string& results, const std::string& out_dir) {
  if (results.empty())
    throw std::invalid_argument("bench report needs the results file: meshrt bench report "
                                "RESULTS.json --out DIR");
  for (const auto& file : meshrt::bench::write_bench_report(results, out_dir))
    std::cout << file << '\n';
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  // Nodes and benches move messages of up to 10 MB: their buffers stay
  // mapped between messages (runtime/system_config.hpp).
  meshrt::tune_allocator();
  CLI::App app{"meshrt: an actor runtime for game-server clusters (mesh + DM)", "meshrt"};
  app.require_subcommand(1);
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return "meshrt: " + std::string{e.what()} + " (see meshrt --help)\n";
  });
  app.set_version_flag("--version",
                       "meshrt " + meshrt::version() + " (CAF " + meshrt::caf_version() + ")");
  std::string log_level = "info";
  add_log_level(app, log_level);

  auto* config_cmd = app.add_subcommand("config", "Work with configuration files");
  config_cmd->require_subcommand(1);
  add_log_level(*config_cmd, log_level);
  auto* check_cmd = config_cmd->add_subcommand(
    "check", "Validate a config file and print the effective configuration as JSON");
  std::string config_path;
  check_cmd->add_option("FILE", config_path, "JSON config file")->required();
  add_log_level(*check_cmd, log_level);

  auto* bench_cmd
    = app.add_subcommand("bench", "Run a benchmark scenario side by side with its baselines");
  std::string scenario;
  std::string json_path;
  bench_cmd
    ->add_option("SCENARIO", scenario,
                 "Scenario: transport, membership, rpc, fanout, store, dm; all (every one, "
                 "into one JSON); scenario FILE.json (a load scenario with faults); report "
                 "RESULTS.json (charts)")
    ->required();
  std::string bench_file;
  bench_cmd->add_option("FILE", bench_file,
                        "scenario: the scenario file; report: the JSON of a bench run or of "
                        "bench all");
  std::string bench_out = "bench-report";
  bench_cmd->add_option("--out", bench_out, "report: directory for the PNG charts and summary.md")
    ->capture_default_str();
  bench_cmd->add_option("--json", json_path,
                        "Also write the figures as JSON to FILE (bench all: default "
                        "bench-all.json)");
  bench_flags bench;
  bench_cmd->add_option(
    "--only", bench.only,
    "Run only the systems named, separated by commas (meshrt, raw_udp, and enet for "
    "transport, caf_remote for rpc, redis for store; nats, nats_cluster, redis, floor, "
    "floor_cluster for dm)");
  bench_cmd->add_option(
    "--entries", bench.entries,
    "store: entries for memory and migration (default 1000000); dm: users (default "
    "10000)");
  std::string bench_scheduling = "efficiency";
  bench_cmd
    ->add_option("--scheduling", bench_scheduling,
                 "transport, membership, rpc, fanout, store, dm: how the nodes' workers wait "
                 "(as meshrt node --scheduling); efficiency, since the bench puts every node "
                 "on this machine's cores")
    ->check(check_scheduling)
    ->capture_default_str();
  bench_cmd
    ->add_option("--ring-size", bench.ring_size,
                 "store: storageRingSize of every node (shard actors per storage node)")
    ->capture_default_str();
  bench_cmd
    ->add_option("--latency-rounds", bench.latency_rounds,
                 "dm: rounds in which the systems' one-at-a-time passes take turns (1: one "
                 "system's passes after the other's)")
    ->check(CLI::Range(1, 100))
    ->capture_default_str();
  bench_cmd
    ->add_option("--warmup", bench.warmup,
                 "dm: unrecorded messages one at a time before each round's passes")
    ->check(CLI::Range(0, 1'000'000))
    ->capture_default_str();
  bench_cmd->add_flag("--no-location-hints", bench.no_location_hints,
                      "dm: the nodes run with dmLocationHints off (every first message takes "
                      "its lookup through a storage node)");
  double bench_duration = 0;
  bench_cmd->add_option("--duration", bench_duration,
                        "scenario: seconds of load instead of the file's duration_s (repeated "
                        "faults repeat within it)");
  add_log_level(*bench_cmd, log_level);

  // The other process of `meshrt bench rpc`; not for people.
  auto* peer_cmd = app.add_subcommand("bench-peer", "")->group("");
  std::string peer_kind;
  uint16_t peer_port = 0;
  std::string peer_mars;
  peer_cmd->add_option("--kind", peer_kind)->required();
  peer_cmd->add_option("--port", peer_port);
  peer_cmd->add_option("--mars", peer_mars);
  std::string peer_key_file;
  peer_cmd->add_option("--cluster-key-file", peer_key_file);
  std::string peer_scheduling = "efficiency";
  peer_cmd->add_option("--scheduling", peer_scheduling);
  add_log_level(*peer_cmd, log_level);

  // A floor server of `meshrt bench dm` (benchmarks/floor_server.hpp); not for people.
  auto* floor_cmd = app.add_subcommand("bench-floor", "")->group("");
  uint16_t floor_port = 0;
  std::vector<uint16_t> floor_udp_ports;
  size_t floor_index = 0;
  floor_cmd->add_option("--port", floor_port)->required();
  floor_cmd->add_option("--udp-ports", floor_udp_ports)->required()->delimiter(',');
  floor_cmd->add_option("--index", floor_index);

  auto* mars_cmd = app.add_subcommand("mars", "Run the MARS registry server");
  meshrt::mars_config mars_cfg;
  mars_cmd->add_option("--address", mars_cfg.address, "IPv4 address to bind")
    ->capture_default_str();
  mars_cmd->add_option("--port", mars_cfg.port, "UDP port to bind (exactly this one)")
    ->capture_default_str();
  mars_cmd
    ->add_option("--metrics-interval", mars_cfg.metrics_interval_s,
                 "Seconds between metrics lines (0: none)")
    ->capture_default_str();
  uint16_t mars_metrics_port = 0;
  mars_cmd
    ->add_option("--metrics-port", mars_metrics_port,
                 "Serve Prometheus metrics over HTTP at ADDRESS:PORT/metrics (0: off)")
    ->capture_default_str();
  add_log_level(*mars_cmd, log_level);

  std::string mars_key_file;
  mars_cmd->add_option(
    "--cluster-key-file", mars_key_file,
    "The cluster key file (meshrt keygen): MARS takes only packets sealed with it");

  auto* node_cmd = app.add_subcommand("node", "Run a mesh node until SIGTERM");
  meshrt::cli::node_command_options node_opts;
  node_cmd->add_option("--config", node_opts.config_path, "JSON config file (mesh and DM keys)");
  node_cmd->add_option("--type", node_opts.type, "Node type: HTTP, UDP, TCP or a custom one")
    ->capture_default_str();
  node_cmd->add_option("--address", node_opts.address, "IPv4 address to bind (config: address)");
  node_cmd->add_option("--port", node_opts.port,
                       "First port to try, scanning upward (config: port)");
  node_cmd->add_option("--mars", node_opts.mars,
                       "MARS as HOST:PORT (config: marsAddress, marsPort)");
  node_cmd->add_option("--app", node_opts.app, "App name (SetAppName); default: none");
  node_cmd->add_option(
    "--client-port", node_opts.client_port,
    "Client gateway port, scanning upward (config: clientPort); the public endpoint is "
    "ADDRESS:PORT");
  node_cmd->add_option("--metrics-port", node_opts.metrics_port,
                       "Serve Prometheus metrics over HTTP at ADDRESS:PORT/metrics "
                       "(config: metricsPort)");
  node_cmd->add_option("--cluster-key-file", node_opts.cluster_key_file,
                       "The cluster key file (config: clusterKeyFile; meshrt keygen)");
  node_cmd->add_flag("--guest", node_opts.guest,
                     "Send and receive mesh messages without being listed");
  node_cmd
    ->add_option("--scheduling", node_opts.scheduling,
                 "latency: workers poll before they sleep (a node with cores of its own); "
                 "efficiency: they sleep sooner (several nodes sharing the cores); "
                 "auto: efficiency on 2 cores or fewer, latency above")
    ->check(check_scheduling)
    ->capture_default_str();
  node_cmd
    ->add_option("--idle-spin-us", node_opts.idle_spin_us,
                 "efficiency: microseconds the worker keeps looking for work, yielding the "
                 "core, before it sleeps (0: at once)")
    ->check(CLI::Range(int64_t{0}, int64_t{1'000'000}))
    ->capture_default_str();
  node_cmd
    ->add_option("--idle-spin-max-us", node_opts.idle_spin_max_us,
                 "efficiency: the longest the idle spin grows to while work keeps coming just "
                 "after it ends (at most --idle-spin-us: fixed)")
    ->check(CLI::Range(int64_t{0}, int64_t{1'000'000}))
    ->capture_default_str();
  add_log_level(*node_cmd, log_level);

  auto* status_cmd = app.add_subcommand("status", "Show the cluster as MARS sees it");
  meshrt::cli::status_options status_opts;
  status_cmd->add_option("--mars", status_opts.mars, "MARS address, a.b.c.d:port")
    ->capture_default_str();
  status_cmd->add_option("--app", status_opts.app, "App name (SetAppName); default: none");
  status_cmd->add_flag("--json", status_opts.json, "Print JSON");
  status_cmd->add_option("--cluster-key-file", status_opts.cluster_key_file,
                         "The cluster key file, where the cluster has one");
  add_log_level(*status_cmd, log_level);

  auto* demo_cmd = app.add_subcommand(
    "demo", "Run a cluster on loopback (MARS and five nodes) and show the mesh and DM at work");
  uint16_t demo_port = 47900;
  demo_cmd->add_option("--port", demo_port, "MARS's port; nodes take the ports above it")
    ->capture_default_str();
  bool demo_processes = false;
  demo_cmd->add_flag("--processes", demo_processes,
                     "MARS and four of the nodes as child processes (kill -9 is real)");
  add_log_level(*demo_cmd, log_level);

  // The nodes of `meshrt demo --processes` and of `meshrt bench scenario`
  // in cluster mode "processes"; not for people.
  meshrt::cli::node_command_options demo_node_opts;
  auto* demo_node_cmd = add_child_node(app, "demo-node", demo_node_opts, log_level);
  meshrt::cli::node_command_options scenario_node_opts;
  auto* scenario_node_cmd = add_child_node(app, "scenario-node", scenario_node_opts, log_level);

  auto* ping_cmd
    = app.add_subcommand("ping", "Send health checks to a node and print the round trips");
  meshrt::cli::ping_options ping_opts;
  ping_cmd->add_option("--mars", ping_opts.mars, "MARS address, HOST:PORT")->capture_default_str();
  ping_cmd->add_option("--node", ping_opts.node, "Mesh address of the node, a.b.c.d:port")
    ->required();
  ping_cmd->add_option("--count", ping_opts.count, "Health checks to send")->capture_default_str();
  ping_cmd->add_option("--timeout", ping_opts.timeout_ms, "Milliseconds to wait for each")
    ->capture_default_str();
  ping_cmd->add_option("--app", ping_opts.app, "App name (SetAppName); default: none");
  ping_cmd->add_flag("--json", ping_opts.json, "Print JSON");
  ping_cmd->add_option("--cluster-key-file", ping_opts.cluster_key_file,
                       "The cluster key file, where the cluster has one");
  add_log_level(*ping_cmd, log_level);

  auto* store_cmd = app.add_subcommand(
    "store", "Get, set or delete a key of the cluster's store, or show its storage nodes");
  meshrt::cli::store_options store_opts;
  store_cmd->add_option("ACTION", store_opts.action, "get, set, del or stats")->required();
  store_cmd->add_option("KEY", store_opts.key, "The key (get, set, del)");
  store_cmd->add_option("VALUE", store_opts.value, "The value (set)");
  store_cmd->add_option("--mars", store_opts.mars, "MARS address, HOST:PORT")
    ->capture_default_str();
  store_cmd->add_option("--app", store_opts.app, "App name (SetAppName); default: none");
  store_cmd->add_option("--config", store_opts.config_path,
                        "JSON config file (storageTargetNodeType, ...)");
  store_cmd->add_option("--ttl", store_opts.ttl_s, "set: seconds to live (0: none)")
    ->capture_default_str();
  store_cmd->add_option("--timeout", store_opts.timeout_ms, "Milliseconds to wait for the answer")
    ->capture_default_str();
  store_cmd->add_flag("--json", store_opts.json, "stats: print JSON");
  store_cmd->add_option("--cluster-key-file", store_opts.cluster_key_file,
                        "The cluster key file, where the cluster has one");
  add_log_level(*store_cmd, log_level);

  auto* dm_cmd = app.add_subcommand(
    "dm", "Send or receive direct messages as a user, through a node's client gateway, or find "
          "the node a user is connected to");
  meshrt::cli::dm_options dm_opts;
  dm_cmd->add_option("ACTION", dm_opts.action, "send, listen or where")->required();
  dm_cmd->add_option("--node", dm_opts.node,
                     "send, listen: the node's client gateway, HOST:CLIENT_PORT");
  dm_cmd->add_option("--mars", dm_opts.mars, "where: MARS address, HOST:PORT")
    ->capture_default_str();
  dm_cmd->add_option("--app", dm_opts.app, "where: app name (SetAppName); default: none");
  dm_cmd->add_option("--config", dm_opts.config_path,
                     "where: JSON config file (storageTargetNodeType, ...)");
  dm_cmd->add_option("--cluster-key-file", dm_opts.cluster_key_file,
                     "where: the cluster key file, where the cluster has one");
  dm_cmd->add_option("--from", dm_opts.from, "send: the sending user's id");
  dm_cmd->add_option("--to", dm_opts.to, "send: the receiving user's id");
  dm_cmd->add_option("--text", dm_opts.text, "send: the message");
  dm_cmd->add_option("--ver", dm_opts.ver, "send: the message's ver (0-255)")
    ->capture_default_str();
  dm_cmd->add_option("--cmd", dm_opts.cmd, "send: the message's cmd (0-65535)")
    ->capture_default_str();
  dm_cmd->add_option("--user", dm_opts.user,
                     "listen: the user to log in as; where: the user to look for");
  dm_cmd->add_option("--count", dm_opts.count, "listen: stop after N events (0: no limit)")
    ->capture_default_str();
  dm_cmd->add_option("--timeout", dm_opts.timeout_s,
                     "listen: stop after S seconds (0: none); send: seconds to wait (default "
                     "5); where: seconds to wait (default 3)");
  dm_cmd->add_flag("--json", dm_opts.json, "listen: one JSON object per line; where: one object");
  dm_cmd->add_option("--token", dm_opts.token,
                     "The login token, where the gateway requires one (meshrt token issue)");
  add_log_level(*dm_cmd, log_level);

  auto* token_cmd = app.add_subcommand("token", "Issue client login tokens");
  token_cmd->require_subcommand(1);
  auto* token_issue_cmd = token_cmd->add_subcommand(
    "issue", "Print a login token for a user, signed with a key file (clientTokenKeyFile)");
  std::string token_user, token_key_file;
  double token_ttl_s = 3600;
  token_issue_cmd->add_option("--user", token_user, "The user the token logs in")->required();
  token_issue_cmd->add_option("--ttl", token_ttl_s, "Seconds the token is valid")
    ->capture_default_str();
  token_issue_cmd->add_option("--key-file", token_key_file, "The key file (meshrt keygen)")
    ->required();

  auto* keygen_cmd
    = app.add_subcommand("keygen", "Write a new key file for clusterKeyFile or clientTokenKeyFile");
  std::string keygen_out;
  keygen_cmd->add_option("--out", keygen_out, "The file to create (mode 0600)")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" that exit 0; real ones print one line.
    return app.exit(e) == 0 ? 0 : exit_usage;
  }

  try {
    if (*check_cmd)
      return run_config_check(config_path);
    if (*bench_cmd) {
      if (scenario == "report")
        return run_bench_report(bench_file, bench_out);
      if (scenario == "scenario")
        return run_scenario_file(bench_file, json_path, bench_duration);
      bench.mode = meshrt::parse_scheduling(bench_scheduling);
      return run_bench(scenario, json_path, bench);
    }
    if (*floor_cmd)
      return meshrt::bench::run_floor_server(floor_port, floor_udp_ports, floor_index);
    if (*peer_cmd)
      return meshrt::bench::run_bench_peer(peer_kind, peer_port, peer_mars, peer_key_file,
                                           meshrt::parse_scheduling(peer_scheduling));
    if (*mars_cmd) {
      mars_cfg.cluster_key = meshrt::cli::cluster_key_flag(mars_key_file);
      return run_mars(mars_cfg, mars_metrics_port);
    }
    if (*node_cmd)
      return meshrt::cli::run_node(node_opts);
    if (*status_cmd)
      return meshrt::cli::run_status(status_opts);
    if (*ping_cmd)
      return meshrt::cli::run_ping(ping_opts);
    if (*demo_cmd)
      return meshrt::cli::run_demo(demo_port, demo_processes);
    if (*scenario_node_cmd)
      return meshrt::cli::run_node(
        scenario_node_opts,
        [](caf::actor_system& sys, const meshrt::node& n, const std::string& at) {
          meshrt::bench::install_scenario_handlers(sys, n, at);
          meshrt::logger("node")->info("scenario node ready at {}", at);
        });
    if (*demo_node_cmd)
      return meshrt::cli::run_node(
        demo_node_opts, [](caf::actor_system& sys, const meshrt::node& n, const std::string& at) {
          meshrt::cli::setup_demo_node(sys, n, at);
          meshrt::logger("node")->info("demo node ready at {}", at);
        });
    if (*store_cmd)
      return meshrt::cli::run_store(store_opts);
    if (*dm_cmd)
      return meshrt::cli::run_dm(dm_opts);
    if (*token_issue_cmd)
      return meshrt::cli::run_token_issue(token_user, token_ttl_s, token_key_file);
    if (*keygen_cmd)
      return meshrt::cli::run_keygen(keygen_out);
  } catch (const meshrt::bench::scenario_error& e) {
    std::fprintf(stderr, "meshrt: %s\n", e.what());
    return exit_usage;
  } catch (const meshrt::config_error& e) {
    std::fprintf(stderr, "meshrt: %s\n", e.what());
    return exit_usage;
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "meshrt: %s\n", e.what());
    return exit_usage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "meshrt: %s\n", e.what());
    return 1;
  }
  return 0;
}
