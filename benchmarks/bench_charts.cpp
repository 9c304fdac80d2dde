#include "benchmarks/bench_charts.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "benchmarks/bench_report.hpp"
#include "benchmarks/child_process.hpp"
#include "benchmarks/latency_histogram.hpp"

namespace meshrt::bench {

namespace {

using json = nlohmann::json;

/// The scenario documents of a results file: `bench all`'s "runs", or the
/// one document of a single scenario.
std::vector<json> runs_of(const json& doc) {
  if (!doc.is_object())
    throw std::invalid_argument("not a bench results document: expected a JSON object");
  if (auto runs = doc.find("runs"); runs != doc.end()) {
    if (!runs->is_array())
      throw std::invalid_argument("bench results: \"runs\" must be an array");
    return {runs->begin(), runs->end()};
  }
  if (!doc.contains("scenario"))
    throw std::invalid_argument(
      "not a bench results document: expected \"scenario\" (one run) or \"runs\" (bench all)");
  return {doc};
}

std::string text_of(const json& j, const char* key) {
  auto i = j.find(key);
  return i != j.end() && i->is_string() ? i->get<std::string>() : std::string{};
}

/// Calls `fn` with each figure of a run that has a numeric value.
template<class F>
void for_each_figure(const json& run, F fn) {
  auto rs = run.find("results");
  if (rs == run.end() || !rs->is_array())
    return;
  for (const auto& f : *rs)
    if (auto v = f.find("value"); v != f.end() && v->is_number())
      fn(figure{text_of(f, "system"), text_of(f, "metric"), v->get<double>(), text_of(f, "unit")});
}

/// Adds (x, value) to the series of `system`, keeping first-seen order.
void add_point(std::vector<chart_series>& series, const std::string& system, double x,
               double value) {
  auto i = std::find_if(series.begin(), series.end(),
                        [&](const chart_series& s) { return s.name == system; });
  if (i == series.end())
    i = series.insert(series.end(), chart_series{system, {}});
  i->points.emplace_back(x, value);
}

/// Keeps the series with at least two points, each sorted by x.
std::vector<chart_series> lines_only(std::vector<chart_series> series) {
  std::vector<chart_series> out;
  for (auto& s : series) {
    std::sort(s.points.begin(), s.points.end());
    if (s.points.size() >= 2)
      out.push_back(std::move(s));
  }
  return out;
}

/// The number after `prefix` + '_' in `metric` ("throughput_rps_16" -> 16),
/// or -1.
double suffix_number(const std::string& metric, const std::string& prefix) {
  if (metric.size() <= prefix.size() + 1 || metric.compare(0, prefix.size() + 1, prefix + "_") != 0)
    return -1;
  auto rest = metric.substr(prefix.size() + 1);
  if (rest.find_first_not_of("0123456789") != std::string::npos)
    return -1;
  return std::stod(rest);
}

/// A scenario's rates and latency per second, with its faults marked.
void plan_timeline(const json& run, const std::string& scenario, std::vector<chart>& out) {
  auto tl = run.find("timeline");
  if (tl == run.end() || !tl->is_array() || tl->empty())
    return;
  std::vector<chart_series> rates;
  std::vector<chart_series> latency;
  chart_series failed{"failed (all operations)", {}};
  for (const auto& row : *tl) {
    if (!row.is_object() || !row.contains("t") || !row["t"].is_number())
      continue;
    auto t = row["t"].get<double>() + 0.5; // the middle of its second
    double failures = 0;
    for (const auto& [op, v] : row.items()) {
      if (op == "t" || !v.is_object())
        continue;
      auto ok = v.value("ok", 0.0);
      add_point(rates, op, t, ok);
      if (ok > 0)
        add_point(latency, op, t, v.value("p50_us", 0.0));
      failures += v.value("failed", 0.0);
    }
    failed.points.emplace_back(t, failures);
  }
  rates.push_back(std::move(failed));
  std::vector<std::pair<double, std::string>> markers;
  if (auto fs = run.find("faults"); fs != run.end() && fs->is_array())
    for (const auto& f : *fs)
      if (f.is_object() && f.contains("at_s") && f["at_s"].is_number())
        markers.emplace_back(f["at_s"].get<double>(), text_of(f, "kind"));
  chart r{scenario + "-rates.png",
          scenario,
          scenario + ": operations per second, faults marked",
          "seconds into the run",
          "operations per second",
          false,
          false,
          lines_only(rates),
          false,
          {}};
  r.markers = markers;
  out.push_back(std::move(r));
  chart l{scenario + "-latency.png",
          scenario,
          scenario + ": p50 latency per second, faults marked",
          "seconds into the run",
          "microseconds (log scale)",
          false,
          false,
          lines_only(latency),
          false,
          {}};
  l.log_y = true;
  l.markers = std::move(markers);
  out.push_back(std::move(l));
}

void plan_run(const json& run, std::vector<chart>& out) {
  auto scenario = text_of(run, "scenario");
  if (scenario.empty())
    throw std::invalid_argument("bench results: a run without \"scenario\"");
  // Latency CDFs, one chart per histogram metric.
  std::vector<std::string> metrics;
  std::map<std::string, std::vector<chart_series>> cdfs;
  if (auto hs = run.find("histograms"); hs != run.end() && hs->is_array())
    for (const auto& h : *hs) {
      auto metric = text_of(h, "metric");
      auto system = text_of(h, "system");
      std::vector<std::pair<double, uint64_t>> buckets;
      if (auto b = h.find("buckets"); b != h.end() && b->is_array())
        for (const auto& pair : *b)
          if (pair.is_array() && pair.size() == 2 && pair[0].is_number() && pair[1].is_number())
            buckets.emplace_back(pair[0].get<double>(), pair[1].get<uint64_t>());
      auto hist = latency_histogram::from_buckets(buckets);
      if (metric.empty() || system.empty() || hist.count() == 0)
        continue;
      if (!cdfs.count(metric))
        metrics.push_back(metric);
      cdfs[metric].push_back({system, hist.cdf()});
    }
  for (const auto& metric : metrics) {
    auto name = metric.substr(0, metric.rfind("_us"));
    out.push_back(chart{scenario + "-" + name + "-cdf.png",
                        scenario,
                        scenario + ": " + name + " latency, cumulative",
                        "microseconds (log scale)",
                        "fraction of samples at or below",
                        true,
                        true,
                        cdfs[metric],
                        false,
                        {}});
  }
  // Throughput against outstanding requests, loss against goodput.
  std::vector<chart_series> throughput;
  std::vector<chart_series> goodput;
  for_each_figure(run, [&](const figure& f) {
    const auto& [system, metric, value, unit] = f;
    if (auto n = suffix_number(metric, "throughput_rps"); n > 0)
      add_point(throughput, system, n, value);
    else if (metric == "throughput_rps" && scenario == "rpc") // rpc_bench: 256 outstanding
      add_point(throughput, system, 256, value);
    if (metric == "bulk_goodput_mbps")
      add_point(goodput, system, 0, value);
    else if (metric == "lossy_goodput_mbps") // transport_bench: 10% dropped
      add_point(goodput, system, 10, value);
    else if (auto n = suffix_number(metric, "lossy_goodput_mbps"); n > 0)
      add_point(goodput, system, n, value);
  });
  plan_timeline(run, scenario, out);
  if (auto lines = lines_only(std::move(throughput)); !lines.empty())
    out.push_back(chart{scenario + "-throughput.png",
                        scenario,
                        scenario + ": throughput against requests outstanding",
                        "requests outstanding (log scale)",
                        "requests per second",
                        true,
                        false,
                        std::move(lines),
                        false,
                        {}});
  if (auto lines = lines_only(std::move(goodput)); !lines.empty())
    out.push_back(chart{scenario + "-goodput-loss.png",
                        scenario,
                        scenario + ": goodput of 10 MB messages against packet loss",
                        "packets dropped (%)",
                        "MB/s",
                        false,
                        false,
                        std::move(lines),
                        false,
                        {}});
}

/// A gnuplot double-quoted string.
std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (auto c : text) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  return out + '"';
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

std::string base_name(const std::string& path) {
  return path.substr(path.rfind('/') + 1);
}

/// The figures of one run as a Markdown table: a row per metric, a column
/// per system.
std::string figures_table(const json& run) {
  std::vector<std::string> systems;
  std::vector<std::pair<std::string, std::string>> metrics;
  std::map<std::pair<std::string, std::string>, double> values;
  for_each_figure(run, [&](const figure& f) {
    if (std::find(systems.begin(), systems.end(), f.system) == systems.end())
      systems.push_back(f.system);
    if (std::none_of(metrics.begin(), metrics.end(),
                     [&](const auto& m) { return m.first == f.metric; }))
      metrics.emplace_back(f.metric, f.unit);
    values[{f.system, f.metric}] = f.value;
  });
  if (metrics.empty())
    return "(no figures)\n";
  std::string out = "| metric | unit |";
  for (const auto& s : systems)
    out += " " + s + " |";
  out += "\n|---|---|";
  for (size_t i = 0; i < systems.size(); ++i)
    out += "---:|";
  out += '\n';
  for (const auto& [metric, unit] : metrics) {
    out += "| " + metric + " | " + unit + " |";
    for (const auto& s : systems) {
      auto i = values.find({s, metric});
      out += " " + (i == values.end() ? std::string{"-"} : number(i->second)) + " |";
    }
    out += '\n';
  }
  return out;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out{path};
  out << text;
  if (!out)
    throw std::runtime_error("bench report: cannot write " + path);
}

} // namespace

std::vector<chart> plan_charts(const std::string& results_json) {
  auto doc = json::parse(results_json, nullptr, false);
  if (doc.is_discarded())
    throw std::invalid_argument("not a bench results document: not valid JSON");
  std::vector<chart> out;
  for (const auto& run : runs_of(doc))
    plan_run(run, out);
  return out;
}

std::string gnuplot_script(const chart& c, const std::string& data_path,
                           const std::string& png_path) {
  std::string out;
  // noenhanced: "raw_udp" is a name, not r a w with a subscript.
  out += "set terminal pngcairo noenhanced size 960,540 font \",11\"\n";
  out += "set output " + quoted(png_path) + "\n";
  out += "set title " + quoted(c.title) + "\n";
  out += "set xlabel " + quoted(c.x_label) + "\n";
  out += "set ylabel " + quoted(c.y_label) + "\n";
  out += "set grid\nset key outside right top\n";
  if (c.log_x)
    out += "set logscale x 10\n";
  if (c.log_y)
    out += "set logscale y 10\n";
  else if (c.steps)
    out += "set yrange [0:1.02]\n";
  else
    out += "set yrange [0:*]\n";
  for (const auto& [x, label] : c.markers)
    out += "set arrow from " + number(x) + ", graph 0 to " + number(x)
           + ", graph 1 nohead dashtype 2 linecolor rgb \"#c00000\"\n" + "set label "
           + quoted(label) + " at " + number(x) + ", graph 0.96 offset 0.4,0 textcolor rgb "
           + "\"#c00000\"\n";
  out += "plot ";
  for (size_t i = 0; i < c.series.size(); ++i) {
    if (i > 0)
      out += ", \\\n     ";
    out += quoted(data_path) + " index " + std::to_string(i)
           + (c.steps ? " with steps" : " with linespoints pt 7") + " lw 2 title "
           + quoted(c.series[i].name);
  }
  return out + "\n";
}

std::vector<std::string> write_bench_report(const std::string& results_path,
                                            const std::string& out_dir) {
  std::ifstream in{results_path};
  if (!in)
    throw std::runtime_error("bench report: cannot read " + results_path);
  std::stringstream text;
  text << in.rdbuf();
  auto charts = plan_charts(text.str());
  auto doc = json::parse(text.str());
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec)
    throw std::runtime_error("bench report: cannot create " + out_dir + ": " + ec.message());
  std::vector<std::string> written;
  for (const auto& c : charts) {
    auto stem = out_dir + "/" + c.file.substr(0, c.file.rfind('.'));
    std::string data;
    for (const auto& s : c.series) {
      data += "# " + s.name + "\n";
      if (c.steps && !s.points.empty()) // the CDF starts at 0, one bucket left of its first
        data += number(s.points.front().first / std::exp2(1.0 / latency_histogram::sub_buckets))
                + " 0\n";
      for (const auto& [x, y] : s.points)
        data += number(x) + ' ' + number(y) + '\n';
      data += "\n\n";
    }
    write_file(stem + ".dat", data);
    write_file(stem + ".gp", gnuplot_script(c, stem + ".dat", out_dir + "/" + c.file));
    std::unique_ptr<child_process> gnuplot;
    try {
      gnuplot = std::make_unique<child_process>(std::vector<std::string>{"gnuplot", stem + ".gp"},
                                                stem + ".log");
    } catch (const std::runtime_error&) {
      throw std::runtime_error(
        "bench report: gnuplot not found (Debian's gnuplot-nox; scripts/install-deps.sh)");
    }
    auto rc = gnuplot->wait(std::chrono::seconds{60});
    if (rc != 0)
      throw std::runtime_error("bench report: gnuplot failed on " + stem
                               + ".gp: " + gnuplot->log());
    // Drawn: its data, script and gnuplot's log go (kept on failure).
    for (const char* ext : {".dat", ".gp", ".log"})
      std::remove((stem + ext).c_str());
    written.push_back(out_dir + "/" + c.file);
  }
  std::string md = "# meshrt bench report\n\n";
  if (auto date = text_of(doc, "date"); !date.empty())
    md += "Run " + date + " on " + text_of(doc, "machine") + ".\n\n";
  for (const auto& run : runs_of(doc)) {
    auto scenario = text_of(run, "scenario");
    md += "## " + scenario + "\n\n";
    if (doc.contains("runs") && !text_of(run, "date").empty())
      md += "Run " + text_of(run, "date") + ".\n\n";
    if (auto error = text_of(run, "error"); !error.empty()) {
      md += "This run failed: " + error + "\n\n";
      continue;
    }
    md += figures_table(run) + "\n";
    for (const auto& c : charts)
      if (c.scenario == scenario)
        md += "![" + c.title + "](" + base_name(c.file) + ")\n\n";
  }
  write_file(out_dir + "/summary.md", md);
  written.push_back(out_dir + "/summary.md");
  return written;
}

} // namespace meshrt::bench
