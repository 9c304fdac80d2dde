// bench report: which charts a results file gets, the gnuplot script of
// one, and PNGs drawn from the stored results file by `meshrt bench report`.

#include "benchmarks/bench_charts.hpp"

#include <fstream>
#include <iterator>
#include <stdexcept>

#include <doctest/doctest.h>

#include "support/command.hpp"
#include "support/temp_dir.hpp"

using namespace meshrt::bench;
using namespace meshrt::test;

namespace {

const std::string fixture = MESHRT_TEST_DATA "/bench-all.json";

std::string read(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

const chart* find_chart(const std::vector<chart>& charts, const std::string& file) {
  for (const auto& c : charts)
    if (c.file == file)
      return &c;
  return nullptr;
}

} // namespace

TEST_SUITE("benchmarks.bench_charts") {

  TEST_CASE("a results file gets latency CDFs, throughput by outstanding and goodput by loss") {
    auto charts = plan_charts(read(fixture));
    CHECK(charts.size() == 8); // 4 of the benches, 4 of the scenario
    auto* rpc_cdf = find_chart(charts, "rpc-rtt-cdf.png");
    REQUIRE(rpc_cdf);
    CHECK(rpc_cdf->log_x);
    CHECK(rpc_cdf->steps);
    REQUIRE(rpc_cdf->series.size() == 3); // meshrt beside raw UDP and CAF remote
    CHECK(rpc_cdf->series[2].name == "meshrt");
    CHECK(rpc_cdf->series[2].points.back().second == 1.0);
    REQUIRE(find_chart(charts, "transport-rtt-cdf.png"));
    auto* tp = find_chart(charts, "rpc-throughput.png");
    REQUIRE(tp);
    REQUIRE(tp->series.size() == 2); // raw UDP has no throughput figures
    CHECK(tp->series[1].name == "meshrt");
    CHECK(tp->series[1].points
          == std::vector<std::pair<double, double>>{{1, 15000}, {16, 88000}, {256, 104000}});
    auto* loss = find_chart(charts, "transport-goodput-loss.png");
    REQUIRE(loss);
    REQUIRE(loss->series.size() == 1); // ENet has one point: no line
    CHECK(
      loss->series[0].points
      == std::vector<std::pair<double, double>>{{0, 410}, {1, 220}, {5, 90}, {10, 41}, {20, 17}});
    // The scenario: its latencies' CDFs, and rates and latency over time
    // with its faults marked.
    REQUIRE(find_chart(charts, "scenario-smoke-rpc-cdf.png"));
    auto* rates = find_chart(charts, "scenario-smoke-rates.png");
    REQUIRE(rates);
    CHECK(rates->markers
          == std::vector<std::pair<double, std::string>>{{2, "join"}, {3.5, "kill"}});
    REQUIRE(rates->series.size() == 7); // six operations and the failures
    CHECK(rates->series.back().name == "failed (all operations)");
    CHECK(rates->series[0].points.size() == 6);
    CHECK(rates->series[0].points[0].first == 0.5);
    auto* latency = find_chart(charts, "scenario-smoke-latency.png");
    REQUIRE(latency);
    CHECK(latency->log_y);
    CHECK(latency->markers.size() == 2);
  }

  TEST_CASE("a file that is no bench results is refused with what was expected") {
    CHECK_THROWS_WITH_AS(plan_charts("{nope"), "not a bench results document: not valid JSON",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(
      plan_charts(R"({"figures": []})"),
      "not a bench results document: expected \"scenario\" (one run) or \"runs\" (bench all)",
      std::invalid_argument);
    CHECK_THROWS_WITH_AS(plan_charts(R"({"runs": 3})"), "bench results: \"runs\" must be an array",
                         std::invalid_argument);
    CHECK(plan_charts(R"({"scenario": "fanout", "results": []})").empty());
  }

  TEST_CASE("the gnuplot script names its data, output and series") {
    chart c{"x.png",
            "rpc",
            "rpc: \"quoted\"",
            "requests outstanding",
            "requests per second",
            true,
            false,
            {{"meshrt", {{1, 2}, {16, 3}}}, {"caf_remote", {{1, 1}, {16, 2}}}},
            false,
            {}};
    auto gp = gnuplot_script(c, "/tmp/x.dat", "/tmp/x.png");
    CHECK(gp.find("set terminal pngcairo") != std::string::npos);
    CHECK(gp.find("set output \"/tmp/x.png\"\n") != std::string::npos);
    CHECK(gp.find("set title \"rpc: \\\"quoted\\\"\"\n") != std::string::npos);
    CHECK(gp.find("set logscale x 10\n") != std::string::npos);
    CHECK(gp.find("\"/tmp/x.dat\" index 0 with linespoints pt 7 lw 2 title \"meshrt\"")
          != std::string::npos);
    CHECK(gp.find("\"/tmp/x.dat\" index 1 with linespoints pt 7 lw 2 title \"caf_remote\"")
          != std::string::npos);
    CHECK(gp.find("set arrow") == std::string::npos);
    c.markers = {{3.5, "kill"}};
    gp = gnuplot_script(c, "/tmp/x.dat", "/tmp/x.png");
    CHECK(gp.find("set arrow from 3.5, graph 0 to 3.5, graph 1 nohead") != std::string::npos);
    CHECK(gp.find("set label \"kill\" at 3.5, graph 0.96") != std::string::npos);
  }

  TEST_CASE("meshrt bench report draws non-empty PNGs and a summary from a stored results file") {
    temp_dir dir;
    auto out = dir.path() + "/report";
    auto r = run_command("timeout 60 " + std::string{MESHRT_CLI} + " bench report " + fixture
                         + " --out " + out);
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    for (const char* png :
         {"rpc-rtt-cdf.png", "transport-rtt-cdf.png", "rpc-throughput.png",
          "transport-goodput-loss.png", "scenario-smoke-rates.png", "scenario-smoke-latency.png"}) {
      auto bytes = read(out + "/" + png);
      CHECK_MESSAGE(bytes.size() > 2000, png);
      CHECK_MESSAGE(bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0, png);
      CHECK(r.out.find(out + "/" + png + "\n") != std::string::npos);
    }
    auto md = read(out + "/summary.md");
    CHECK(md.find("Run 2026-12-02T19:00:00Z on 2 cores, 24 GiB, stored fixture.")
          != std::string::npos);
    CHECK(md.find("## rpc") != std::string::npos);
    CHECK(md.find("| throughput_rps_16 | req/s | - | 52000 | 88000 |") != std::string::npos);
    CHECK(md.find("](rpc-throughput.png)") != std::string::npos);
    CHECK(md.find("## dm\n\nThis run failed: nats-server not found\n") != std::string::npos);
    auto missing = run_command("timeout 10 " + std::string{MESHRT_CLI} + " bench report "
                               + dir.path() + "/none.json --out " + out);
    CHECK(missing.exit_code == 1);
    CHECK(missing.err == "meshrt: bench report: cannot read " + dir.path() + "/none.json\n");
  }

} // TEST_SUITE
