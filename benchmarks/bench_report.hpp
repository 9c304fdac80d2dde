#pragma once

#include <string>
#include <vector>

#include "benchmarks/latency_histogram.hpp"

namespace meshrt::bench {

/// One measured figure of one system.
struct figure {
  std::string system; // "meshrt", "raw_udp", "enet", ...
  std::string metric; // "rtt_p50_us", ...
  double value = 0;
  std::string unit; // "us", "MB/s", "msg/s"
};

/// One system's latencies of one kind, bucketed.
struct histogram_figure {
  std::string system;
  std::string metric; // "rtt_us", "c2c_us", ...
  latency_histogram histogram;
};

/// The figures of one scenario run, printable as a table and as the JSON
/// shape of ARCHITECTURE.md, with the latency histograms beside them.
class bench_report {
public:
  explicit bench_report(std::string scenario);

  void add(std::string system, std::string metric, double value, std::string unit);

  /// Adds the distribution behind latency figures (`metric` ends in _us).
  void add_histogram(std::string system, std::string metric, latency_histogram h);

  /// Value of a figure, or 0 if absent.
  double get(const std::string& system, const std::string& metric) const;

  /// A table: one row per metric, one column per system.
  std::string table() const;

  /// {"scenario", "date", "machine", "results": [...], "histograms":
  /// [{"system", "metric", "unit", "buckets": [[upper_us, count], ...]}]}.
  std::string json() const;

private:
  std::string scenario_;
  std::vector<figure> figures_;
  std::vector<histogram_figure> histograms_;
};

/// "2 cores, 24 GiB, <cpu model>".
std::string machine_description();

} // namespace meshrt::bench
