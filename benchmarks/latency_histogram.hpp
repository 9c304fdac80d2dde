#pragma once

// Latencies counted in logarithmic buckets, as HdrHistogram does: eight
// buckets per doubling from 1 us up, so a value is known to within 9% and a
// million samples cost a few hundred counters. What the JSON of a bench run
// carries, and what `meshrt bench report` draws CDFs from.

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace meshrt::bench {

/// Counts of latencies (microseconds) in log buckets.
class latency_histogram {
public:
  /// Buckets per doubling.
  static constexpr int sub_buckets = 8;

  latency_histogram() = default;

  /// The histogram of `samples_us`.
  static latency_histogram of(const std::vector<double>& samples_us);

  /// The histogram of sparse buckets as json() wrote them (upper bound,
  /// count); a bound that is no bucket's goes to the bucket holding it.
  static latency_histogram from_buckets(const std::vector<std::pair<double, uint64_t>>& buckets);

  /// Counts one latency; values up to 1 us go to the first bucket.
  void record(double us);

  uint64_t count() const noexcept {
    return count_;
  }

  /// The upper bound of the bucket holding the p-quantile (0..1); 0 when
  /// empty.
  double percentile(double p) const;

  /// The non-empty buckets as (upper bound in us, count), ascending.
  std::vector<std::pair<double, uint64_t>> buckets() const;

  /// The cumulative distribution: (upper bound in us, fraction of samples
  /// at or below it) at each non-empty bucket, the last at 1.
  std::vector<std::pair<double, double>> cdf() const;

  /// The upper bound of bucket `index`: 2^(index / sub_buckets) us.
  static double upper_bound(size_t index);

  /// The bucket that holds `us`.
  static size_t index_of(double us);

private:
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
};

} // namespace meshrt::bench
