#pragma once
// The bodies of /health (JSON for load balancers) and /metrics (Prometheus text), made from a snapshot of
// the server's figures. Pure.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "net/limit.hpp"
#include "net/loop.hpp"

namespace peercable::app {

/// The figures both pages show, summed over the loops.
struct StatusFigures {
  bool draining = false;
  std::int64_t uptime_s = 0;
  std::size_t loops = 0;
  std::string broker_state;
  std::int64_t connections = 0;
  std::int64_t websockets = 0;
  std::uint64_t accepted = 0;
  std::uint64_t slow_consumer_closes = 0;
  std::uint64_t protocol_errors = 0;
  std::uint64_t frames_out = 0;
  std::uint64_t ping_timeouts = 0;
  std::uint64_t unauthorized = 0;
  std::array<std::uint64_t, static_cast<std::size_t>(net::Limit::kCount)> refusals{};
  std::uint64_t store_dropped = 0;
  std::size_t store_queue = 0;
  std::size_t rooms = 0;
  std::uint64_t rooms_refused = 0;

  /// Adds one loop's counters.
  void add(const net::LoopCounters& c);
};

/// The /health body: status ("ok" or "draining"), version, uptime, connections, loops, broker state.
std::string health_json(const StatusFigures& f);

/// The /metrics body; `sections` (the sign-in hook's and the delivery figures, each already Prometheus text)
/// stand between the connection counters and the store's.
std::string metrics_text(const StatusFigures& f, const std::vector<std::string>& sections);

}  // namespace peercable::app
