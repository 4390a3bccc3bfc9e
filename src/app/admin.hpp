#pragma once
// The operators' live view: /admin (a page) and /admin/api/stats (its figures, JSON) behind an admin key, and
// the delivery figures /metrics adds (broadcast-to-socket latency histogram, deliveries, bytes).
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/admin_nodes.hpp"
#include "http/connection.hpp"
#include "http/static_files.hpp"

namespace peercable::net {
class Loop;
}
namespace peercable::cable {
class CableServer;
}
namespace peercable::store {
class StoreWorker;
}

namespace peercable::app {

/// What the live view reads; every source is safe to read from any thread.
struct AdminSources {
  std::vector<net::Loop*> loops;
  cable::CableServer* cable = nullptr;
  const store::StoreWorker* store = nullptr;
  const http::StaticFiles* files = nullptr;
  std::string node_id;  // empty: <hostname>:<port>
  unsigned short port = 0;
  std::string history_kind;  // memory, sqlite or redis
  std::string broker_kind;   // local or redis
  std::function<bool()> draining;
};

class Admin {
 public:
  /// Streams listed per node.
  static constexpr std::size_t kBusiestStreams = NodeLimits::kStreams;
  /// The broker stream on which nodes share their figures once a second. Reserved: no client receives it
  /// or publishes on it (CableServer::set_internal_stream).
  static constexpr std::string_view kNodesStream = "peercable:admin:nodes";

  /// `key` empty: the live view is off and every /admin path answers 404. Reserves kNodesStream on the
  /// cable server (before it starts).
  Admin(AdminSources sources, std::string_view key);

  /// Starts the once-a-second sampling on the loops (before they run); with a shared broker, also the
  /// exchange of figures with the other nodes.
  void attach();
  /// True for /admin and paths under it.
  static bool owns(std::string_view path) { return path == "/admin" || path.starts_with("/admin/"); }
  /// Answers a request for a path owns() accepted.
  http::Response handle(std::string_view path, const http::Request& req) const;
  /// The delivery figures for /metrics (Prometheus text).
  std::string metrics_text() const;
  /// What /admin/api/stats answers: every node's figures and their total; the latest sample (at most a
  /// second old).
  std::string stats_json() const;

 private:
  struct Totals {
    std::chrono::steady_clock::time_point at{};
    std::uint64_t deliveries = 0, broadcasts = 0, bytes_out = 0, frames_out = 0, slow_closes = 0, accepted = 0;
    std::array<std::uint64_t, 16> latency{};
  };
  Totals read_totals() const;
  void sample();
  NodeFigures sample_node(const Totals& now) const;
  bool key_matches(std::string_view given) const;

  AdminSources src_;
  bool enabled_ = false;
  bool shared_broker_ = false;  // other nodes may report through it
  std::string instance_;
  std::array<unsigned char, 32> key_digest_{};
  Totals last_;  // sampling thread (loop 0) only
  std::shared_ptr<NodeTable> others_;  // shared with the cable server's sink, which may outlive this
  mutable std::mutex mutex_;
  std::string stats_json_;  // the latest sample
};

}  // namespace peercable::app
