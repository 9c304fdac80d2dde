#include "benchmarks/scenario.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace meshrt::bench {

namespace {

using json = nlohmann::json;

/// One field of the file being read: its path for errors, its value.
class field {
public:
  field(const json& value, std::string path, const std::string& source) :
    value_(value), path_(std::move(path)), source_(source) {}

  [[noreturn]] void fail(const std::string& expected) const {
    throw scenario_error(source_ + ": field '" + path_ + "': expected " + expected + ", got "
                         + value_.dump());
  }

  const json& value() const {
    return value_;
  }

  field at(const std::string& key) const {
    return {value_.at(key), path_ + "." + key, source_};
  }

  field at(size_t index) const {
    return {value_.at(index), path_ + "[" + std::to_string(index) + "]", source_};
  }

  /// An object whose keys are all in `known`.
  const field& object(const std::vector<std::string>& known) const {
    if (!value_.is_object())
      fail("an object");
    for (const auto& [key, v] : value_.items())
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        std::string list;
        for (const auto& k : known)
          list += (list.empty() ? "" : ", ") + k;
        throw scenario_error(source_ + ": unknown field '" + path_ + "." + key + "' (known: " + list
                             + ")");
      }
    return *this;
  }

  bool has(const std::string& key) const {
    return value_.contains(key);
  }

  std::string text() const {
    if (!value_.is_string() || value_.get<std::string>().empty())
      fail("a non-empty string");
    return value_.get<std::string>();
  }

  double number(double low, double high, const std::string& unit) const {
    auto range = "a number from " + fmt(low) + " to " + fmt(high) + " (" + unit + ")";
    if (!value_.is_number())
      fail(range);
    auto v = value_.get<double>();
    if (v < low || v > high)
      fail(range);
    return v;
  }

  size_t count(size_t low, size_t high, const std::string& unit) const {
    auto range = "a whole number from " + std::to_string(low) + " to " + std::to_string(high) + " ("
                 + unit + ")";
    if (!value_.is_number_integer())
      fail(range);
    auto v = value_.get<int64_t>();
    if (v < static_cast<int64_t>(low) || v > static_cast<int64_t>(high))
      fail(range);
    return static_cast<size_t>(v);
  }

  std::string path() const {
    return path_;
  }

  static std::string fmt(double v) {
    std::ostringstream out;
    out << v;
    return out.str();
  }

private:
  const json& value_;
  std::string path_;
  const std::string& source_;
};

scenario_load read_load(const std::string& op, const field& f) {
  std::vector<std::string> known{"rate", "payload"};
  if (op == "fanout")
    known.emplace_back("limit");
  if (op == "store")
    known.emplace_back("keys");
  if (op == "dm")
    known.emplace_back("users");
  f.object(known);
  scenario_load load;
  if (!f.has("rate"))
    f.fail("an object with \"rate\" (operations per second)");
  load.rate = f.at("rate").number(0, 1'000'000, "operations per second");
  if (f.has("payload"))
    load.payload = f.at("payload").count(op == "dm" || op == "store" ? 1 : 16, 1'000'000, "bytes");
  if (f.has("limit"))
    load.limit = static_cast<uint16_t>(f.at("limit").count(1, 1000, "SendMany's limit"));
  if (f.has("keys"))
    load.keys = f.at("keys").count(1, 10'000'000, "keys");
  if (op == "dm") {
    if (!f.has("users"))
      f.fail("an object with \"users\" (users connected)");
    load.users = f.at("users").count(2, 100'000, "users");
  }
  return load;
}

scenario_fault read_fault(const field& f, double duration_s) {
  f.object({"at_s", "kind", "percent", "for_s", "node", "type", "every_s"});
  scenario_fault fault;
  if (!f.has("at_s") || !f.has("kind"))
    f.fail("an object with \"at_s\" and \"kind\"");
  fault.at_s = f.at("at_s").number(0, duration_s, "seconds into the run, within duration_s");
  auto kind = f.at("kind");
  static const std::vector<fault_kind> kinds{fault_kind::drop,         fault_kind::kill,
                                             fault_kind::join,         fault_kind::leave,
                                             fault_kind::mars_restart, fault_kind::restart};
  auto name = kind.value().is_string() ? kind.value().get<std::string>() : std::string{};
  auto i
    = std::find_if(kinds.begin(), kinds.end(), [&](fault_kind k) { return to_string(k) == name; });
  if (i == kinds.end())
    kind.fail("one of drop, kill, join, leave, mars_restart, restart");
  fault.kind = *i;
  auto need = [&](const char* key, const char* what) {
    if (!f.has(key))
      f.fail(std::string{"a "} + name + " fault with \"" + key + "\" (" + what + ")");
    return f.at(key);
  };
  switch (fault.kind) {
    case fault_kind::drop:
      fault.percent = need("percent", "share of datagrams dropped").number(0, 100, "percent");
      fault.for_s = need("for_s", "how long").number(0, 3600, "seconds");
      break;
    case fault_kind::kill:
    case fault_kind::leave:
    case fault_kind::restart:
      fault.node = need("node", "the node's number").count(0, 10'000, "node number");
      break;
    case fault_kind::join:
      fault.type = need("type", "the new node's type").text();
      break;
    case fault_kind::mars_restart:
      break;
  }
  if (f.has("every_s")) {
    if (fault.kind != fault_kind::drop && fault.kind != fault_kind::restart
        && fault.kind != fault_kind::mars_restart)
      f.at("every_s").fail("no every_s on a " + name
                           + " (only drop, restart, mars_restart repeat)");
    fault.every_s = f.at("every_s").number(1, 86'400, "seconds between repetitions");
  }
  return fault;
}

} // namespace

std::string to_string(fault_kind kind) {
  switch (kind) {
    case fault_kind::drop:
      return "drop";
    case fault_kind::kill:
      return "kill";
    case fault_kind::join:
      return "join";
    case fault_kind::leave:
      return "leave";
    case fault_kind::mars_restart:
      return "mars_restart";
    case fault_kind::restart:
      return "restart";
  }
  return "?";
}

bool ends_node(fault_kind kind) {
  return kind == fault_kind::kill || kind == fault_kind::leave || kind == fault_kind::restart;
}

size_t scenario::initial_nodes() const {
  size_t n = 0;
  for (const auto& g : nodes)
    n += g.count;
  return n;
}

const std::vector<std::string>& scenario_operations() {
  static const std::vector<std::string> ops{"rpc", "send", "usend", "fanout", "store", "dm"};
  return ops;
}

scenario parse_scenario(std::string_view json_text, const std::string& source) {
  auto doc = json::parse(json_text, nullptr, false);
  if (doc.is_discarded())
    throw scenario_error(source + ": not valid JSON");
  field root{doc, "scenario", source};
  root.object({"name", "duration_s", "cluster", "workload", "faults", "resources"});
  scenario s;
  if (!root.has("name") || !root.has("cluster") || !root.has("workload"))
    root.fail("an object with \"name\", \"cluster\" and \"workload\"");
  s.name = root.at("name").text();
  if (root.has("duration_s"))
    s.duration_s = root.at("duration_s").number(1, 86'400, "seconds");
  auto cluster = root.at("cluster");
  cluster.object({"mode", "nodes"});
  if (cluster.has("mode")) {
    s.mode = cluster.at("mode").text();
    if (s.mode != "in_process" && s.mode != "processes" && s.mode != "namespaces")
      cluster.at("mode").fail("\"in_process\" (the nodes in this process), \"processes\" "
                              "(each node a process of its own) or \"namespaces\" (each "
                              "process in a network namespace of its own)");
  }
  if (!cluster.has("nodes") || !cluster.at("nodes").value().is_array()
      || cluster.at("nodes").value().empty())
    cluster.fail("an object with \"nodes\", a non-empty array of {\"type\", \"count\"}");
  auto nodes = cluster.at("nodes");
  for (size_t i = 0; i < nodes.value().size(); ++i) {
    auto g = nodes.at(i);
    g.object({"type", "count"});
    if (!g.has("type"))
      g.fail("an object with \"type\"");
    scenario_nodes group{g.at("type").text(), 1};
    if (g.has("count"))
      group.count = g.at("count").count(1, 64, "nodes");
    s.nodes.push_back(std::move(group));
  }
  if (s.initial_nodes() > 64)
    nodes.fail("at most 64 nodes in all");
  auto workload = root.at("workload");
  workload.object(scenario_operations());
  if (workload.value().empty())
    workload.fail("at least one operation of rpc, send, usend, fanout, store, dm");
  for (const auto& [op, v] : workload.value().items())
    s.workload[op] = read_load(op, workload.at(op));
  if (root.has("faults")) {
    auto faults = root.at("faults");
    if (!faults.value().is_array())
      faults.fail("an array of faults");
    for (size_t i = 0; i < faults.value().size(); ++i) {
      s.faults.push_back(read_fault(faults.at(i), s.duration_s));
      if (s.faults.back().kind == fault_kind::drop && s.mode == "processes")
        faults.at(i).at("kind").fail(
          "kill, join, leave or mars_restart with cluster.mode \"processes\" (drop sets the "
          "transports of nodes in the runner's process, or nftables with \"namespaces\")");
    }
    // Repetitions spelled out, each remembering the fault it repeats (its
    // chain): a repeated restart strikes the node that replaced the last
    // victim.
    std::vector<std::pair<scenario_fault, size_t>> timeline;
    for (size_t i = 0; i < s.faults.size(); ++i) {
      timeline.emplace_back(s.faults[i], i);
      if (s.faults[i].every_s > 0)
        for (auto at = s.faults[i].at_s + s.faults[i].every_s; at < s.duration_s;
             at += s.faults[i].every_s) {
          timeline.emplace_back(s.faults[i], i);
          timeline.back().first.at_s = at;
        }
    }
    std::stable_sort(timeline.begin(), timeline.end(),
                     [](const auto& a, const auto& b) { return a.first.at_s < b.first.at_s; });
    // A node number names a node that exists by then: the initial ones and
    // those joined or restarted before.
    auto known = s.initial_nodes();
    std::map<size_t, size_t> replaced_by; // chain: the node its last restart started
    s.faults.clear();
    for (auto& [f, chain] : timeline) {
      if (f.kind == fault_kind::restart)
        if (auto r = replaced_by.find(chain); r != replaced_by.end())
          f.node = r->second;
      if (ends_node(f.kind) && f.node >= known)
        throw scenario_error(source + ": field 'scenario.faults': a " + to_string(f.kind) + " at "
                             + field::fmt(f.at_s) + " s names node " + std::to_string(f.node)
                             + ", but only nodes 0 to " + std::to_string(known - 1)
                             + " exist by then");
      if (f.kind == fault_kind::restart)
        replaced_by[chain] = known;
      if (f.kind == fault_kind::join || f.kind == fault_kind::restart)
        ++known;
      s.faults.push_back(f);
    }
  }
  if (root.has("resources")) {
    auto r = root.at("resources");
    r.object({"warmup_s", "rss_growth_percent"});
    if (s.mode == "in_process")
      r.fail("cluster.mode \"processes\" or \"namespaces\" (resources are measured per "
             "process)");
    s.resources.enabled = true;
    if (r.has("warmup_s"))
      s.resources.warmup_s = r.at("warmup_s").number(0, s.duration_s, "seconds, within duration_s");
    if (r.has("rss_growth_percent"))
      s.resources.rss_growth_percent = r.at("rss_growth_percent").number(0, 1000, "percent");
  }
  return s;
}

scenario load_scenario(const std::string& path, std::optional<double> duration_s) {
  std::ifstream in{path};
  if (!in)
    throw scenario_error(path + ": cannot read the scenario file");
  std::stringstream text;
  text << in.rdbuf();
  if (!duration_s)
    return parse_scenario(text.str(), path);
  auto doc = json::parse(text.str(), nullptr, false);
  if (doc.is_object())
    doc["duration_s"] = *duration_s;
  return parse_scenario(doc.is_object() ? doc.dump() : text.str(), path);
}

} // namespace meshrt::bench
