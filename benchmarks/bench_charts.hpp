#pragma once

// `meshrt bench report RESULTS.json --out DIR`: charts of a bench run, drawn
// with gnuplot, and a Markdown summary that embeds them. Which charts a run
// gets is decided without I/O (plan_charts), from the figures and histograms
// in its JSON (one scenario's, or `bench all`'s "runs"):
//   - latency CDFs: every histogram metric, one line per system;
//   - throughput against outstanding requests (rpc: throughput_rps_N);
//   - goodput against packet loss (transport: lossy_goodput_mbps_N);
//   - a load scenario's operations per second and p50 latency over time,
//     its faults marked (bench scenario's "timeline" and "faults").

#include <string>
#include <utility>
#include <vector>

namespace meshrt::bench {

/// One line of a chart.
struct chart_series {
  std::string name;
  std::vector<std::pair<double, double>> points;
};

/// One PNG: what it shows and how.
struct chart {
  std::string file; // "rpc-rtt_us-cdf.png"
  std::string scenario;
  std::string title;
  std::string x_label;
  std::string y_label;
  bool log_x = false;
  bool steps = false; // a CDF: drawn as steps
  std::vector<chart_series> series;
  bool log_y = false;
  /// Vertical lines at x, labelled (a scenario's faults).
  std::vector<std::pair<double, std::string>> markers;
};

/// The charts a results document calls for. Throws std::invalid_argument
/// naming what is wrong when the text is not a bench results document.
std::vector<chart> plan_charts(const std::string& results_json);

/// The gnuplot script that draws `c` into `png_path` from `data_path`
/// (one block per series, as write_bench_report writes it).
std::string gnuplot_script(const chart& c, const std::string& data_path,
                           const std::string& png_path);

/// Reads `results_path`, draws every planned chart into `out_dir` (created
/// if missing) with gnuplot, and writes `out_dir`/summary.md: date,
/// machine, each scenario's figures as a table and its charts. Returns the
/// files written. Throws std::runtime_error with one clear line when the
/// file cannot be read, gnuplot is missing or fails.
std::vector<std::string> write_bench_report(const std::string& results_path,
                                            const std::string& out_dir);

} // namespace meshrt::bench
