#pragma once

// A load scenario (`meshrt bench scenario FILE.json`): the cluster, the
// workload and its rates, the faults and when they strike, how long it runs.
// Read without I/O beyond the file: every field is checked, and a bad one
// is one scenario_error naming the field and what was expected.
//
//   {"name": "smoke", "duration_s": 8,
//    "cluster": {"nodes": [{"type": "HTTP", "count": 2}, {"type": "UDP", "count": 2}]},
//    "workload": {"rpc": {"rate": 200, "payload": 64}, "store": {"rate": 100, "keys": 1000},
//                 "dm": {"users": 40, "rate": 100, "payload": 32}},
//    "faults": [{"at_s": 3, "kind": "kill", "node": 3}]}
//
// The fields, their defaults and bounds are listed in
// benchmarks/scenarios/README.md.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace meshrt::bench {

/// A scenario file that cannot be used: "FILE: field 'X': expected Y, got Z".
class scenario_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Nodes of one type.
struct scenario_nodes {
  std::string type;
  size_t count = 1;
};

/// One operation's load.
struct scenario_load {
  double rate = 0;     // operations per second, over the whole cluster
  size_t payload = 64; // bytes per message, value or DM
  uint16_t limit = 2;  // fanout: SendMany's limit
  size_t keys = 1000;  // store: keys the operations spread over
  size_t users = 0;    // dm: users connected, spread over the nodes
};

/// What a fault does.
enum class fault_kind { drop, kill, join, leave, mars_restart, restart };

/// "drop", "kill", "join", "leave", "mars_restart", "restart".
std::string to_string(fault_kind kind);

/// Whether a fault of `kind` ends the node it names (kill, leave, restart).
bool ends_node(fault_kind kind);

/// One fault, at `at_s` seconds into the run.
struct scenario_fault {
  double at_s = 0;
  fault_kind kind = fault_kind::kill;
  double percent = 0; // drop: share of UDP datagrams dropped
  double for_s = 0;   // drop: how long
  size_t node = 0;    // kill, leave, restart: the node's number (0: the first started)
  std::string type;   // join: the new node's type
  /// Repeated every this many seconds until the run ends (0: once). A
  /// repeated restart strikes the node that replaced the last victim.
  double every_s = 0;
};

/// Resource checks of the nodes that run from start to end (cluster modes
/// "processes" and "namespaces"): their resident memory, open file
/// descriptors and running actors are taken once the run is `warmup_s` in,
/// and again at its end.
struct scenario_resources {
  bool enabled = false;
  double warmup_s = 20;
  /// Resident memory at the end may exceed the one after warm-up by this
  /// much at most.
  double rss_growth_percent = 10;
};

/// A whole scenario.
struct scenario {
  std::string name;
  double duration_s = 10;
  /// "in_process", "processes" or "namespaces".
  std::string mode = "in_process";
  std::vector<scenario_nodes> nodes;
  /// By operation: rpc, send, usend, fanout, store, dm.
  std::map<std::string, scenario_load> workload;
  /// In order of `at_s`, repetitions (every_s) spelled out.
  std::vector<scenario_fault> faults;
  scenario_resources resources;

  /// Nodes started at the beginning.
  size_t initial_nodes() const;
};

/// The operations a workload may name.
const std::vector<std::string>& scenario_operations();

/// Reads a scenario from JSON text; `source` names it in errors.
scenario parse_scenario(std::string_view json_text, const std::string& source);

/// Reads a scenario file; `duration_s`, when given, replaces the file's
/// (before repeated faults are spelled out).
scenario load_scenario(const std::string& path, std::optional<double> duration_s = std::nullopt);

} // namespace meshrt::bench
