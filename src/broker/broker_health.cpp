#include "broker/broker_health.hpp"

#include <spdlog/spdlog.h>

#include <utility>

namespace peercable::broker {

BrokerHealth::BrokerHealth(std::string url, std::string unreachable)
    : url_(std::move(url)), last_why_(std::move(unreachable)), outage_start_(std::chrono::steady_clock::now()) {
  if (!last_why_.empty()) health_.store(Health::kDisconnected);
}

std::string BrokerHealth::state() const {
  switch (health_.load(std::memory_order_relaxed)) {
    case Health::kConnected: return "connected";
    case Health::kDisconnected: return "disconnected";
    case Health::kConnecting: break;
  }
  return "connecting";
}

void BrokerHealth::update(bool now, const std::string& why, std::size_t streams) {
  if (now && !online_) {
    online_ = true;
    if (ever_online_) {
      auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - outage_start_).count();
      spdlog::info(
          "redis {}: back after {:.1f} s, {} streams subscribed again; {} broadcasts during the outage "
          "reached this node's clients only",
          url_, secs, streams, local_only_);
    } else if (!last_why_.empty()) {
      spdlog::info("redis {}: connected", url_);
    }
    ever_online_ = true;
    last_why_.clear();
    local_only_ = 0;
    health_.store(Health::kConnected, std::memory_order_relaxed);
    return;
  }
  if (!now && online_) {
    online_ = false;
    outage_start_ = std::chrono::steady_clock::now();
  }
  if (!now && !why.empty()) health_.store(Health::kDisconnected, std::memory_order_relaxed);
  // One line per outage; later failed attempts are debug lines, except a newly refused password (the
  // server came back with other credentials), which needs an operator.
  if (!now && !why.empty()) {
    bool refused = why.find("NOAUTH") != std::string::npos || why.find("WRONGPASS") != std::string::npos ||
                   why.find("NOPERM") != std::string::npos || why.find("AUTH") != std::string::npos;
    if (last_why_.empty() || (refused && why != last_why_)) {
      spdlog::warn("redis {}: unavailable ({}); broadcasts reach this node's clients only; retrying", url_, why);
      last_why_ = why;
    } else {
      spdlog::debug("redis {}: attempt failed ({})", url_, why);
    }
  }
}

}  // namespace peercable::broker
