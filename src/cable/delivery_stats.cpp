#include "cable/delivery_stats.hpp"

#include <algorithm>
#include <functional>

#include "cable/broadcast.hpp"

namespace peercable::cable {
namespace {

// One writer: a relaxed load and store, no read-modify-write instruction.
inline void bump(std::atomic<std::uint64_t>& a, std::uint64_t n) noexcept {
  a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

}  // namespace

void LatencyHistogram::observe(std::chrono::nanoseconds d) noexcept {
  const auto ns = static_cast<std::uint64_t>(std::max<std::int64_t>(0, d.count()));
  std::size_t i = 0;  // the first bucket whose bound is >= the value (Prometheus' le)
  while (i < kLatencyBucketsUs.size() && ns > kLatencyBucketsUs[i] * 1000) ++i;
  bump(buckets_[i], 1);
  bump(count_, 1);
  bump(sum_ns_, ns);
}

std::array<std::uint64_t, kLatencyBucketsUs.size() + 1> LatencyHistogram::counts() const noexcept {
  std::array<std::uint64_t, kLatencyBucketsUs.size() + 1> out{};
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = buckets_[i].load(std::memory_order_relaxed);
  return out;
}

void DeliveryStats::on_deliver(const Broadcast& b, std::size_t subscribers) {
  bump(broadcasts_, 1);
  bump(deliveries_, subscribers);
  tally(b.stream(), subscribers);
  if (pending_.size() >= kMaxPending) return;
  pending_.push_back(b.entered());
  // Last on the flush list: the connections this broadcast was queued on are flushed before we look at the
  // clock. Cancelling leaves an empty slot behind; both are O(1).
  loop_.cancel_flush(this);
  loop_.schedule_flush(this);
}

void DeliveryStats::flush() {
  if (pending_.empty()) return;
  const auto now = std::chrono::steady_clock::now();
  for (auto entered : pending_) latency_.observe(now - entered);
  pending_.clear();  // keeps the capacity
}

// Space-Saving: a known stream adds to its count; a new one takes a free slot, or replaces the least counted
// and inherits its count (an overestimate bounded by that count), so heavy streams are never missed.
void DeliveryStats::tally(const std::string& stream, std::uint64_t n) {
  const std::size_t h = std::hash<std::string>{}(stream);
  for (std::size_t i = 0; i < used_; ++i) {
    Slot& s = slots_[i];
    if (s.hash == h && s.stream == stream) {
      s.deliveries += n;
      return;
    }
  }
  if (used_ < slots_.size()) {
    Slot& s = slots_[used_++];
    s.hash = h;
    s.stream.assign(stream);
    s.deliveries = n;
    return;
  }
  Slot* least = &slots_[0];
  for (auto& s : slots_)
    if (s.deliveries < least->deliveries) least = &s;
  least->hash = h;
  least->stream.assign(stream);
  least->deliveries += n;
}

void DeliveryStats::roll() {
  std::vector<StreamCount> window;
  window.reserve(used_);
  for (std::size_t i = 0; i < used_; ++i) window.push_back({slots_[i].stream, slots_[i].deliveries});
  std::sort(window.begin(), window.end(),
            [](const StreamCount& a, const StreamCount& b) { return a.deliveries > b.deliveries; });
  used_ = 0;
  std::lock_guard lock(window_mutex_);
  window_.swap(window);
}

std::vector<StreamCount> DeliveryStats::top_streams() const {
  std::lock_guard lock(window_mutex_);
  return window_;
}

}  // namespace peercable::cable
