// Log-bucketed latencies: bounds, quantiles within a bucket's width, the
// JSON round trip and the CDF.

#include "benchmarks/latency_histogram.hpp"

#include <cmath>

#include <doctest/doctest.h>

#include "benchmarks/bench_util.hpp"

using namespace meshrt::bench;

TEST_SUITE("benchmarks.latency_histogram") {

  TEST_CASE("a value goes to the smallest bucket whose upper bound holds it") {
    CHECK(latency_histogram::index_of(0.2) == 0);
    CHECK(latency_histogram::index_of(1.0) == 0);
    CHECK(latency_histogram::index_of(1.01) == 1);
    CHECK(latency_histogram::index_of(2.0) == 8); // exact bounds stay in their bucket
    CHECK(latency_histogram::index_of(1024.0) == 80);
    CHECK(latency_histogram::index_of(1024.5) == 81);
    CHECK(latency_histogram::index_of(std::nan("")) == 0);
    for (double us : {1.5, 7.3, 61.0, 813.0, 12345.6, 2.5e6}) {
      auto i = latency_histogram::index_of(us);
      CHECK(latency_histogram::upper_bound(i) >= us);
      CHECK(latency_histogram::upper_bound(i - 1) < us);
    }
  }

  TEST_CASE("quantiles agree with the exact ones to within one bucket (9%)") {
    std::vector<double> samples;
    for (int i = 0; i < 5000; ++i)
      samples.push_back(20.0 + 0.37 * i + (i % 7) * 3.1);
    auto h = latency_histogram::of(samples);
    CHECK(h.count() == 5000);
    for (double p : {0.0, 0.5, 0.9, 0.99, 1.0}) {
      auto exact = percentile(samples, p);
      auto bucketed = h.percentile(p);
      CHECK(bucketed >= exact);
      CHECK(bucketed <= exact * std::exp2(1.0 / latency_histogram::sub_buckets) * 1.0000001);
    }
    CHECK(latency_histogram{}.percentile(0.5) == 0);
  }

  TEST_CASE("buckets written and read back give the same histogram, and the CDF ends at 1") {
    auto h = latency_histogram::of({3, 3, 40, 41, 900, 0.5});
    auto b = h.buckets();
    REQUIRE(b.size() == 4);
    CHECK(b.front() == std::pair<double, uint64_t>{1.0, 1});
    auto back = latency_histogram::from_buckets(b);
    CHECK(back.buckets() == b);
    auto cdf = h.cdf();
    REQUIRE(cdf.size() == 4);
    CHECK(cdf[0].second == doctest::Approx(1.0 / 6));
    CHECK(cdf[1].second == doctest::Approx(3.0 / 6));
    CHECK(cdf.back().second == 1.0);
    // A bound that is no bucket's (written by hand) lands in the bucket
    // holding it.
    CHECK(latency_histogram::from_buckets({{100.0, 2}}).buckets()
          == std::vector<std::pair<double, uint64_t>>{{latency_histogram::upper_bound(54), 2}});
  }

} // TEST_SUITE
