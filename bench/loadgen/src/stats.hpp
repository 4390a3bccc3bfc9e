// Latency samples and their percentiles.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace loadgen {

struct LatencySummary {
  std::size_t count = 0;
  double p50_ms = 0, p95_ms = 0, p99_ms = 0, max_ms = 0, mean_ms = 0;
};

/// Collects latencies in microseconds; summarize() sorts a copy and reads nearest-rank percentiles.
class LatencyRecorder {
 public:
  void reserve(std::size_t n) { samples_us_.reserve(n); }
  void add(std::int64_t us) {
    samples_us_.push_back(us < 0 ? 0u : static_cast<std::uint32_t>(us > 0xFFFFFFFFLL ? 0xFFFFFFFFLL : us));
  }
  std::size_t size() const { return samples_us_.size(); }
  /// Forgets the `n` most recent samples (e.g. those of a warm-up round).
  void drop_last(std::size_t n) { samples_us_.resize(samples_us_.size() - std::min(n, samples_us_.size())); }
  LatencySummary summarize() const;

 private:
  std::vector<std::uint32_t> samples_us_;
};

/// The median of `values` (0 when empty).
double median(std::vector<double> values);

}  // namespace loadgen
