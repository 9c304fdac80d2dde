// The smoke scenario as a user runs it: `meshrt bench scenario` with stderr
// not a terminal, then its table and its JSON.

#include "benchmarks/scenario_runner.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "support/scenario_run.hpp"

using namespace meshrt::test;

TEST_SUITE("benchmarks.scenario_run") {

  TEST_CASE("the smoke scenario runs, reports plain progress lines and writes every figure") {
    temp_dir dir;
    auto run = run_shipped("smoke", dir);
    const auto& r = run.cli;
    const auto& doc = run.doc;
    INFO(r.out);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    // Progress: plain lines (no carriage returns) every 2 s, while loaded.
    CHECK(r.err.find('\r') == std::string::npos);
    CHECK(r.err.find(" s] load | dm ") != std::string::npos);
    CHECK(r.err.find("join at 2.0 s") != std::string::npos);
    CHECK(r.out.find("scenario smoke: 8.0 s of load on 4 nodes") != std::string::npos);
    CHECK(r.out.find("reliable messages lost: 0, duplicated: 0") != std::string::npos);
    CHECK(doc["scenario"] == "scenario-smoke");
    auto figure = [&](const std::string& metric) { return run.figure(metric); };
    for (const char* op : {"rpc", "send", "usend", "fanout", "store", "dm"}) {
      CAPTURE(op);
      auto name = std::string{op};
      // Most of what was offered went through (the killed node's share
      // fails, reported).
      CHECK(figure(name + "_issued") > 0);
      CHECK(figure(name + "_ok") > 0.5 * figure(name + "_issued"));
      CHECK(figure(name + "_p50_us") > 0);
      CHECK(figure(name + "_p99_us") >= figure(name + "_p50_us"));
      bool has_histogram = false;
      for (const auto& h : doc["histograms"])
        has_histogram = has_histogram || h["metric"] == name + "_us";
      CHECK(has_histogram);
    }
    CHECK(figure("send_lost") == 0);
    CHECK(figure("dm_lost") == 0);
    CHECK(figure("send_duplicated") == 0);
    CHECK(doc["timeline"].size() == 8);
    CHECK(doc["timeline"][1]["rpc"]["ok"].get<int>() > 0);
    REQUIRE(doc["faults"].size() == 2);
    CHECK(doc["faults"][0]["kind"] == "join");
    CHECK(doc["faults"][0]["detect_ms"].get<double>() > 0);
    CHECK(doc["faults"][1]["kind"] == "kill");
    CHECK(doc["faults"][1]["detect_ms"].get<double>() > 0);
    CHECK(doc["faults"][1]["detect_ms"].get<double>() < 5000);
    // A bad scenario file: one line, exit 2 (usage).
    auto bad_path
      = dir.write("bad.json", R"({"name": "x", "cluster": {"nodes": []}, "workload": {}})");
    auto bad = run_command("timeout 10 " + std::string{MESHRT_CLI} + " bench scenario " + bad_path);
    CHECK(bad.exit_code == 2);
    CHECK(bad.err.find("meshrt: " + bad_path + ": field 'scenario.cluster'") == 0);
  }

  TEST_CASE("a scenario of child processes: kill -9 and a MARS restart for real, nothing lost") {
    temp_dir dir;
    auto run = run_shipped("smoke-processes", dir);
    const auto& r = run.cli;
    const auto& doc = run.doc;
    INFO(r.out);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("reliable messages lost: 0, duplicated: 0") != std::string::npos);
    for (const auto& f : doc["results"])
      if (f["metric"] == "rpc_ok" || f["metric"] == "store_ok" || f["metric"] == "dm_ok"
          || f["metric"] == "send_ok")
        CHECK_MESSAGE(f["value"].get<double>() > 400, f["metric"]);
    REQUIRE(doc["faults"].size() == 3);
    for (const auto& f : doc["faults"]) {
      CAPTURE(f.dump());
      CHECK(f["detect_ms"].get<double>() > 0);
      CHECK(f["detect_ms"].get<double>() < 8000);
    }
    CHECK(doc["faults"][2]["note"] == "every node registered with the new MARS");
    // The children's logs go when nothing was lost.
    CHECK(r.out.find("the nodes' logs") == std::string::npos);
  }

} // TEST_SUITE
