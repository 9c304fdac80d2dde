#include "benchmarks/bench_report.hpp"

#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

namespace meshrt::bench {

bench_report::bench_report(std::string scenario) : scenario_(std::move(scenario)) {
  // nop
}

void bench_report::add(std::string system, std::string metric, double value, std::string unit) {
  figures_.push_back({std::move(system), std::move(metric), value, std::move(unit)});
}

void bench_report::add_histogram(std::string system, std::string metric, latency_histogram h) {
  histograms_.push_back({std::move(system), std::move(metric), std::move(h)});
}

double bench_report::get(const std::string& system, const std::string& metric) const {
  for (const auto& f : figures_)
    if (f.system == system && f.metric == metric)
      return f.value;
  return 0;
}

std::string bench_report::table() const {
  std::vector<std::string> systems;
  std::vector<std::pair<std::string, std::string>> metrics;
  for (const auto& f : figures_) {
    if (std::find(systems.begin(), systems.end(), f.system) == systems.end())
      systems.push_back(f.system);
    if (std::find_if(metrics.begin(), metrics.end(), [&](auto& m) { return m.first == f.metric; })
        == metrics.end())
      metrics.emplace_back(f.metric, f.unit);
  }
  std::string out;
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%-22s %-7s", "metric", "unit");
  out += buf;
  for (const auto& s : systems) {
    std::snprintf(buf, sizeof(buf), " %12s", s.c_str());
    out += buf;
  }
  out += '\n';
  for (const auto& [metric, unit] : metrics) {
    std::snprintf(buf, sizeof(buf), "%-22s %-7s", metric.c_str(), unit.c_str());
    out += buf;
    for (const auto& s : systems) {
      bool found = false;
      for (const auto& f : figures_)
        if (f.system == s && f.metric == metric) {
          std::snprintf(buf, sizeof(buf), " %12.1f", f.value);
          found = true;
        }
      if (!found)
        std::snprintf(buf, sizeof(buf), " %12s", "-");
      out += buf;
    }
    out += '\n';
  }
  return out;
}

std::string bench_report::json() const {
  nlohmann::json doc;
  doc["scenario"] = scenario_;
  char date[32];
  auto now = std::time(nullptr);
  std::strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  doc["date"] = date;
  doc["machine"] = machine_description();
  doc["results"] = nlohmann::json::array();
  for (const auto& f : figures_)
    doc["results"].push_back(
      {{"system", f.system}, {"metric", f.metric}, {"value", f.value}, {"unit", f.unit}});
  doc["histograms"] = nlohmann::json::array();
  for (const auto& h : histograms_)
    doc["histograms"].push_back({{"system", h.system},
                                 {"metric", h.metric},
                                 {"unit", "us"},
                                 {"buckets", h.histogram.buckets()}});
  return doc.dump(2);
}

std::string machine_description() {
  std::string model = "unknown CPU";
  std::ifstream cpuinfo{"/proc/cpuinfo"};
  for (std::string line; std::getline(cpuinfo, line);)
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  auto pages = sysconf(_SC_PHYS_PAGES);
  auto page_size = sysconf(_SC_PAGE_SIZE);
  auto gib = static_cast<double>(pages) * static_cast<double>(page_size) / (1024.0 * 1024 * 1024);
  char buf[256];
  std::snprintf(buf, sizeof(buf), "%u cores, %.0f GiB, %s", std::thread::hardware_concurrency(),
                gib, model.c_str());
  return buf;
}

} // namespace meshrt::bench
