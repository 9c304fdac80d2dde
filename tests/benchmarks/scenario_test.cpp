// Scenario files: what a good one holds, and the one clear error of each
// kind of bad one.

#include "benchmarks/scenario.hpp"

#include <doctest/doctest.h>

#include "support/temp_dir.hpp"

using namespace meshrt::bench;

namespace {

/// The error parse_scenario gives for `text`, "" if none.
std::string error_of(const std::string& text) {
  try {
    parse_scenario(text, "s.json");
  } catch (const scenario_error& e) {
    return e.what();
  }
  return {};
}

const char* minimal = R"({"name": "x", "cluster": {"nodes": [{"type": "HTTP"}]},
                          "workload": {"rpc": {"rate": 10}}})";

} // namespace

TEST_SUITE("benchmarks.scenario") {

  TEST_CASE("a scenario names its cluster, workload and faults, in time order") {
    auto s = parse_scenario(R"({
      "name": "mixed", "duration_s": 12,
      "cluster": {"mode": "in_process",
                  "nodes": [{"type": "HTTP", "count": 2}, {"type": "UDP", "count": 3}]},
      "workload": {"rpc": {"rate": 200, "payload": 128}, "fanout": {"rate": 5, "limit": 3},
                   "store": {"rate": 50, "keys": 10}, "dm": {"users": 40, "rate": 20}},
      "faults": [{"at_s": 6, "kind": "mars_restart"},
                 {"at_s": 2, "kind": "drop", "percent": 10, "for_s": 2},
                 {"at_s": 4, "kind": "join", "type": "UDP"},
                 {"at_s": 5, "kind": "kill", "node": 5},
                 {"at_s": 7, "kind": "leave", "node": 1}]})",
                            "mixed.json");
    CHECK(s.name == "mixed");
    CHECK(s.duration_s == 12);
    CHECK(s.initial_nodes() == 5);
    CHECK(s.workload.at("rpc").payload == 128);
    CHECK(s.workload.at("fanout").limit == 3);
    CHECK(s.workload.at("store").keys == 10);
    CHECK(s.workload.at("dm").users == 40);
    CHECK(s.workload.at("dm").payload == 64);
    REQUIRE(s.faults.size() == 5);
    CHECK(s.faults[0].kind == fault_kind::drop);
    CHECK(s.faults[0].percent == 10);
    CHECK(s.faults[1].type == "UDP");
    CHECK(s.faults[2].node == 5); // the node joined at 4 s
    CHECK(s.faults[4].kind == fault_kind::leave);
    auto d = parse_scenario(minimal, "m.json");
    CHECK(d.duration_s == 10);
    CHECK(d.faults.empty());
  }

  TEST_CASE("a bad scenario is one error naming the field and what was expected") {
    CHECK(error_of("{") == "s.json: not valid JSON");
    CHECK(error_of(R"({"name": "x", "cluster": {"nodes": []}, "workload": {}})")
          == "s.json: field 'scenario.cluster': expected an object with \"nodes\", a non-empty "
             "array of {\"type\", \"count\"}, got {\"nodes\":[]}");
    CHECK(error_of(R"({"name": "x", "cluster": {"nodes": [{"type": "HTTP"}]},
                       "workload": {"rcp": {"rate": 1}}})")
          == "s.json: unknown field 'scenario.workload.rcp' (known: rpc, send, usend, fanout, "
             "store, dm)");
    CHECK(error_of(R"({"name": "x", "cluster": {"nodes": [{"type": "HTTP"}]},
                       "workload": {"rpc": {"rate": -5}}})")
          == "s.json: field 'scenario.workload.rpc.rate': expected a number from 0 to 1e+06 "
             "(operations per second), got -5");
    CHECK(error_of(R"({"name": "x", "cluster": {"nodes": [{"type": "HTTP", "count": "two"}]},
                       "workload": {"rpc": {"rate": 1}}})")
          == "s.json: field 'scenario.cluster.nodes[0].count': expected a whole number from 1 "
             "to 64 (nodes), got \"two\"");
    CHECK(error_of(R"({"name": "x", "cluster": {"nodes": [{"type": "HTTP"}]},
                       "workload": {"dm": {"rate": 1}}})")
          == "s.json: field 'scenario.workload.dm': expected an object with \"users\" (users "
             "connected), got {\"rate\":1}");
    CHECK(error_of(R"({"name": "x", "duration_s": 5, "cluster": {"nodes": [{"type": "HTTP"}]},
                       "workload": {"rpc": {"rate": 1}},
                       "faults": [{"at_s": 9, "kind": "kill", "node": 0}]})")
          == "s.json: field 'scenario.faults[0].at_s': expected a number from 0 to 5 (seconds "
             "into the run, within duration_s), got 9");
    CHECK(error_of(R"({"name": "x", "cluster": {"nodes": [{"type": "HTTP"}]},
                       "workload": {"rpc": {"rate": 1}},
                       "faults": [{"at_s": 1, "kind": "explode"}]})")
          == "s.json: field 'scenario.faults[0].kind': expected one of drop, kill, join, leave, "
             "mars_restart, restart, got \"explode\"");
    CHECK(error_of(R"({"name": "x", "cluster": {"nodes": [{"type": "HTTP"}]},
                       "workload": {"rpc": {"rate": 1}},
                       "faults": [{"at_s": 1, "kind": "kill", "node": 0, "every_s": 2}]})")
          == "s.json: field 'scenario.faults[0].every_s': expected no every_s on a kill (only "
             "drop, restart, mars_restart repeat), got 2");
    CHECK(error_of(R"({"name": "x", "cluster": {"nodes": [{"type": "HTTP"}]},
                       "workload": {"rpc": {"rate": 1}}, "resources": {}})")
            .rfind("s.json: field 'scenario.resources': expected cluster.mode \"processes\"", 0)
          == 0);
    CHECK(error_of(R"({"name": "x", "cluster": {"nodes": [{"type": "HTTP"}]},
                       "workload": {"rpc": {"rate": 1}},
                       "faults": [{"at_s": 1, "kind": "drop", "percent": 10}]})")
          == "s.json: field 'scenario.faults[0]': expected a drop fault with \"for_s\" (how "
             "long), got {\"at_s\":1,\"kind\":\"drop\",\"percent\":10}");
    CHECK(error_of(R"({"name": "x", "cluster": {"nodes": [{"type": "HTTP", "count": 2}]},
                       "workload": {"rpc": {"rate": 1}},
                       "faults": [{"at_s": 1, "kind": "kill", "node": 2}]})")
          == "s.json: field 'scenario.faults': a kill at 1 s names node 2, but only nodes 0 to 1 "
             "exist by then");
    CHECK(error_of(R"({"name": "x", "cluster": {"mode": "threads", "nodes": [{"type": "HTTP"}]},
                       "workload": {"rpc": {"rate": 1}}})")
          == "s.json: field 'scenario.cluster.mode': expected \"in_process\" (the nodes in this "
             "process), \"processes\" (each node a process of its own) or \"namespaces\" (each "
             "process in a network namespace of its own), got \"threads\"");
    CHECK(error_of(R"({"name": "x", "cluster": {"mode": "processes", "nodes": [{"type": "HTTP"}]},
                       "workload": {"rpc": {"rate": 1}},
                       "faults": [{"at_s": 1, "kind": "drop", "percent": 5, "for_s": 1}]})")
            .rfind("s.json: field 'scenario.faults[0].kind': expected kill, join, leave or "
                   "mars_restart with cluster.mode \"processes\"",
                   0)
          == 0);
  }

  TEST_CASE("repeated faults are spelled out, a repeated restart strikes the last replacement") {
    auto s = parse_scenario(R"({"name": "r", "duration_s": 50,
      "cluster": {"mode": "processes", "nodes": [{"type": "HTTP", "count": 3}]},
      "workload": {"rpc": {"rate": 1}},
      "faults": [{"at_s": 10, "kind": "restart", "node": 1, "every_s": 20},
                 {"at_s": 15, "kind": "join", "type": "UDP"},
                 {"at_s": 20, "kind": "mars_restart", "every_s": 15}],
      "resources": {"warmup_s": 5}})",
                            "r.json");
    // 10 restart 1 (-> node 3), 15 join (4), 20 mars, 30 restart 3 (-> 5),
    // 35 mars, 50 is the end.
    REQUIRE(s.faults.size() == 5);
    CHECK(s.faults[0].kind == fault_kind::restart);
    CHECK(s.faults[0].node == 1);
    CHECK(s.faults[1].kind == fault_kind::join);
    CHECK(s.faults[2].kind == fault_kind::mars_restart);
    CHECK(s.faults[3].kind == fault_kind::restart);
    CHECK(s.faults[3].at_s == 30);
    CHECK(s.faults[3].node == 3);
    CHECK(s.faults[4].at_s == 35);
    CHECK(s.resources.enabled);
    CHECK(s.resources.warmup_s == 5);
    CHECK(s.resources.rss_growth_percent == 10);
  }

  TEST_CASE("the shipped scenarios all load") {
    for (const char* name : {"smoke", "smoke-processes", "dm-heavy", "fanout-heavy", "store-heavy",
                             "chaos", "chaos-namespaces"}) {
      CAPTURE(name);
      auto s = load_scenario(std::string{MESHRT_SCENARIOS_DIR} + "/" + name + ".json");
      CHECK(s.name == name);
    }
    CHECK_THROWS_WITH_AS(load_scenario("/nonexistent.json"),
                         "/nonexistent.json: cannot read the scenario file", scenario_error);
  }

} // TEST_SUITE
