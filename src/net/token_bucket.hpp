#pragma once
// A token bucket: the one rate limiter of the server (new connections and guest sign-ins per address).
// Capacity and rate are passed on each call, so a table of buckets keeps two numbers per entry. Pure.
#include <algorithm>
#include <chrono>

namespace peercable::net {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  /// Adds the tokens earned at `per_second` since the last call, up to `capacity`; the first call fills it.
  void refill(Clock::time_point now, double capacity, double per_second) noexcept {
    if (refilled_ == Clock::time_point{}) {
      tokens_ = capacity;
    } else {
      tokens_ = std::min(capacity, tokens_ + std::chrono::duration<double>(now - refilled_).count() * per_second);
    }
    refilled_ = now;
  }

  /// Refills, then takes one token; false (nothing taken) when less than one is left.
  bool take(Clock::time_point now, double capacity, double per_second) noexcept {
    refill(now, capacity, per_second);
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
  }

  double tokens() const noexcept { return tokens_; }

 private:
  double tokens_ = 0;
  Clock::time_point refilled_{};
};

}  // namespace peercable::net
