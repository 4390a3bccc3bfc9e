#pragma once
// What one loop's hub delivers, for /admin and /metrics: deliveries, broadcast-to-socket latency and the
// busiest streams. Written by the loop's thread only, read from any thread; nothing here takes a lock or
// allocates on the delivery path once warm.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "net/loop.hpp"

namespace peercable::cable {

class Broadcast;

/// Latency buckets in microseconds (upper bounds, inclusive); a last bucket above them is +Inf.
inline constexpr std::array<std::uint64_t, 15> kLatencyBucketsUs = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000};

/// A histogram with one writer thread: increments are plain load+store (no locked instruction), readers on
/// other threads see each counter whole.
class LatencyHistogram {
 public:
  void observe(std::chrono::nanoseconds d) noexcept;
  /// Counts per bucket (not cumulative); the last is +Inf.
  std::array<std::uint64_t, kLatencyBucketsUs.size() + 1> counts() const noexcept;
  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
  std::uint64_t sum_ns() const noexcept { return sum_ns_.load(std::memory_order_relaxed); }

 private:
  std::array<std::atomic<std::uint64_t>, kLatencyBucketsUs.size() + 1> buckets_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_ns_{0};
};

/// One stream's deliveries in a window.
struct StreamCount {
  std::string stream;
  std::uint64_t deliveries = 0;
};

/// Per-loop delivery figures. The hub calls on_deliver once per broadcast (not per subscriber); the loop's
/// flush pass then calls flush(), after the connections the broadcast was queued on have written, and the
/// time since the broadcast entered the node is observed once per broadcast per loop.
class DeliveryStats final : public net::Flushable {
 public:
  /// Streams tracked per window: the busiest streams are found in bounded memory (the Space-Saving
  /// algorithm: a stream seen while the table is full takes the place of the least counted one).
  static constexpr std::size_t kTrackedStreams = 32;
  /// At most this many broadcasts wait per flush pass for their latency; beyond, they are not measured.
  static constexpr std::size_t kMaxPending = 4096;

  explicit DeliveryStats(net::Loop& loop) : loop_(loop) {}

  /// `b` was queued on `subscribers` subscriptions of this loop. Loop thread only.
  void on_deliver(const Broadcast& b, std::size_t subscribers);
  /// A subscription joined (+1) or left (-1) a stream; `streams` is the hub's stream count now.
  void on_subscribers(std::int64_t delta, std::size_t streams) noexcept {
    stream_subscriptions_.store(stream_subscriptions_.load(std::memory_order_relaxed) + delta,
                                std::memory_order_relaxed);
    streams_.store(static_cast<std::int64_t>(streams), std::memory_order_relaxed);
  }
  void flush() override;
  /// Ends the current window: its busiest streams become what top_streams() returns. Loop thread only.
  void roll();

  std::uint64_t broadcasts() const noexcept { return broadcasts_.load(std::memory_order_relaxed); }
  std::uint64_t deliveries() const noexcept { return deliveries_.load(std::memory_order_relaxed); }
  std::int64_t streams() const noexcept { return streams_.load(std::memory_order_relaxed); }
  std::int64_t stream_subscriptions() const noexcept { return stream_subscriptions_.load(std::memory_order_relaxed); }
  const LatencyHistogram& latency() const noexcept { return latency_; }
  /// The streams of the last finished window with their deliveries on this loop, busiest first. Any thread.
  std::vector<StreamCount> top_streams() const;

 private:
  struct Slot {
    std::size_t hash = 0;
    std::string stream;
    std::uint64_t deliveries = 0;
  };
  void tally(const std::string& stream, std::uint64_t n);

  net::Loop& loop_;
  std::atomic<std::uint64_t> broadcasts_{0};
  std::atomic<std::uint64_t> deliveries_{0};
  std::atomic<std::int64_t> streams_{0};
  std::atomic<std::int64_t> stream_subscriptions_{0};
  LatencyHistogram latency_;
  std::vector<std::chrono::steady_clock::time_point> pending_;  // broadcasts delivered this turn
  std::array<Slot, kTrackedStreams> slots_;
  std::size_t used_ = 0;
  mutable std::mutex window_mutex_;
  std::vector<StreamCount> window_;  // the last finished window, busiest first
};

}  // namespace peercable::cable
