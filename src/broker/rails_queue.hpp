#pragma once
// Broadcasts a Rails process published bare, held back on this node until their position arrives
// (docs/adr/0006-stream-history-in-redis.md). On each stream one node, the holder of the stream's lease in Redis,
// sequences them; every node (that one too) delivers a Rails broadcast when its positioned copy comes back on the
// peercable channel, matched by payload in arrival order. So such a broadcast has the same epoch and offset on
// every node. One that gets no position in time (the holder died and the lease has not passed on, Redis is away)
// goes out bare. No I/O and no clock of its own: the broker feeds it events and the time.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace peercable::broker {

class RailsQueue {
 public:
  using Clock = std::chrono::steady_clock;
  struct Timing {
    /// A broadcast another node's lease kept us from sequencing is offered again after this (the lease may have
    /// passed: released, or expired after its holder died).
    Clock::duration retry = std::chrono::milliseconds(500);
    /// A broadcast still without a position after this goes out bare. Longer than the lease (2 s), so that a dead
    /// holder's lease expires and another node takes over first.
    Clock::duration give_up = std::chrono::seconds(3);
    std::size_t max_per_stream = 1024;              // held per stream; beyond, the oldest goes out bare
    std::size_t max_bytes = std::size_t{16} << 20;  // held in all
  };

  /// A broadcast to offer to the sequencing script; `id` names it in answered().
  struct Offer {
    std::string stream;
    std::string payload;
    std::uint64_t id;
  };
  /// What the caller does, in this order: deliver each of `bare` without a position (given up on, oldest first;
  /// the stream is marked unsequenced), then send each of `offers` to the script.
  struct Actions {
    std::vector<std::pair<std::string, std::string>> bare;  // stream, payload
    std::vector<Offer> offers;
  };

  RailsQueue() = default;
  explicit RailsQueue(Timing t) : timing_(t) {}

  /// A bare broadcast (`payload`, already re-encoded) arrived on `stream` from a Rails process.
  Actions arrived(const std::string& stream, std::string payload, Clock::time_point now);
  /// The script answered offer `id`: sequenced by this node (its positioned copy is on its way) or refused
  /// (another node holds the lease; that node sequences it).
  void answered(const std::string& stream, std::uint64_t id, bool sequenced, Clock::time_point now);
  /// The positioned copy of a Rails broadcast on `stream` arrived. Returns what to deliver bare first (entries ahead
  /// of it that were skipped: their positions will not come in order) and whether it matched one of ours: if
  /// not (we never held it, or gave up on it and delivered it bare), the positioned copy is dropped.
  struct Match {
    std::vector<std::string> bare;
    bool found = false;
  };
  Match positioned(const std::string& stream, std::string_view payload);
  /// Every so often (a quarter of a second): gives up on the old, offers again the refused whose time has come.
  Actions tick(Clock::time_point now);
  /// The node left `stream` (no subscriber): what it held is for nobody.
  void forget(const std::string& stream);

  std::size_t size() const noexcept { return count_; }
  std::size_t bytes() const noexcept { return bytes_; }

 private:
  enum class State { kUnsent, kSent, kRefused, kSequenced };
  struct Entry {
    std::string payload;
    std::uint64_t id;
    Clock::time_point arrived;
    Clock::time_point refused_at{};
    State state = State::kUnsent;
  };
  using Entries = std::deque<Entry>;

  void offer_due(const std::string& stream, Entries& q, Clock::time_point now, Actions& out);
  void pop_front_bare(const std::string& stream, Entries& q, std::vector<std::pair<std::string, std::string>>& bare);
  void drop_empty(const std::string& stream);

  Timing timing_;
  std::unordered_map<std::string, Entries> streams_;
  std::uint64_t next_id_ = 0;
  std::size_t count_ = 0;
  std::size_t bytes_ = 0;
};

}  // namespace peercable::broker
