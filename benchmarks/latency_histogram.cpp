#include "benchmarks/latency_histogram.hpp"

#include <cmath>

namespace meshrt::bench {

latency_histogram latency_histogram::of(const std::vector<double>& samples_us) {
  latency_histogram h;
  for (auto us : samples_us)
    h.record(us);
  return h;
}

latency_histogram
latency_histogram::from_buckets(const std::vector<std::pair<double, uint64_t>>& buckets) {
  latency_histogram h;
  for (const auto& [upper, n] : buckets) {
    auto i = index_of(upper);
    if (h.counts_.size() <= i)
      h.counts_.resize(i + 1);
    h.counts_[i] += n;
    h.count_ += n;
  }
  return h;
}

double latency_histogram::upper_bound(size_t index) {
  return std::exp2(static_cast<double>(index) / sub_buckets);
}

size_t latency_histogram::index_of(double us) {
  if (!(us > 1.0)) // NaN and anything up to 1 us
    return 0;
  // The smallest i with 2^(i/8) >= us; the check mends exp2/log2 rounding
  // at exact bounds.
  auto i = static_cast<size_t>(std::ceil(std::log2(us) * sub_buckets));
  if (i > 0 && upper_bound(i - 1) >= us)
    --i;
  return i;
}

void latency_histogram::record(double us) {
  auto i = index_of(us);
  if (counts_.size() <= i)
    counts_.resize(i + 1);
  ++counts_[i];
  ++count_;
}

double latency_histogram::percentile(double p) const {
  if (count_ == 0)
    return 0;
  // The same rank as bench_util's percentile over the sorted samples.
  auto rank = static_cast<uint64_t>(p * static_cast<double>(count_ - 1)) + 1;
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank)
      return upper_bound(i);
  }
  return upper_bound(counts_.size() - 1);
}

std::vector<std::pair<double, uint64_t>> latency_histogram::buckets() const {
  std::vector<std::pair<double, uint64_t>> out;
  for (size_t i = 0; i < counts_.size(); ++i)
    if (counts_[i] > 0)
      out.emplace_back(upper_bound(i), counts_[i]);
  return out;
}

std::vector<std::pair<double, double>> latency_histogram::cdf() const {
  std::vector<std::pair<double, double>> out;
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i)
    if (counts_[i] > 0) {
      seen += counts_[i];
      out.emplace_back(upper_bound(i), static_cast<double>(seen) / static_cast<double>(count_));
    }
  return out;
}

} // namespace meshrt::bench
