#pragma once
// The Redis broker's health: what /health shows, and what the operator reads in the log (one warning per outage,
// one line when Redis is back with what the outage cost). No I/O but the log.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace peercable::broker {

/// Updated on the broker's thread; state() is read from any thread.
class BrokerHealth {
 public:
  /// `url` names the server in the log (redacted); `unreachable` is why the start-up check could not reach it
  /// (empty if it could): already logged.
  BrokerHealth(std::string url, std::string unreachable);

  /// Takes the broker's condition after any change: `online` when both connections are ready and every stream
  /// is subscribed; `why` is the failure that just happened (empty: none); `streams` the streams subscribed.
  void update(bool online, const std::string& why, std::size_t streams);
  /// True while broadcasts go through Redis.
  bool online() const noexcept { return online_; }
  /// A broadcast reached this node's clients only (Redis was away); counted for the line that ends the outage.
  void count_local_only() noexcept { ++local_only_; }
  /// "connected", "connecting" or "disconnected".
  std::string state() const;

 private:
  enum class Health { kConnecting, kConnected, kDisconnected };

  std::string url_;
  bool online_ = false;
  bool ever_online_ = false;
  std::string last_why_;  // the failure logged in the current outage
  std::chrono::steady_clock::time_point outage_start_;
  std::uint64_t local_only_ = 0;  // broadcasts that reached only this node during the outage
  std::atomic<Health> health_{Health::kConnecting};
};

}  // namespace peercable::broker
