#pragma once
// The live view across nodes: one node's figures as a value, their JSON both ways (written for the page and
// for the other nodes; read strictly from the other nodes), and the bounded table of the latest figures of
// every other node sharing this node's broker.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace peercable::json {
class ObjectWriter;
}

namespace peercable::app {

/// One node's figures, as /admin/api/stats lists them (docs/operations.md names each field).
struct NodeFigures {
  struct Loop {
    std::int64_t loop = 0, connections = 0, websockets = 0, streams = 0, subscriptions = 0;
  };
  struct Stream {
    std::string stream;
    std::int64_t deliveries = 0;
  };
  std::string id, version, instance;  // instance: random per process, tells two processes with one id apart
  std::int64_t time = 0;              // unix seconds on the node
  bool draining = false;
  std::int64_t connections = 0, websockets = 0, streams = 0, subscriptions = 0;
  std::vector<Loop> loops;
  double deliveries_per_s = 0, broadcasts_per_s = 0, bytes_out_per_s = 0, frames_out_per_s = 0;
  std::int64_t deliveries = 0, broadcasts = 0, bytes_out = 0, accepted = 0, slow_consumer_closes = 0;
  double slow_consumer_closes_per_s = 0;
  std::int64_t latency_count = 0;
  double latency_p50_ms = 0, latency_p99_ms = 0;
  std::vector<Stream> busiest_streams;
  std::string broker_kind, broker_state, history_kind;
  std::int64_t history_queue = 0, history_dropped = 0;
};

/// What one node's figures may hold, so that a snapshot from the network stays small.
struct NodeLimits {
  static constexpr std::size_t kSnapshotBytes = 64 * 1024;
  static constexpr std::size_t kIdBytes = 512;
  static constexpr std::size_t kWordBytes = 64;     // version, instance, kinds and states
  static constexpr std::size_t kStreamBytes = 256;  // a longer stream name is cut (UTF-8 safe) and ends in "…"
  static constexpr std::size_t kStreams = 10;
  static constexpr std::size_t kLoops = 1024;
  static constexpr std::int64_t kMaxCount = std::int64_t{1} << 53;
  static constexpr double kMaxRate = 1e15;
};

/// Writes `n`'s fields into the object `w` writes to `out` (the caller ends it, after fields of its own).
void write_node_fields(json::ObjectWriter& w, std::string& out, const NodeFigures& n);
/// `n` as one JSON object: the snapshot a node publishes.
std::string node_json(const NodeFigures& n);
/// Reads a snapshot another node published; nullopt unless it is a JSON object within NodeLimits holding
/// every field with its type (unknown fields are ignored, so that nodes of a newer version are shown).
std::optional<NodeFigures> parse_node_json(std::string_view json);
/// The cluster's total over the nodes `live` (those reporting), with `stale` the count of those that stopped:
/// sums of their figures, and their busiest streams merged.
void write_total(std::string& out, const std::vector<const NodeFigures*>& live, std::size_t stale);
/// `name` cut to at most NodeLimits::kStreamBytes bytes on a UTF-8 boundary, with "…" when cut.
std::string cut_stream_name(std::string_view name);

/// The latest figures of every other node, by id: at most kMaxNodes, each forgotten when it has sent nothing
/// for kForgetAfter. Safe from any thread.
class NodeTable {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t kMaxNodes = 64;
  /// A node is shown stale after this long without a snapshot (they come once a second), then forgotten.
  static constexpr auto kStaleAfter = std::chrono::seconds(3);
  static constexpr auto kForgetAfter = std::chrono::seconds(10);

  enum class Offer { kKept, kOwn, kRefused, kFull };
  struct Entry {
    NodeFigures figures;
    Clock::time_point seen;
  };

  NodeTable(std::string own_id, std::string own_instance);
  /// Takes a snapshot read from the broker: kKept, kOwn (this process's, ignored), kRefused (not a snapshot)
  /// or kFull (a new node while kMaxNodes are listed). Logs a refusal, and an id two processes use, once.
  Offer offer(std::string_view json, Clock::time_point now);
  /// Forgets the nodes silent for kForgetAfter; returns the others, by id.
  std::vector<Entry> current(Clock::time_point now);

 private:
  const std::string own_id_, own_instance_;
  std::mutex mutex_;
  std::map<std::string, Entry, std::less<>> nodes_;
  std::atomic<bool> refusal_logged_{false}, duplicate_logged_{false}, full_logged_{false};
};

}  // namespace peercable::app
