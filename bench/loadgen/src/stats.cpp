#include "stats.hpp"

#include <algorithm>
#include <cmath>

namespace loadgen {

LatencySummary LatencyRecorder::summarize() const {
  LatencySummary s;
  s.count = samples_us_.size();
  if (s.count == 0) return s;
  std::vector<std::uint32_t> sorted = samples_us_;
  std::sort(sorted.begin(), sorted.end());
  auto at = [&](double q) {
    auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(s.count)));
    rank = std::clamp<std::size_t>(rank, 1, s.count);
    return sorted[rank - 1] / 1000.0;
  };
  double sum = 0;
  for (auto v : sorted) sum += v;
  s.p50_ms = at(0.50);
  s.p95_ms = at(0.95);
  s.p99_ms = at(0.99);
  s.max_ms = sorted.back() / 1000.0;
  s.mean_ms = sum / static_cast<double>(s.count) / 1000.0;
  return s;
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

}  // namespace loadgen
